"""Sort: order items by one or more fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, param


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = param(title="Field", description="Dots reach nested fields: customer.name", min_length=1)
    order: Literal["ascending", "descending"] = param("ascending", title="Order")


class SortParameters(Parameters):
    keys: list[SortKey] = param(default_factory=list, title="Sort by", min_length=1)


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text; otherwise compare as text (missing values are set aside by the caller)."""
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    return (1, str(value))


class SortNode(Node):
    type = "core.sort"
    display_name = "Sort"
    category = Category.DATA
    description = "Orders the items by fields you choose, ascending or descending."
    icon = "arrow-down-wide-narrow"
    Parameters = SortParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        ordered = list(items)
        # Python's sort is stable: sorting by the last key first yields a multi-key order.
        for key in reversed(ctx.params().keys):
            present = [item for item in ordered if _lookup(item.json, key.field) is not None]
            missing = [item for item in ordered if _lookup(item.json, key.field) is None]
            present.sort(
                key=lambda item, k=key: _sort_key(_lookup(item.json, k.field)), reverse=key.order == "descending"
            )
            ordered = present + missing
        return [ordered]
