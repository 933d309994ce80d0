"""IF (core.if) run through the engine: every operator family, and/or, empty conditions, bad comparisons."""

from __future__ import annotations

from typing import Any

import pytest

from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
VALUE = "{{ $json.v }}"


def if_workflow(conditions: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return workflow([MANUAL, node("IF", "core.if", {"conditions": conditions, **options})], [("Start", "IF")])


def route(conditions: list[dict[str, Any]], items: list[dict[str, Any]], **options: Any) -> tuple[list, list]:
    """The JSON of the items sent to ``true`` and to ``false``."""
    result = run(if_workflow(conditions, **options), items)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "IF", 0), output_json(result, "IF", 1)


def kept(operator: str, right: Any, values: list[Any], **options: Any) -> list[Any]:
    """Which of ``values`` (as ``$json.v``) meet ``v <operator> right``."""
    true, _ = route([{"left": VALUE, "operator": operator, "right": right}], [{"v": v} for v in values], **options)
    return [item.get("v") for item in true]


def test_items_go_to_true_or_false_in_input_order() -> None:
    true, false = route([{"left": VALUE, "operator": "gt", "right": 10}], [{"v": 5}, {"v": 50}, {"v": 11}, {"v": 10}])

    assert true == [{"v": 50}, {"v": 11}]
    assert false == [{"v": 5}, {"v": 10}]


def test_string_equals_is_case_sensitive_unless_ignore_case() -> None:
    assert kept("equals", "Ada", ["Ada", "ada", "ADA ", "Bob"]) == ["Ada"]
    assert kept("equals", "Ada", ["Ada", "ada", "ADA ", "Bob"], ignore_case=True) == ["Ada", "ada"]
    assert kept("not_equals", "Ada", ["Ada", "ada"]) == ["ada"]


def test_equals_compares_numbers_as_numbers() -> None:
    assert kept("equals", 1, [1, 1.0, 2]) == [1, 1.0]


@pytest.mark.parametrize(
    ("operator", "right", "ignore_case", "expected"),
    [
        ("contains", "lace", False, ["Lovelace"]),
        ("contains", "lace", True, ["Lovelace", "LACE-up"]),
        ("not_contains", "lace", False, ["LACE-up", "Hopper"]),
        ("starts_with", "lo", False, []),
        ("starts_with", "lo", True, ["Lovelace"]),
        ("ends_with", "up", False, ["LACE-up"]),
        ("matches_regex", r"^[a-z]+-UP$", False, []),
        ("matches_regex", r"^[a-z]+-UP$", True, ["LACE-up"]),
    ],
)
def test_string_operators(operator: str, right: str, ignore_case: bool, expected: list[str]) -> None:
    assert kept(operator, right, ["Lovelace", "LACE-up", "Hopper"], ignore_case=ignore_case) == expected


def test_contains_on_a_list_looks_for_an_element() -> None:
    assert kept("contains", "b", [["a", "b"], ["abc"], []]) == [["a", "b"]]


