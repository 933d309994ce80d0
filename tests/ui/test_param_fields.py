"""The config panel's form from real node schemas, and what typed text becomes."""

from __future__ import annotations

import pytest

from hitl_studio.ui.editor import param_fields
from hitl_studio.ui.editor.catalog import descriptions
from hitl_studio.ui.editor.param_fields import FieldValueError


def _schema(node_type: str) -> dict:
    return descriptions()[node_type]["parameters"]


def _by_path(fields: list[dict]) -> dict[str, dict]:
    found = {}
    for field in fields:
        found[field["path"]] = field
        for row in field["rows"]:
            found.update(_by_path(row["fields"]))
    return found


def test_approval_fields_get_their_widgets() -> None:
    fields = _by_path(param_fields.form_fields(_schema("human.approval"), {"title": "Refund?"}))
    assert fields["title"]["widget"] == "text" and fields["title"]["required"]
    assert fields["title"]["text"] == "Refund?"
    assert fields["description"]["widget"] == "textarea"
    assert fields["approvers"]["widget"] == "string_list"
    assert fields["channels"]["widget"] == "multi_options"
    assert fields["channels"]["options"] == ["studio", "slack", "email", "sms"]
    assert fields["ui_schema"]["widget"] == "json"
    assert fields["timeout_seconds"]["widget"] == "number"
    assert fields["timeout_action"]["widget"] == "options"
    assert fields["timeout_action"]["text"] == "reject"
    assert not fields["timeout_action"]["expressions_allowed"]
    assert "escalation" not in fields, "show_if hides the tiers until timeout_action is escalate"


def test_show_if_reveals_fields() -> None:
    fields = _by_path(param_fields.form_fields(_schema("human.approval"), {"timeout_action": "escalate"}))
    assert fields["escalation"]["widget"] == "collection"


def test_collections_render_rows_two_levels_deep_then_json() -> None:
    values = {"mode": "rules", "rules": [{"conditions": [{"left": "{{ $json.a }}", "operator": "is_empty"}]}]}
    fields = _by_path(param_fields.form_fields(_schema("core.switch"), values))
    assert fields["rules"]["widget"] == "collection"
    assert fields["rules.0.conditions"]["widget"] == "collection"
    assert fields["rules.0.conditions.0.left"]["widget"] == "expression"
    deep = {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"$ref": "#/$defs/B"}}},
        "$defs": {
            "B": {"type": "object", "properties": {"b": {"type": "array", "items": {"$ref": "#/$defs/C"}}}},
            "C": {"type": "object", "properties": {"c": {"type": "array", "items": {"$ref": "#/$defs/D"}}}},
            "D": {"type": "object", "properties": {"d": {"type": "string"}}},
        },
    }
    nested = _by_path(param_fields.form_fields(deep, {"a": [{"b": [{"c": []}]}]}))
    assert nested["a.0.b.0.c"]["widget"] == "json", "a third level is edited as JSON"
    if_fields = _by_path(
        param_fields.form_fields(
            _schema("core.if"), {"conditions": [{"left": "{{ $json.a }}", "operator": "is_empty"}]}
        )
    )
    assert if_fields["conditions.0.left"]["widget"] == "expression"
    assert if_fields["conditions.0.operator"]["text"] == "is_empty"
    assert "conditions.0.right" not in if_fields, "is_empty needs nothing to compare with"


def test_errors_and_drafts_are_shown_on_their_field() -> None:
    fields = _by_path(
        param_fields.form_fields(
            _schema("human.approval"), {}, errors={"quorum": "Enter a whole number."}, drafts={"quorum": "1.5"}
        )
    )
    assert fields["quorum"]["error"] == "Enter a whole number."
    assert fields["quorum"]["text"] == "1.5"


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("quorum", "3", 3),
        ("timeout_seconds", "", None),
        (
            "approvers",
            "ana@example.com, group:finance\nbo@example.com",
            ["ana@example.com", "group:finance", "bo@example.com"],
        ),
        ("ui_schema", '{"type": "object"}', {"type": "object"}),
        ("title", "Refund {{ $json.amount }}?", "Refund {{ $json.amount }}?"),
        ("quorum", "{{ $json.n }}", "{{ $json.n }}"),
    ],
)
def test_typed_text_becomes_the_right_value(path: str, text: str, expected: object) -> None:
    schema = _schema("human.approval")
    assert param_fields.parse_text(text, param_fields.schema_at(schema, path), schema) == expected


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [("quorum", "two", "not a number"), ("quorum", "1.5", "whole number"), ("ui_schema", "{oops", "Not valid JSON")],
)
def test_bad_text_gets_a_message_for_the_field(path: str, text: str, message: str) -> None:
    schema = _schema("human.approval")
    with pytest.raises(FieldValueError, match=message):
        param_fields.parse_text(text, param_fields.schema_at(schema, path), schema)


def test_rows_are_added_with_defaults_and_removed() -> None:
    schema = _schema("core.if")
    values = param_fields.add_row({}, "conditions", schema)
    values = param_fields.add_row(values, "conditions", schema)
    assert values["conditions"] == [{"operator": "equals"}, {"operator": "equals"}]
    values = param_fields.set_path(values, "conditions.1.left", "x")
    values = param_fields.remove_row(values, "conditions.0")
    assert values["conditions"] == [{"operator": "equals", "left": "x"}]
    assert param_fields.get_path(values, "conditions.0.left") == "x"
    assert param_fields.get_path(values, "conditions.5.left") is None
