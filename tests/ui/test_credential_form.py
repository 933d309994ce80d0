"""The credential form built from a type's schema, and reading it back: secrets never start filled in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hitl_studio.services.credentials import WorkflowRef, usage_by_credential
from hitl_studio.ui.state.audit import day_window, parse_day
from hitl_studio.ui.state.credentials import (
    FIELD_PREFIX,
    FormField,
    form_fields,
    known_icons,
    read_form,
    type_icon,
)
from nodes.registry import get_registry

STORED = {
    "host": "db.internal",
    "port": 6543,
    "database": "sales",
    "user": "etl",
    "password": "hunter2-stored",
    "ssl_mode": "require",
}


def _postgres(stored: dict[str, Any] | None = None, statuses: dict[str, str] | None = None) -> list[FormField]:
    return form_fields(get_registry().credential_type("postgres"), stored=stored, statuses=statuses)


def _by_name(fields: list[FormField]) -> dict[str, FormField]:
    return {item.name: item for item in fields}


def _form(**values: str) -> dict[str, str]:
    return {FIELD_PREFIX + name: value for name, value in values.items()}


def test_a_new_form_has_every_field_with_its_kind_and_default() -> None:
    fields = _by_name(_postgres())

    assert [name for name in fields] == ["host", "port", "database", "user", "password", "ssl_mode"]
    assert (fields["host"].kind, fields["host"].required, fields["host"].placeholder) == (
        "text",
        True,
        "db.example.com",
    )
    assert (fields["port"].kind, fields["port"].value, fields["port"].integer) == ("number", "5432", True)
    assert (fields["password"].kind, fields["password"].secret, fields["password"].status) == ("password", True, "")
    assert (fields["ssl_mode"].kind, fields["ssl_mode"].options) == ("select", ["disable", "prefer", "require"])
    redis = _by_name(form_fields(get_registry().credential_type("redis")))
    assert (redis["tls"].kind, redis["tls"].checked) == ("boolean", False)


def test_editing_fills_stored_values_but_never_a_secret() -> None:
    fields = _by_name(_postgres(stored=STORED, statuses={"password": "set", "host": "set"}))

    assert fields["host"].value == "db.internal" and fields["port"].value == "6543"
    assert fields["password"].value == "" and fields["password"].status == "set"
    assert fields["host"].status == ""
    assert "hunter2-stored" not in repr(list(fields.values()))


def test_creating_sends_typed_values_and_reports_blank_required_fields() -> None:
    data, errors = read_form(
        _postgres(),
        _form(host=" 127.0.0.1 ", port="5433", database="", user="postgres", password=" s ", ssl_mode="prefer"),
        editing=False,
    )

    assert errors == {"database": "Required."}
    assert data == {"host": "127.0.0.1", "port": 5433, "user": "postgres", "password": " s ", "ssl_mode": "prefer"}
    _, errors = read_form(_postgres(), _form(host="h", port="54.5", database="d", user="u"), editing=False)
    assert errors == {"port": "Enter a whole number."}


def test_editing_sends_only_changes_and_a_blank_secret_keeps_the_stored_one() -> None:
    fields = _postgres(stored=STORED, statuses={"password": "set"})
    untouched = _form(host="db.internal", port="6543", database="sales", user="etl", password="", ssl_mode="require")

    assert read_form(fields, untouched, editing=True) == ({}, {})
    changed = {**untouched, **_form(database="sales_v2", password="new-secret")}
    assert read_form(fields, changed, editing=True) == ({"database": "sales_v2", "password": "new-secret"}, {})
    assert read_form(fields, {**untouched, **_form(host="")}, editing=True) == ({}, {"host": "Required."})


def test_a_required_secret_is_required_when_creating_but_not_when_stored() -> None:
    header = get_registry().credential_type("http_header_auth")

    assert read_form(form_fields(header), _form(name="X-Key", value=""), editing=False)[1] == {"value": "Required."}
    stored = form_fields(header, stored={"name": "X-Key"}, statuses={"value": "set"})
    assert read_form(stored, _form(name="X-Key", value=""), editing=True) == ({}, {})


def test_usage_lists_each_workflow_once_per_credential_sorted_by_name() -> None:
    node = {"credentials": {"postgres": {"id": "c1"}}}
    graphs = [
        ("w2", "zeta", {"nodes": [node, node]}),
        ("w1", "Alpha", {"nodes": [node, {"credentials": {"smtp": {"id": "c2"}}}]}),
        ("w3", "broken", {"nodes": [{"credentials": "nonsense"}, "not a node"]}),
    ]

    assert usage_by_credential(graphs) == {
        "c1": [WorkflowRef("w1", "Alpha"), WorkflowRef("w2", "zeta")],
        "c2": [WorkflowRef("w1", "Alpha")],
    }


def test_every_credential_type_has_a_known_icon() -> None:
    icons = known_icons()
    for cls in get_registry().credential_types():
        assert type_icon(cls) in icons


def test_audit_dates_are_whole_utc_days() -> None:
    assert parse_day("2026-03-01", "from") == (date(2026, 3, 1), "")
    assert parse_day("", "from") == (None, "")
    assert parse_day("03/01/2026", "to") == (None, "Enter the to date as YYYY-MM-DD.")
    assert day_window(date(2026, 3, 1), date(2026, 3, 1)) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    )
