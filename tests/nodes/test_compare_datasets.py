"""Compare Datasets (data.compare_datasets), run through the engine with both inputs fed by pinned data."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

TYPE = "data.compare_datasets"

OLD = [
    {"id": 1, "name": "Ann", "plan": "free"},
    {"id": 2, "name": "Bob", "plan": "pro"},
    {"id": 3, "name": "Cy", "plan": "free", "updated": "mon"},
]
NEW = [
    {"id": 2, "name": "Bob", "plan": "pro"},
    {"id": 3, "name": "Cy", "plan": "pro", "updated": "tue"},
    {"id": 4, "name": "Dee", "plan": "free"},
]


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node("A", "core.no_op"),
            node("B", "core.no_op"),
            node("Compare", TYPE, parameters),
        ],
        [("Start", "A"), ("Start", "B"), ("A", 0, "Compare", 0), ("B", 0, "Compare", 1)],
    )
    return run(data, [{}], pinned={"A": [Item(row) for row in a], "B": [Item(row) for row in b]})


def test_items_are_sorted_into_the_four_outputs() -> None:
    result = compare(OLD, NEW)

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Compare", 0) == [OLD[0]]
    assert output_json(result, "Compare", 1) == [OLD[1]]
    assert output_json(result, "Compare", 2) == [
        {
            "keys": {"id": 3},
            "same": {"name": "Cy"},
            "different": {
                "plan": {"input_a": "free", "input_b": "pro"},
                "updated": {"input_a": "mon", "input_b": "tue"},
            },
        }
    ]
    assert output_json(result, "Compare", 3) == [NEW[2]]
    only_a, same, different, _ = result.last_outputs["Compare"]
    assert [only_a[0].paired_item, same[0].paired_item, different[0].paired_item] == [0, 1, 2]


def test_skipped_fields_do_not_count_and_a_field_on_one_side_only_is_a_difference() -> None:
    result = compare(OLD, NEW, fields_to_skip=["updated", "name"])
    with_extra = compare([{"id": 1, "a": 1}], [{"id": 1, "a": 1, "b": None}])

    assert output_json(result, "Compare", 2)[0]["different"] == {"plan": {"input_a": "free", "input_b": "pro"}}
    assert output_json(with_extra, "Compare", 2) == [
        {"keys": {"id": 1}, "same": {"a": 1}, "different": {"b": {"input_a": None, "input_b": None}}}
    ]


def test_keys_with_different_names_are_matched_and_not_compared() -> None:
    customers = [{"id": 1, "email": "a@x"}, {"id": 2, "email": "b@x"}]
    crm = [{"customer": {"id": 1}, "email": "a@x"}, {"customer": {"id": 2}, "email": "B@x"}]

    result = compare(customers, crm, key_a="id", key_b="customer.id")

    assert output_json(result, "Compare", 1) == [customers[0]]
    assert output_json(result, "Compare", 2) == [
        {"keys": {"id": 2}, "same": {}, "different": {"email": {"input_a": "b@x", "input_b": "B@x"}}}
    ]
    assert output_json(result, "Compare", 0) == [] and output_json(result, "Compare", 3) == []


def test_different_items_can_be_output_as_one_sides_item() -> None:
    from_b = compare(OLD, NEW, different_output="input_b")
    from_a = compare(OLD, NEW, different_output="input_a")

    assert output_json(from_b, "Compare", 2) == [NEW[1]]
    assert output_json(from_a, "Compare", 2) == [OLD[2]]


def test_fuzzy_compare_matches_values_with_the_same_text() -> None:
    a = [{"id": 1, "qty": 2, "active": True}]
    b = [{"id": "1", "qty": "2", "active": "true"}]

    strict = compare(a, b)
    fuzzy = compare(a, b, fuzzy_compare=True)

    assert output_json(strict, "Compare", 0) == a and output_json(strict, "Compare", 3) == b
    assert output_json(fuzzy, "Compare", 1) == a


def test_every_a_item_is_compared_with_the_first_b_item_of_its_key() -> None:
    result = compare([{"id": 1, "v": "x"}, {"id": 1, "v": "y"}], [{"id": 1, "v": "x"}, {"id": 1, "v": "z"}])

    assert output_json(result, "Compare", 1) == [{"id": 1, "v": "x"}]
    assert output_json(result, "Compare", 2)[0]["different"] == {"v": {"input_a": "y", "input_b": "x"}}
    assert output_json(result, "Compare", 3) == []


def test_an_item_without_the_key_fails_naming_its_input_and_index() -> None:
    result = compare(OLD, [{"id": 2}, {"name": "no id"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Compare" and result.error["item_index"] == 1
    assert result.error["message"] == "item 1 of input B has no key field 'id'"
