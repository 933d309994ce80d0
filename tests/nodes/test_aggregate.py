"""Aggregate (data.aggregate), run through the engine."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.aggregate"

PEOPLE = [
    {"name": "ann", "contact": {"email": "ann@x"}, "tags": ["a", "b"]},
    {"name": "bob", "contact": {"email": None}, "tags": ["c"]},
    {"name": "cy", "tags": []},
]


def aggregate(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Gather", TYPE, parameters)], [("Start", "Gather")])
    return run(data, items)


def test_fields_are_collected_into_lists_on_one_item() -> None:
    result = aggregate(PEOPLE, fields=[{"field": "name"}, {"field": "contact.email", "rename_to": "emails"}])

    assert output_json(result, "Gather") == [{"name": ["ann", "bob", "cy"], "emails": ["ann@x"]}]


def test_missing_and_null_values_can_be_kept_so_lists_line_up_with_items() -> None:
    result = aggregate(PEOPLE, fields=[{"field": "contact.email", "rename_to": "emails"}], keep_missing=True)

    assert output_json(result, "Gather") == [{"emails": ["ann@x", None, None]}]


def test_lists_are_nested_or_merged() -> None:
    nested = aggregate(PEOPLE, fields=[{"field": "tags"}])
    merged = aggregate(PEOPLE, fields=[{"field": "tags"}], merge_lists=True)

    assert output_json(nested, "Gather") == [{"tags": [["a", "b"], ["c"], []]}]
    assert output_json(merged, "Gather") == [{"tags": ["a", "b", "c"]}]


def test_all_items_go_into_one_list_field() -> None:
    rows = [{"id": 1, "secret": "s1"}, {"id": 2, "secret": "s2"}]

    whole = aggregate(rows, mode="all_items")
    renamed = aggregate(rows, mode="all_items", destination="rows", include="all_except", include_fields=["secret"])
    picked = aggregate(rows, mode="all_items", include="selected", include_fields=["id"])

    assert output_json(whole, "Gather") == [{"data": rows}]
    assert output_json(renamed, "Gather") == [{"rows": [{"id": 1}, {"id": 2}]}]
    assert output_json(picked, "Gather") == [{"data": [{"id": 1}, {"id": 2}]}]


def test_a_field_no_item_has_fails_as_a_likely_typo() -> None:
    result = aggregate(PEOPLE, fields=[{"field": "nmae"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Gather" and result.error["message"] == "no input item has the field 'nmae'"


def test_two_fields_aggregated_into_the_same_output_field_fail() -> None:
    result = aggregate(PEOPLE, fields=[{"field": "name"}, {"field": "contact.email", "rename_to": "name"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["message"] == "output field 'name' is used more than once"
