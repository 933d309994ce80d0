"""Remove Duplicates (data.remove_duplicates), run through the engine."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.remove_duplicates"


def dedupe(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Dedupe", TYPE, parameters)], [("Start", "Dedupe")])
    return run(data, items)


def test_all_fields_keeps_the_first_of_identical_items_whatever_their_key_order() -> None:
    result = dedupe([{"a": 1, "b": 2}, {"a": 1, "b": 3}, {"b": 2, "a": 1}, {"a": 1, "b": 3}])

    assert output_json(result, "Dedupe") == [{"a": 1, "b": 2}, {"a": 1, "b": 3}]
    assert [item.paired_item for item in result.last_outputs["Dedupe"][0]] == [0, 1]


def test_values_are_compared_as_json_types() -> None:
    values: list[Any] = [1, True, 1.0, "1", None, [1, {"x": 2}], [1, {"x": 2}]]

    result = dedupe([{"v": value} for value in values])

    assert output_json(result, "Dedupe") == [{"v": 1}, {"v": True}, {"v": "1"}, {"v": None}, {"v": [1, {"x": 2}]}]


def test_selected_fields_compare_only_those_fields_nested_ones_included() -> None:
    items = [
        {"customer": {"email": "ann@example.com"}, "order": 1},
        {"customer": {"email": "bob@example.com"}, "order": 2},
        {"customer": {"email": "ann@example.com"}, "order": 3},
    ]

    result = dedupe(items, compare="selected_fields", fields=["customer.email"])

    assert [row["order"] for row in output_json(result, "Dedupe")] == [1, 2]
    assert [item.paired_item for item in result.last_outputs["Dedupe"][0]] == [0, 1]


def test_all_fields_except_ignores_the_listed_fields() -> None:
    items = [
        {"id": 1, "meta": {"received_at": "09:00", "source": "api"}},
        {"id": 1, "meta": {"received_at": "09:05", "source": "api"}},
        {"id": 1, "meta": {"received_at": "09:07", "source": "csv"}},
    ]

    result = dedupe(items, compare="all_fields_except", fields_to_skip=["meta.received_at"])

    assert output_json(result, "Dedupe") == [items[0], items[2]]


def test_a_selected_field_missing_from_an_item_fails_naming_the_item() -> None:
    result = dedupe([{"email": "a@x"}, {"name": "no email"}], compare="selected_fields", fields=["email"])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Dedupe" and result.error["item_index"] == 1
    assert result.error["message"] == "item 1 has no field 'email' to compare"


def test_selected_fields_mode_without_fields_fails() -> None:
    result = dedupe([{"a": 1}], compare="selected_fields", fields=[])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["message"] == "no fields to compare"
