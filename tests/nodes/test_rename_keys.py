"""Rename Keys (data.rename_keys), run through the engine."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.rename_keys"


def rename(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Rename", TYPE, parameters)], [("Start", "Rename")])
    return run(data, items)


def test_keys_are_renamed_and_items_keep_their_pairing() -> None:
    result = rename([{"fname": "Ann", "age": 30}, {"fname": "Bob"}], keys=[{"current": "fname", "new": "first_name"}])

    assert output_json(result, "Rename") == [{"first_name": "Ann", "age": 30}, {"first_name": "Bob"}]
    assert [item.paired_item for item in result.last_outputs["Rename"][0]] == [0, 1]
    assert output_json(result, "Start")[0] == {"fname": "Ann", "age": 30}, "input left untouched"


def test_dotted_names_move_values_in_and_out_of_nested_objects() -> None:
    items = [{"customer": {"mail": "a@x", "name": "Ann"}, "zip": "75001"}]

    result = rename(
        items,
        keys=[
            {"current": "customer.mail", "new": "customer.email"},
            {"current": "zip", "new": "address.zip"},
            {"current": "customer.name", "new": "name"},
        ],
    )

    assert output_json(result, "Rename") == [{"customer": {"email": "a@x"}, "address": {"zip": "75001"}, "name": "Ann"}]
    assert output_json(result, "Start") == items


def test_a_key_that_is_not_there_is_left_alone() -> None:
    result = rename([{"a": 1}], keys=[{"current": "b", "new": "c"}, {"current": "a.x", "new": "y"}])

    assert output_json(result, "Rename") == [{"a": 1}]


def test_the_new_name_can_be_an_expression() -> None:
    items = [{"kind": "user", "value": 1}, {"kind": "team", "value": 2}]

    result = rename(items, keys=[{"current": "value", "new": "{{ $json.kind }}_id"}])

    assert output_json(result, "Rename") == [{"kind": "user", "user_id": 1}, {"kind": "team", "team_id": 2}]


def test_regular_expressions_rename_top_level_keys_in_place() -> None:
    items = [{"OLD_name": "Ann", "old_age": 30, "keep": True, "nested": {"old_x": 1}}]

    result = rename(items, regex=[{"pattern": "^old_(.*)", "replacement": r"new_\1", "ignore_case": True}])

    (renamed,) = output_json(result, "Rename")
    assert renamed == {"new_name": "Ann", "new_age": 30, "keep": True, "nested": {"old_x": 1}}
    assert list(renamed) == ["new_name", "new_age", "keep", "nested"]


def test_an_invalid_regular_expression_fails_naming_the_item() -> None:
    result = rename([{"a": 1}], regex=[{"pattern": "(unclosed", "replacement": "x"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Rename" and result.error["item_index"] == 0
    assert result.error["message"].startswith("item 0: the pattern '(unclosed' or its replacement is invalid")


def test_a_replacement_naming_a_missing_group_fails() -> None:
    result = rename([{"a": 1}], regex=[{"pattern": "a", "replacement": r"\2"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert "invalid group reference" in result.error["message"]
