"""The approver's form from a ui_schema: which control each property gets, the prefill, and reading it back."""

from __future__ import annotations

from hitl_studio.approvals.forms import response_problems
from hitl_studio.ui.components.schema_form import (
    FormValues,
    errors_by_field,
    form_fields,
    initial_values,
    read_values,
)

SCHEMA = {
    "type": "object",
    "x-order": ["amount", "count", "currency", "note", "summary", "urgent", "labels", "ship_by", "extra"],
    "required": ["amount", "currency"],
    "properties": {
        "amount": {"type": "number", "title": "Amount", "maximum": 1000},
        "count": {"type": "integer", "default": 1},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
        "note": {"type": "string", "x-widget": "textarea", "description": "Why"},
        "summary": {"type": "string"},
        "urgent": {"type": "boolean"},
        "labels": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}},
        "ship_by": {"type": "string", "format": "date"},
        "extra": {"type": "object"},
    },
}
DATA = {
    "amount": 12.5,
    "currency": "USD",
    "note": "line one\nline two",
    "urgent": True,
    "labels": ["b"],
    "ship_by": "2026-12-01",
    "extra": {"ticket": 42},
    "unrelated": "not in the form",
}


def test_each_property_gets_its_control_in_the_schema_order() -> None:
    fields = form_fields(SCHEMA)

    assert [(field.key, field.kind) for field in fields] == [
        ("amount", "number"),
        ("count", "integer"),
        ("currency", "select"),
        ("note", "textarea"),
        ("summary", "text"),
        ("urgent", "boolean"),
        ("labels", "multiselect"),
        ("ship_by", "date"),
        ("extra", "json"),
    ]
    by_key = {field.key: field for field in fields}
    assert by_key["amount"].label == "Amount *"
    assert by_key["count"].label == "count"
    assert by_key["currency"].options == ["EUR", "USD"]
    assert by_key["labels"].options == ["a", "b", "c"]
    assert by_key["note"].help == "Why"
    assert by_key["extra"].help == "Enter JSON."
    assert by_key["ship_by"].test_id == "form-field-ship_by"
    assert form_fields({}) == []


def test_the_prefill_comes_from_the_action_data_then_the_defaults() -> None:
    values = initial_values(SCHEMA, DATA)

    assert values.text == {
        "amount": "12.5",
        "count": "1",
        "currency": "USD",
        "note": "line one\nline two",
        "summary": "",
        "ship_by": "2026-12-01",
        "extra": '{\n  "ticket": 42\n}',
    }
    assert values.flags == {"urgent": True}
    assert values.choices == {"labels": ["b"]}


def test_unchanged_controls_read_back_as_the_typed_data() -> None:
    data, problems = read_values(SCHEMA, initial_values(SCHEMA, DATA))

    assert problems == {}
    assert data == {**{key: value for key, value in DATA.items() if key != "unrelated"}, "count": 1}
    assert response_problems(SCHEMA, data) == {}


def test_text_that_cannot_be_read_is_an_error_on_its_field() -> None:
    values = initial_values(SCHEMA, DATA)
    values.text.update(amount="", count="2.5", extra="{not json")

    data, problems = read_values(SCHEMA, values)

    assert set(problems) == {"amount", "count", "extra"}
    assert problems["amount"] == "This field is required."
    assert "amount" not in data


def test_an_unticked_boolean_is_false_and_an_empty_multiselect_is_empty() -> None:
    data, problems = read_values(SCHEMA, FormValues(text={"amount": "1", "currency": "EUR"}))

    assert problems == {}
    assert data == {"amount": 1, "currency": "EUR", "urgent": False, "labels": []}


def test_service_errors_land_on_their_top_level_field() -> None:
    by_field, general = errors_by_field(
        SCHEMA, {"amount": "5000 is greater than the maximum of 1000", "extra.ticket": "bad", "": "whole form"}
    )

    assert by_field["amount"] == "5000 is greater than the maximum of 1000"
    assert by_field["extra"] == "ticket: bad"
    assert by_field["currency"] == ""
    assert general == ["whole form"]
