"""Manual Trigger: a run started from the studio's Run button or ``POST /workflows/{id}/run``."""

from __future__ import annotations

from typing import ClassVar

from nodes.sdk import Category, Context, Item, NodeOutput, TriggerKind, TriggerNode


class ManualTrigger(TriggerNode):
    type = "trigger.manual"
    display_name = "Manual Trigger"
    category = Category.TRIGGER
    description = "Starts the workflow when you press Run, or with the items posted to the run API."
    icon = "mouse-pointer-click"
    trigger_kind: ClassVar[TriggerKind] = TriggerKind.MANUAL

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        # A run with no items still flows: n8n's manual trigger emits one empty item.
        return [items or [Item({})]]
