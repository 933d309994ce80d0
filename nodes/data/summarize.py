"""Summarize: group items and compute counts, sums, averages... per group (a pivot table)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.data._fields import MISSING, get_path, identity, kind_of, set_path
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["count", "count_unique", "sum", "average", "min", "max", "concatenate", "append"]
NUMERIC: frozenset[str] = frozenset({"sum", "average"})


class Aggregation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation: Operation = param("count", title="Operation")
    field: str = param(title="Field", description="Dots reach nested fields: order.total", min_length=1)
    separator: str = param(", ", title="Separator", show_if={"operation": ["concatenate"]})
    include_empty: bool = param(False, title="Include empty values", show_if={"operation": ["concatenate", "append"]})


class SummarizeParameters(Parameters):
    aggregations: list[Aggregation] = param(
        default_factory=list,
        title="Fields to summarize",
        description="Each adds a field named <operation>_<field> (sum_amount, count_unique_email...).",
        min_length=1,
        no_expressions=True,
    )
    group_by: list[str] = param(
        default_factory=list,
        title="Group by",
        description="One output item per combination of these fields' values; none: one item for all.",
        no_expressions=True,
    )
    continue_if_field_missing: bool = param(
        False,
        title="Continue if a field is missing",
        description="A field that no item has gives an empty result instead of failing the node.",
        advanced=True,
    )


def output_name(aggregation: Aggregation) -> str:
    """n8n's naming, ``<operation>_<field>``; dots become underscores so the name stays one field."""
    return f"{aggregation.operation}_{aggregation.field.strip().replace('.', '_')}"


def _number(value: Any) -> int | float | None:
    """The number in ``value`` (numbers, or text holding one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or value == ""


class SummarizeNode(Node):
    type = "data.summarize"
    display_name = "Summarize"
    category = Category.DATA
    description = "Groups items by fields and computes count, sum, average, min, max or lists per group."
    icon = "sigma"
    Parameters = SummarizeParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: SummarizeParameters = ctx.params()
        group_by = [name.strip() for name in params.group_by if name.strip()]
        self._check_fields_exist(items, params)
        groups: dict[Any, tuple[list[Any], list[int]]] = {}
        for index, item in enumerate(items):
            # Items without a group field form the group whose value is null.
            values = [None if value is MISSING else value for value in (get_path(item.json, n) for n in group_by)]
            groups.setdefault(identity(values), (values, []))[1].append(index)
        if not groups and not group_by:
            groups[()] = ([], [])
        produced: list[Item] = []
        for values, members in groups.values():
            data: dict[str, Any] = {}
            for name, value in zip(group_by, values, strict=True):
                set_path(data, name, value)
            for aggregation in params.aggregations:
                data[output_name(aggregation)] = self._compute(aggregation, items, members)
            produced.append(Item(data))
        return [produced]

    @staticmethod
    def _check_fields_exist(items: list[Item], params: SummarizeParameters) -> None:
        if not items or params.continue_if_field_missing:
            return
        for aggregation in params.aggregations:
            field = aggregation.field.strip()
            if all(get_path(item.json, field) is MISSING for item in items):
                raise NodeError(
                    f"no input item has the field '{field}'",
                    description="Check the field name (dots reach nested fields), "
                    "or turn on 'Continue if a field is missing'.",
                )

    @staticmethod
    def _compute(aggregation: Aggregation, items: list[Item], members: list[int]) -> Any:
        field = aggregation.field.strip()
        operation = aggregation.operation
        pairs = [(index, get_path(items[index].json, field)) for index in members]
        if operation == "append":
            return [None if v is MISSING else v for _, v in pairs if aggregation.include_empty or not _empty(v)]
        if operation == "concatenate":
            texts = ["" if _empty(v) else str(v) for _, v in pairs if aggregation.include_empty or not _empty(v)]
            return aggregation.separator.join(texts)
        present = [(index, value) for index, value in pairs if value is not MISSING and value is not None]
        if operation == "count":
            return len(present)
        if operation == "count_unique":
            return len({identity(value) for _, value in present})
        numbers: list[int | float] = []
        for index, value in present:
            number = _number(value)
            if number is None:
                if operation in NUMERIC or not all(isinstance(v, str) for _, v in present):
                    raise NodeError(
                        f"field '{field}' in item {index} is {kind_of(value)} ({value!r}), not a number",
                        description=f"{operation} needs numbers; fix the data or filter such items out first.",
                        item_index=index,
                    )
                # min/max of text (ISO dates, names) compares the text.
                texts = [v for _, v in present]
                return min(texts) if operation == "min" else max(texts)
            numbers.append(number)
        if operation == "sum":
            return sum(numbers)
        if operation == "average":
            return sum(numbers) / len(numbers) if numbers else None
        if not numbers:
            return None
        return min(numbers) if operation == "min" else max(numbers)
