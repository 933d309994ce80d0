"""Merge: combine the items of two inputs (append, by key, by position, every combination)."""

from __future__ import annotations

from typing import Any, Literal

from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

MergeMode = Literal["append", "combine_by_key", "combine_by_position", "combine_all", "choose_branch"]
JoinKind = Literal["inner", "left", "outer"]


class MergeParameters(Parameters):
    mode: MergeMode = param(
        "append",
        title="Mode",
        description="append: input 1's items then input 2's; combine_by_key: join items whose key fields match; "
        "combine_by_position: first with first...; combine_all: every pair; choose_branch: pass one input on.",
        no_expressions=True,
    )
    key_1: str = param(
        "id", title="Key field in input 1", show_if={"mode": ["combine_by_key"]}, no_expressions=True, min_length=1
    )
    key_2: str = param(
        "id", title="Key field in input 2", show_if={"mode": ["combine_by_key"]}, no_expressions=True, min_length=1
    )
    join: JoinKind = param(
        "inner",
        title="Keep",
        description="inner: only matches; left: every input 1 item; outer: every item of both.",
        show_if={"mode": ["combine_by_key"]},
        no_expressions=True,
    )
    include_unpaired: bool = param(
        False, title="Keep items without a partner", show_if={"mode": ["combine_by_position"]}, no_expressions=True
    )
    branch: Literal[1, 2] = param(1, title="Pass on input", show_if={"mode": ["choose_branch"]}, no_expressions=True)


def _get(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    return value


class MergeNode(Node):
    type = "core.merge"
    display_name = "Merge"
    category = Category.FLOW
    description = "Waits for both inputs and combines their items: append, join by key, by position or all pairs."
    icon = "merge"
    inputs = ("input 1", "input 2")
    Parameters = MergeParameters
    subtitle = "mode"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params = ctx.params()
        first, second = (list(ctx.inputs[0]), list(ctx.inputs[1]) if len(ctx.inputs) > 1 else [])
        match params.mode:
            case "append":
                merged = first + second
            case "choose_branch":
                merged = first if params.branch == 1 else second
            case "combine_by_position":
                merged = [
                    Item({**a.json, **b.json}, {**a.binary, **b.binary}, i)
                    for i, (a, b) in enumerate(zip(first, second, strict=False))
                ]
                if params.include_unpaired:
                    longer = first if len(first) > len(second) else second
                    merged.extend(longer[len(merged) :])
            case "combine_all":
                merged = [Item({**a.json, **b.json}, {**a.binary, **b.binary}) for a in first for b in second]
            case "combine_by_key":
                merged = self._join(first, second, params)
            case _:
                raise NodeError(f"unknown merge mode {params.mode!r}")
        return [merged]

    @staticmethod
    def _join(first: list[Item], second: list[Item], params: MergeParameters) -> list[Item]:
        index: dict[Any, list[Item]] = {}
        for item in second:
            index.setdefault(_hashable(_get(item.json, params.key_2)), []).append(item)
        used: set[int] = set()
        merged: list[Item] = []
        for item in first:
            key = _get(item.json, params.key_1)
            partners = index.get(_hashable(key), []) if key is not None else []
            for partner in partners:
                used.add(id(partner))
                merged.append(Item({**item.json, **partner.json}, {**item.binary, **partner.binary}))
            if not partners and params.join in ("left", "outer"):
                merged.append(item)
        if params.join == "outer":
            merged.extend(item for item in second if id(item) not in used)
        return merged
