"""Split Out: turn a list inside each item into one item per element."""

from __future__ import annotations

from typing import Any, Literal

from nodes.data._fields import MISSING, delete_path, get_path, kind_of, set_path
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param


class SplitOutParameters(Parameters):
    field: str = param(
        title="Field to split out",
        description="The list field; dots reach nested fields: order.lines",
        placeholder="order.lines",
        no_expressions=True,
        min_length=1,
    )
    include: Literal["none", "all", "selected"] = param(
        "none",
        title="Include",
        description="Which of the item's other fields each new item keeps: none, all, or the ones you list.",
        no_expressions=True,
    )
    fields_to_include: list[str] = param(
        default_factory=list,
        title="Fields to include",
        description="Dots reach nested fields: customer.id",
        show_if={"include": ["selected"]},
        no_expressions=True,
    )
    destination: str = param(
        "",
        title="Destination field name",
        description="Where each element goes. Empty: the split field's name; but an object element with no other "
        "fields included becomes the item itself.",
        advanced=True,
        no_expressions=True,
    )
    skip_invalid: bool = param(
        False,
        title="Skip items without the list",
        description="Drop items where the field is missing or not a list, instead of failing.",
        advanced=True,
    )
    include_binary: bool = param(False, title="Keep the item's files", advanced=True)


class SplitOutNode(Node):
    type = "data.split_out"
    display_name = "Split Out"
    category = Category.DATA
    description = "Turns a list field into separate items, one per element, optionally keeping the other fields."
    icon = "ungroup"
    Parameters = SplitOutParameters
    subtitle = "field"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: SplitOutParameters = ctx.params()
        field = params.field.strip()
        destination = params.destination.strip()
        produced: list[Item] = []
        for index, item in enumerate(items):
            elements = get_path(item.json, field)
            if not isinstance(elements, list):
                if params.skip_invalid:
                    continue
                found = "is missing" if elements is MISSING else f"is {kind_of(elements)}, not a list"
                raise NodeError(
                    f"field '{field}' in item {index} {found}",
                    description="Check the field name (dots reach nested fields), or turn on "
                    "'Skip items without the list'.",
                    item_index=index,
                )
            base = self._others(item.json, field, params)
            binary = item.binary if params.include_binary else {}
            for element in elements:
                if isinstance(element, dict) and not destination and params.include == "none":
                    data = dict(element)
                else:
                    data = dict(base)
                    set_path(data, destination or field.rsplit(".", 1)[-1], element)
                produced.append(Item(data, binary, index))
        return [produced]

    @staticmethod
    def _others(data: dict[str, Any], field: str, params: SplitOutParameters) -> dict[str, Any]:
        """The fields every new item from this item starts with."""
        if params.include == "all":
            return delete_path(data, field)
        kept: dict[str, Any] = {}
        if params.include == "selected":
            for name in (name.strip() for name in params.fields_to_include if name.strip()):
                value = get_path(data, name)
                if value is not MISSING:
                    set_path(kept, name, value)
        return kept
