"""Execute Workflow Trigger: the entry point when another workflow calls this one."""

from __future__ import annotations

from typing import ClassVar

from nodes.sdk import Category, TriggerKind, TriggerNode


class ExecuteWorkflowTrigger(TriggerNode):
    type = "trigger.execute_workflow"
    display_name = "Execute Workflow Trigger"
    category = Category.TRIGGER
    description = "Starts this workflow when an Execute Workflow node calls it, with that node's items."
    icon = "log-in"
    trigger_kind: ClassVar[TriggerKind] = TriggerKind.SUBWORKFLOW
