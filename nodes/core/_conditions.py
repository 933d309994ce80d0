"""Conditions shared by IF, Filter and Switch: ``left <operator> right`` rows combined with and/or."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.sdk import NodeError, param

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches_regex",
    "is_empty",
    "is_not_empty",
    "exists",
    "not_exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_true",
    "is_false",
    "before",
    "after",
    "length_equals",
    "length_gt",
    "length_lt",
]

UNARY = {"is_empty", "is_not_empty", "exists", "not_exists", "is_true", "is_false"}


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: Any = param(None, title="Value", placeholder="{{ $json.amount }}")
    operator: Operator = param("equals", title="Operator")
    right: Any = param(None, title="Compare with", show_if={"operator": sorted(set(Operator.__args__) - UNARY)})


class ConditionSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conditions: list[Condition] = param(default_factory=list, title="Conditions")
    combinator: Literal["and", "or"] = param("and", title="Combine with")
    ignore_case: bool = param(False, title="Ignore case", advanced=True)


def _number(value: Any, side: str) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"the {side} value {value!r} is not a number") from err


def _date(value: Any, side: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as err:
            raise ValueError(f"the {side} value {value!r} is not a date (use ISO 8601)") from err
    # Python refuses to order a date without zone against one with a zone; take it as UTC, as Wait does.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _text(value: Any, ignore_case: bool) -> str:
    text = "" if value is None else str(value)
    return text.lower() if ignore_case else text


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | dict) and not value)


def check(condition: Condition, ignore_case: bool = False) -> bool:
    """Whether one condition holds.

    Raises:
        ValueError: The values cannot be compared that way (a word where a number is needed).
    """
    left, right, op = condition.left, condition.right, condition.operator
    match op:
        case "exists":
            return left is not None
        case "not_exists":
            return left is None
        case "is_empty":
            return _empty(left)
        case "is_not_empty":
            return not _empty(left)
        case "is_true":
            return left is True or _text(left, True) == "true"
        case "is_false":
            return left is False or _text(left, True) == "false"
        case "equals" | "not_equals":
            same = (
                _number(left, "left") == _number(right, "right")
                if isinstance(left, int | float) and isinstance(right, int | float)
                else _text(left, ignore_case) == _text(right, ignore_case)
            )
            return same if op == "equals" else not same
        case "contains" | "not_contains":
            found = right in left if isinstance(left, list) else _text(right, ignore_case) in _text(left, ignore_case)
            return found if op == "contains" else not found
        case "starts_with":
            return _text(left, ignore_case).startswith(_text(right, ignore_case))
        case "ends_with":
            return _text(left, ignore_case).endswith(_text(right, ignore_case))
        case "matches_regex":
            try:
                pattern = re.compile(str(right), re.IGNORECASE if ignore_case else 0)
            except re.error as err:
                raise ValueError(f"the pattern {right!r} is not a valid regular expression: {err}") from err
            return pattern.search(_text(left, False)) is not None
        case "gt":
            return _number(left, "left") > _number(right, "right")
        case "gte":
            return _number(left, "left") >= _number(right, "right")
        case "lt":
            return _number(left, "left") < _number(right, "right")
        case "lte":
            return _number(left, "left") <= _number(right, "right")
        case "before":
            return _date(left, "left") < _date(right, "right")
        case "after":
            return _date(left, "left") > _date(right, "right")
        case "length_equals" | "length_gt" | "length_lt":
            if not isinstance(left, list | str | dict):
                raise ValueError(f"the left value {left!r} has no length")
            size, wanted = len(left), int(_number(right, "right"))
            return size == wanted if op == "length_equals" else size > wanted if op == "length_gt" else size < wanted
    raise ValueError(f"unknown operator {op!r}")


def matches(conditions: ConditionSet, item_index: int) -> bool:
    """Whether a set of conditions holds for one item; an empty set holds.

    Raises:
        NodeError: A condition cannot be evaluated, naming it and the item.
    """
    results = []
    for position, condition in enumerate(conditions.conditions, start=1):
        try:
            results.append(check(condition, conditions.ignore_case))
        except ValueError as err:
            raise NodeError(
                f"condition {position}: {err}",
                description="Fix the condition's values or operator.",
                item_index=item_index,
            ) from err
    if not results:
        return True
    return all(results) if conditions.combinator == "and" else any(results)
