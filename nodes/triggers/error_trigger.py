"""Error Trigger: starts an error workflow when another workflow's run fails."""

from __future__ import annotations

from typing import ClassVar

from nodes.sdk import Category, TriggerKind, TriggerNode


class ErrorTrigger(TriggerNode):
    """Its item is ``{"execution": {"id", "url", "error", "last_node", "mode"}, "workflow": {"id", "name"}}``."""

    type = "trigger.error"
    display_name = "Error Trigger"
    category = Category.TRIGGER
    description = "Starts this workflow when a workflow that names it as its error workflow fails."
    icon = "siren"
    trigger_kind: ClassVar[TriggerKind] = TriggerKind.ERROR
