"""Filter: keep only the items that meet conditions."""

from __future__ import annotations

from nodes.core._conditions import ConditionSet
from nodes.core._conditions import matches as conditions_match
from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters


class FilterParameters(Parameters, ConditionSet):
    """The conditions an item must meet to be kept."""


class FilterNode(Node):
    type = "core.filter"
    display_name = "Filter"
    category = Category.FLOW
    description = "Keeps the items that meet the conditions and drops the rest."
    icon = "filter"
    Parameters = FilterParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        return [
            [
                Item(item.json, item.binary, index)
                for index, item in enumerate(items)
                if conditions_match(ctx.params(index), index)
            ]
        ]
