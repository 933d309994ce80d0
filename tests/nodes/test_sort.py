"""Sort (core.sort) run through the engine: several keys, both orders, missing values, mixed types."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow


def sort(keys: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    data = workflow([node("Start", "trigger.manual"), node("Sort", "core.sort", {"keys": keys})], [("Start", "Sort")])
    result = run(data, items)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "Sort")


def values(items: list[dict[str, Any]], field: str = "v") -> list[Any]:
    return [item.get(field) for item in items]


def test_ascending_by_default_and_descending_on_request() -> None:
    items = [{"v": 3}, {"v": -1}, {"v": 2.5}, {"v": 10}]

    assert values(sort([{"field": "v"}], items)) == [-1, 2.5, 3, 10]
    assert values(sort([{"field": "v", "order": "descending"}], items)) == [10, 3, 2.5, -1]


def test_text_sorts_as_text() -> None:
    items = [{"v": "pear"}, {"v": "apple"}, {"v": "Zucchini"}, {"v": "banana"}]

    assert values(sort([{"field": "v"}], items)) == ["Zucchini", "apple", "banana", "pear"]


def test_several_keys_sort_by_the_first_then_the_next() -> None:
    items = [
        {"team": "b", "score": 1, "id": 1},
        {"team": "a", "score": 5, "id": 2},
        {"team": "b", "score": 7, "id": 3},
        {"team": "a", "score": 9, "id": 4},
        {"team": "a", "score": 5, "id": 5},
    ]

    ordered = sort([{"field": "team"}, {"field": "score", "order": "descending"}], items)

    # Equal keys (ids 2 and 5) keep their input order.
    assert values(ordered, "id") == [4, 2, 5, 3, 1]


def test_missing_values_go_last_in_both_orders() -> None:
    items = [{"v": 2}, {"id": "none"}, {"v": None}, {"v": 1}, {"v": 3}]

    ascending = sort([{"field": "v"}], items)
    descending = sort([{"field": "v", "order": "descending"}], items)

    assert ascending == [{"v": 1}, {"v": 2}, {"v": 3}, {"id": "none"}, {"v": None}]
    assert descending == [{"v": 3}, {"v": 2}, {"v": 1}, {"id": "none"}, {"v": None}]


def test_missing_values_go_last_within_each_group_of_a_multi_key_sort() -> None:
    items = [{"g": 2, "v": 1}, {"g": 1}, {"g": 1, "v": 5}, {"g": 2}, {"g": 1, "v": 2}]

    ordered = sort([{"field": "g"}, {"field": "v", "order": "descending"}], items)

    assert ordered == [{"g": 1, "v": 5}, {"g": 1, "v": 2}, {"g": 1}, {"g": 2, "v": 1}, {"g": 2}]


def test_numbers_come_before_text_and_the_descending_order_is_the_exact_reverse() -> None:
    items = [{"v": "b"}, {"v": 10}, {"v": "a"}, {"v": 2}, {"v": True}]

    assert values(sort([{"field": "v"}], items)) == [True, 2, 10, "a", "b"]
    assert values(sort([{"field": "v", "order": "descending"}], items)) == ["b", "a", 10, 2, True]


def test_dotted_fields_reach_nested_values() -> None:
    items = [{"customer": {"age": 40}}, {"customer": {"age": 25}}, {"customer": "unknown"}]

    assert sort([{"field": "customer.age"}], items) == [
        {"customer": {"age": 25}},
        {"customer": {"age": 40}},
        {"customer": "unknown"},
    ]


def test_at_least_one_key_is_required() -> None:
    data = workflow([node("Start", "trigger.manual"), node("Sort", "core.sort", {"keys": []})], [("Start", "Sort")])

    result = run(data, [{"v": 1}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "Sort"
    assert result.error["message"].startswith("parameter 'keys', item 0:")
