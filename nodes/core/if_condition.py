"""IF: route each item to ``true`` or ``false`` by conditions."""

from __future__ import annotations

from nodes.core._conditions import ConditionSet
from nodes.core._conditions import matches as conditions_match
from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters


class IfParameters(Parameters, ConditionSet):
    """The conditions; an item that meets them goes to ``true``."""


class IfNode(Node):
    type = "core.if"
    display_name = "IF"
    category = Category.FLOW
    description = "Sends each item to the true or the false output, depending on conditions."
    icon = "git-branch"
    outputs = ("true", "false")
    Parameters = IfParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        kept: list[Item] = []
        rejected: list[Item] = []
        for index, item in enumerate(items):
            routed = Item(item.json, item.binary, index)
            (kept if conditions_match(ctx.params(index), index) else rejected).append(routed)
        return [kept, rejected]
