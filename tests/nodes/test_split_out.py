"""Split Out (data.split_out), run through the engine."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.split_out"


def split(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Split", TYPE, parameters)], [("Start", "Split")])
    return run(data, items)


ORDERS = [
    {"id": 1, "customer": "ann", "order": {"lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}], "paid": True}},
    {"id": 2, "customer": "bob", "order": {"lines": [{"sku": "C", "qty": 5}], "paid": False}},
]


def test_object_elements_become_the_items_when_no_other_fields_are_kept() -> None:
    result = split(ORDERS, field="order.lines")

    assert output_json(result, "Split") == [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}, {"sku": "C", "qty": 5}]
    assert [item.paired_item for item in result.last_outputs["Split"][0]] == [0, 0, 1]


def test_all_other_fields_are_kept_without_the_split_list() -> None:
    result = split(ORDERS, field="order.lines", include="all", destination="line")

    first, _, third = output_json(result, "Split")
    assert first == {"id": 1, "customer": "ann", "order": {"paid": True}, "line": {"sku": "A", "qty": 2}}
    assert third == {"id": 2, "customer": "bob", "order": {"paid": False}, "line": {"sku": "C", "qty": 5}}
    assert output_json(result, "Start")[0]["order"]["lines"][0] == {"sku": "A", "qty": 2}, "input left untouched"


def test_selected_fields_and_scalar_elements_under_the_fields_name() -> None:
    items = [{"id": 7, "meta": {"owner": "ann", "team": "x"}, "tags": ["red", "blue"]}]

    result = split(items, field="tags", include="selected", fields_to_include=["id", "meta.owner", "absent"])

    assert output_json(result, "Split") == [
        {"id": 7, "meta": {"owner": "ann"}, "tags": "red"},
        {"id": 7, "meta": {"owner": "ann"}, "tags": "blue"},
    ]


def test_scalar_elements_go_under_the_destination_and_an_empty_list_gives_no_items() -> None:
    items = [{"values": [1, 2]}, {"values": []}, {"values": [3]}]

    result = split(items, field="values", destination="n")

    assert output_json(result, "Split") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [item.paired_item for item in result.last_outputs["Split"][0]] == [0, 0, 2]


def test_a_missing_field_fails_naming_the_field_and_the_item() -> None:
    result = split([{"tags": ["a"]}, {"other": 1}], field="tags")

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Split" and result.error["item_index"] == 1
    assert result.error["message"] == "field 'tags' in item 1 is missing"


def test_a_field_that_is_not_a_list_fails() -> None:
    result = split([{"tags": "a,b"}], field="tags")

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert result.error["message"] == "field 'tags' in item 0 is text, not a list"


def test_items_without_the_list_can_be_skipped() -> None:
    result = split([{"tags": ["a"]}, {"tags": None}, {}, {"tags": ["b", "c"]}], field="tags", skip_invalid=True)

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Split") == [{"tags": "a"}, {"tags": "b"}, {"tags": "c"}]
    assert [item.paired_item for item in result.last_outputs["Split"][0]] == [0, 3, 3]