def test_an_invalid_regex_fails_the_run() -> None:
    result = run(if_workflow([{"left": VALUE, "operator": "matches_regex", "right": "(unclosed"}]), [{"v": "x"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and "not a valid regular expression" in result.error["message"]


@pytest.mark.parametrize(
    ("operator", "right", "expected"),
    [
        ("gt", 10, [10.5, "12"]),
        ("gte", 10, [10, 10.5, "12"]),
        ("lt", 10, [-3, 9]),
        ("lte", 10, [-3, 9, 10]),
    ],
)
def test_number_operators_convert_numeric_text(operator: str, right: int, expected: list[Any]) -> None:
    assert kept(operator, right, [-3, 9, 10, 10.5, "12"]) == expected


def test_is_empty_and_exists() -> None:
    values: list[dict[str, Any]] = [{"v": None}, {"v": ""}, {"v": []}, {"v": {}}, {"v": 0}, {"v": "x"}, {}]

    empty, _ = route([{"left": VALUE, "operator": "is_empty"}], values)
    not_empty, _ = route([{"left": VALUE, "operator": "is_not_empty"}], values)
    exists, _ = route([{"left": VALUE, "operator": "exists"}], values)
    missing, _ = route([{"left": VALUE, "operator": "not_exists"}], values)

    assert empty == [{"v": None}, {"v": ""}, {"v": []}, {"v": {}}, {}]
    assert not_empty == [{"v": 0}, {"v": "x"}]
    assert exists == [{"v": ""}, {"v": []}, {"v": {}}, {"v": 0}, {"v": "x"}]
    assert missing == [{"v": None}, {}]


def test_is_true_and_is_false_accept_booleans_and_their_text() -> None:
    values = [True, "true", "TRUE", False, "false", "yes", 1, None]

    assert kept("is_true", None, values) == [True, "true", "TRUE"]
    assert kept("is_false", None, values) == [False, "false"]


def test_dates_before_and_after() -> None:
    values = ["2024-01-31", "2024-02-01", "2024-03-15T10:30:00"]

    assert kept("before", "2024-02-01", values) == ["2024-01-31"]
    assert kept("after", "2024-02-01", values) == ["2024-03-15T10:30:00"]


def test_dates_with_and_without_a_zone_compare_taking_a_date_without_zone_as_utc() -> None:
    # 00:30 in Paris on 1 February is still 31 January in UTC.
    values = ["2024-02-01T00:30:00+01:00", "2024-02-01T12:00:00Z", "2024-01-31"]

    assert kept("before", "2024-02-01", values) == ["2024-02-01T00:30:00+01:00", "2024-01-31"]
    assert kept("after", "2024-02-01T06:00:00+00:00", values) == ["2024-02-01T12:00:00Z"]


def test_a_value_that_is_not_a_date_fails_the_run() -> None:
    result = run(if_workflow([{"left": VALUE, "operator": "before", "right": "2024-01-01"}]), [{"v": "soon"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and "is not a date" in result.error["message"]


@pytest.mark.parametrize(
    ("operator", "expected"),
    [("length_equals", ["abc", [1, 2, 3]]), ("length_gt", ["abcd"]), ("length_lt", ["", [1]])],
)
def test_length_operators_on_text_and_lists(operator: str, expected: list[Any]) -> None:
    assert kept(operator, 3, ["abc", "abcd", "", [1, 2, 3], [1]]) == expected


def test_and_needs_every_condition_or_needs_one() -> None:
    conditions = [
        {"left": "{{ $json.country }}", "operator": "equals", "right": "FR"},
        {"left": "{{ $json.amount }}", "operator": "gt", "right": 100},
    ]
    items = [
        {"country": "FR", "amount": 500},
        {"country": "FR", "amount": 5},
        {"country": "DE", "amount": 500},
        {"country": "DE", "amount": 5},
    ]

    both, _ = route(conditions, items, combinator="and")
    either, neither = route(conditions, items, combinator="or")

    assert both == [{"country": "FR", "amount": 500}]
    assert either == items[:3]
    assert neither == [{"country": "DE", "amount": 5}]


def test_an_empty_condition_list_sends_every_item_to_true() -> None:
    true, false = route([], [{"v": 1}, {"v": 2}])

    assert true == [{"v": 1}, {"v": 2}]
    assert false == []


def test_a_word_compared_as_a_number_fails_the_run_naming_the_condition_and_item() -> None:
    conditions = [
        {"left": VALUE, "operator": "is_not_empty"},
        {"left": VALUE, "operator": "gt", "right": 3},
    ]

    result = run(if_workflow(conditions), [{"v": 5}, {"v": "five"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "IF"
    assert result.error["item_index"] == 1
    assert result.error["message"] == "condition 2: the left value 'five' is not a number"


def test_the_if_node_has_a_true_and_a_false_output_in_that_order() -> None:
    from nodes.core.if_condition import IfNode

    assert IfNode.outputs == ("true", "false")
    assert IfNode.describe()["outputs"] == ["true", "false"]
