"""Aggregate: gather field values (or whole items) from every item into lists on one item."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.data._fields import MISSING, delete_path, get_path, set_path
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param


class AggregatedField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = param(title="Field", description="Dots reach nested fields: customer.email", min_length=1)
    rename_to: str = param("", title="Output field name", description="Empty: the field's own name.")


class AggregateParameters(Parameters):
    mode: Literal["fields", "all_items"] = param(
        "fields",
        title="Aggregate",
        description="fields: a list per field you name; all_items: every item's data in one list.",
        no_expressions=True,
    )
    fields: list[AggregatedField] = param(
        default_factory=list, title="Fields to aggregate", show_if={"mode": ["fields"]}, no_expressions=True
    )
    keep_missing: bool = param(
        False,
        title="Keep missing and null values",
        description="Add null to the list for items without the field (or with null), so lists line up with items.",
        show_if={"mode": ["fields"]},
    )
    merge_lists: bool = param(
        False,
        title="Merge lists",
        description="When a value is itself a list, add its elements instead of the list.",
        show_if={"mode": ["fields"]},
    )
    destination: str = param(
        "data", title="Put items in field", show_if={"mode": ["all_items"]}, no_expressions=True, min_length=1
    )
    include: Literal["all", "selected", "all_except"] = param(
        "all",
        title="Include",
        description="Which fields of each item go into the list.",
        show_if={"mode": ["all_items"]},
        no_expressions=True,
    )
    include_fields: list[str] = param(
        default_factory=list,
        title="Fields",
        description="The fields to keep (selected) or drop (all_except); dots reach nested fields.",
        show_if={"include": ["selected", "all_except"]},
        no_expressions=True,
    )


class AggregateNode(Node):
    type = "data.aggregate"
    display_name = "Aggregate"
    category = Category.DATA
    description = "Combines all items into one: a list of values per field, or a list of the whole items."
    icon = "group"
    Parameters = AggregateParameters
    subtitle = "mode"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: AggregateParameters = ctx.params()
        if params.mode == "all_items":
            rows = [self._pick(item.json, params) for item in items]
            result: dict[str, Any] = {}
            set_path(result, params.destination.strip(), rows)
            return [[Item(result)]]
        return [[Item(self._fields(items, params))]]

    @staticmethod
    def _pick(data: dict[str, Any], params: AggregateParameters) -> dict[str, Any]:
        names = [name.strip() for name in params.include_fields if name.strip()]
        if params.include == "all":
            return data
        if params.include == "all_except":
            for name in names:
                data = delete_path(data, name)
            return data
        picked: dict[str, Any] = {}
        for name in names:
            value = get_path(data, name)
            if value is not MISSING:
                set_path(picked, name, value)
        return picked

    @staticmethod
    def _fields(items: list[Item], params: AggregateParameters) -> dict[str, Any]:
        if not params.fields:
            raise NodeError("no fields to aggregate", description="Add at least one field, or aggregate all items.")
        outputs = [spec.rename_to.strip() or spec.field.strip() for spec in params.fields]
        repeated = sorted({name for name in outputs if outputs.count(name) > 1})
        if repeated:
            raise NodeError(
                f"output field '{repeated[0]}' is used more than once",
                description="Give each aggregated field its own output field name.",
            )
        result: dict[str, Any] = {}
        for spec, output in zip(params.fields, outputs, strict=True):
            field = spec.field.strip()
            values: list[Any] = []
            found = False
            for item in items:
                value = get_path(item.json, field)
                found = found or value is not MISSING
                if value is MISSING or value is None:
                    if params.keep_missing:
                        values.append(None)
                elif params.merge_lists and isinstance(value, list):
                    values.extend(value)
                else:
                    values.append(value)
            if items and not found:
                raise NodeError(
                    f"no input item has the field '{field}'",
                    description="Check the field name; dots reach nested fields (customer.email).",
                )
            set_path(result, output, values)
        return result
