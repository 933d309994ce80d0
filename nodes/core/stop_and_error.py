"""Stop and Error: fail the run on purpose with your message (and trigger the error workflow)."""

from __future__ import annotations

from typing import Any

from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, StopRun, param


class StopAndErrorParameters(Parameters):
    message: str = param(
        "The workflow stopped on purpose.", title="Error message", placeholder="Order {{ $json.id }} is invalid"
    )
    details: dict[str, Any] = param(default_factory=dict, title="Details (JSON)", widget="json", advanced=True)


class StopAndErrorNode(Node):
    type = "core.stop_and_error"
    display_name = "Stop and Error"
    category = Category.FLOW
    description = "Stops the run as failed with your message; the workflow's error workflow then runs."
    icon = "octagon-x"
    outputs = ()
    Parameters = StopAndErrorParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params = ctx.params(0)
        detail = f" ({params.details})" if params.details else ""
        raise StopRun(params.message, description=f"Raised by the Stop and Error node{detail}.", item_index=0)
