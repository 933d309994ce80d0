"""Switch: route items to one of several outputs, by rules or by a computed output number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.core._conditions import ConditionSet
from nodes.core._conditions import matches as conditions_match
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

MAX_OUTPUTS = 32


class Rule(ConditionSet):
    output_name: str = param("", title="Output name", description="Shown on the node's handle.", no_expressions=True)


class SwitchParameters(Parameters):
    mode: Literal["rules", "expression"] = param("rules", title="Mode", no_expressions=True)
    rules: list[Rule] = param(
        default_factory=list, title="Routing rules", show_if={"mode": ["rules"]}, max_length=MAX_OUTPUTS
    )
    output_count: int = param(
        2, title="Number of outputs", show_if={"mode": ["expression"]}, ge=1, le=MAX_OUTPUTS, no_expressions=True
    )
    output: Any = param(
        0,
        title="Output index",
        description="An expression giving the output number (from 0) for each item.",
        show_if={"mode": ["expression"]},
    )
    fallback: Literal["none", "extra"] = param(
        "none",
        title="Items that match no rule",
        description="none: drop them; extra: send them to a 'fallback' output.",
        show_if={"mode": ["rules"]},
        no_expressions=True,
    )
    all_matching: bool = param(False, title="Send to every matching output", show_if={"mode": ["rules"]}, advanced=True)


class _RuleNames(BaseModel):
    model_config = ConfigDict(extra="ignore")
    output_name: str = ""


class SwitchNode(Node):
    type = "core.switch"
    display_name = "Switch"
    category = Category.FLOW
    description = "Routes each item to one of several outputs by rules, or by an output number you compute."
    icon = "split"
    outputs = ("0", "1")
    Parameters = SwitchParameters

    @classmethod
    def output_names(cls, parameters: Mapping[str, Any]) -> tuple[str, ...]:
        if parameters.get("mode") == "expression":
            count = parameters.get("output_count", 2)
            return tuple(str(i) for i in range(count if isinstance(count, int) and 0 < count <= MAX_OUTPUTS else 2))
        rules = parameters.get("rules") or []
        names = [
            (_RuleNames.model_validate(rule).output_name if isinstance(rule, Mapping) else "") or str(index)
            for index, rule in enumerate(rules[:MAX_OUTPUTS])
        ]
        if parameters.get("fallback") == "extra":
            names.append("fallback")
        return tuple(names)

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        first = ctx.params(0)
        count = len(self.output_names(ctx.raw_params()))
        produced: list[list[Item]] = [[] for _ in range(count)]
        for index, item in enumerate(items):
            params = ctx.params(index) if index else first
            routed = Item(item.json, item.binary, index)
            if params.mode == "expression":
                target = params.output
                if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < count:
                    raise NodeError(
                        f"the output index {target!r} is not between 0 and {count - 1}",
                        description="Make the expression return a whole number within the outputs.",
                        item_index=index,
                    )
                produced[target].append(routed)
                continue
            matched = False
            for rule_index, rule in enumerate(params.rules):
                if conditions_match(rule, index):
                    produced[rule_index].append(routed)
                    matched = True
                    if not params.all_matching:
                        break
            if not matched and params.fallback == "extra":
                produced[-1].append(routed)
        return produced
