"""Execute Workflow: run another workflow with these items and continue with its result."""

from __future__ import annotations

from typing import Literal

from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param


class ExecuteWorkflowParameters(Parameters):
    workflow_id: str = param(
        title="Workflow ID", description="The workflow to run; it needs an Execute Workflow Trigger."
    )
    mode: Literal["all_items", "each_item"] = param(
        "all_items",
        title="Run",
        description="all_items: one run with every item; each_item: one run per item.",
        no_expressions=True,
    )


class ExecuteWorkflowNode(Node):
    type = "core.execute_workflow"
    display_name = "Execute Workflow"
    category = Category.FLOW
    description = "Runs another workflow with these items and outputs what its last node returned."
    icon = "workflow"
    Parameters = ExecuteWorkflowParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        first = ctx.params(0)
        if first.mode == "all_items":
            return [ctx.run_workflow(first.workflow_id, items)]
        produced: list[Item] = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            try:
                results = ctx.run_workflow(params.workflow_id, [item])
            except NodeError as err:
                # The host runs one item here but cannot know its index; the error must name it.
                raise NodeError(err.message, description=err.description, item_index=index) from err
            for result in results:
                produced.append(Item(result.json, result.binary, index))
        return [produced]
