"""Limit: keep only the first (or last) N items."""

from __future__ import annotations

from typing import Literal

from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, param


class LimitParameters(Parameters):
    max_items: int = param(1, title="Max items", ge=0)
    keep: Literal["first", "last"] = param("first", title="Keep", no_expressions=True)


class LimitNode(Node):
    type = "core.limit"
    display_name = "Limit"
    category = Category.DATA
    description = "Keeps the first or the last N items and drops the rest."
    icon = "list-end"
    Parameters = LimitParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params = ctx.params()
        if params.max_items == 0:
            return [[]]
        return [items[: params.max_items] if params.keep == "first" else items[-params.max_items :]]
