"""No Operation: passes items on unchanged (a labelled junction on the canvas)."""

from __future__ import annotations

from nodes.sdk import Category, Context, Item, Node, NodeOutput


class NoOpNode(Node):
    type = "core.no_op"
    display_name = "No Operation"
    category = Category.FLOW
    description = "Does nothing to the items; useful to label a branch or to join lines on the canvas."
    icon = "arrow-right"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        return [items]
