"""Edit Fields (Set): add or change fields on every item; values may be expressions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, param


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Field name", description="Dots make nested fields: customer.name", min_length=1)
    value: Any = param(None, title="Value")


class SetParameters(Parameters):
    assignments: list[Assignment] = param(default_factory=list, title="Fields to set")
    include_other_fields: bool = param(True, title="Keep the item's other fields")


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in ``target``, creating (or replacing non-dict) intermediate objects."""
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        else:
            child = target[part] = dict(child)
        target = child
    target[parts[-1]] = value


class SetNode(Node):
    type = "core.set"
    display_name = "Edit Fields (Set)"
    category = Category.DATA
    description = "Adds or changes fields on each item; values can use expressions like {{ $json.price * 2 }}."
    icon = "pen-line"
    Parameters = SetParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            data: dict[str, Any] = dict(item.json) if params.include_other_fields else {}
            for assignment in params.assignments:
                set_path(data, assignment.name, assignment.value)
            produced.append(Item(data, binary=item.binary, paired_item=index))
        return [produced]
