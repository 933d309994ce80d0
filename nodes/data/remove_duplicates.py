"""Remove Duplicates: keep the first item of each group of items that are alike."""

from __future__ import annotations

from typing import Any, Literal

from nodes.data._fields import MISSING, delete_path, get_path, identity
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param


class RemoveDuplicatesParameters(Parameters):
    compare: Literal["all_fields", "selected_fields", "all_fields_except"] = param(
        "all_fields",
        title="Compare",
        description="all_fields: items are duplicates when every field matches; selected_fields: when the fields "
        "you list match; all_fields_except: when every field but those you list matches.",
        no_expressions=True,
    )
    fields: list[str] = param(
        default_factory=list,
        title="Fields to compare",
        description="Dots reach nested fields: customer.email",
        show_if={"compare": ["selected_fields"]},
        no_expressions=True,
    )
    fields_to_skip: list[str] = param(
        default_factory=list,
        title="Fields to ignore",
        description="Dots reach nested fields: meta.received_at",
        show_if={"compare": ["all_fields_except"]},
        no_expressions=True,
    )


class RemoveDuplicatesNode(Node):
    type = "data.remove_duplicates"
    display_name = "Remove Duplicates"
    category = Category.DATA
    description = "Drops items that repeat an earlier item, comparing all fields or only the ones you choose."
    icon = "copy-minus"
    Parameters = RemoveDuplicatesParameters
    subtitle = "compare"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: RemoveDuplicatesParameters = ctx.params()
        if params.compare == "selected_fields" and not [name for name in params.fields if name.strip()]:
            raise NodeError(
                "no fields to compare",
                description="List at least one field, or compare all fields.",
            )
        seen: set[Any] = set()
        kept: list[Item] = []
        for index, item in enumerate(items):
            key = identity(self._compared(item.json, params, index))
            if key not in seen:
                seen.add(key)
                kept.append(Item(item.json, item.binary, index))
        return [kept]

    @staticmethod
    def _compared(data: dict[str, Any], params: RemoveDuplicatesParameters, index: int) -> Any:
        """The part of an item that decides whether it repeats another."""
        if params.compare == "all_fields":
            return data
        if params.compare == "all_fields_except":
            for name in params.fields_to_skip:
                data = delete_path(data, name.strip())
            return data
        values = []
        for name in (name.strip() for name in params.fields if name.strip()):
            value = get_path(data, name)
            if value is MISSING:
                raise NodeError(
                    f"item {index} has no field '{name}' to compare",
                    description="Check the field name (dots reach nested fields), or make sure every item has it.",
                    item_index=index,
                )
            values.append(value)
        return values
