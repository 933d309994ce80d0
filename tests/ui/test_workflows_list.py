"""/workflows' pure parts: reading an imported file, the starter and duplicate workflows, and time labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.models.workflows import Workflow
from hitl_studio.services.errors import InvalidInput
from hitl_studio.ui.components.times import duration, relative, stamp
from hitl_studio.ui.state.workflows_list import copy_input, import_input, starter_input

N8N_EXPORT = {
    "id": "x1Yz",
    "name": "Orders intake",
    "active": True,
    "versionId": "0b0f2c",
    "pinData": {},
    "meta": {"instanceId": "abc"},
    "tags": [{"id": "7", "name": "sales"}, {"id": "8", "name": " "}],
    "nodes": [{"id": "a1", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}}],
    "connections": {},
}


def test_an_n8n_export_is_read_without_its_export_only_fields() -> None:
    data = import_input("orders.json", json.dumps(N8N_EXPORT).encode())

    assert data.name == "Orders intake"
    assert data.tags == ["sales"]
    assert data.nodes == N8N_EXPORT["nodes"]
    assert data.version_note == "imported from orders.json"


def test_a_file_without_a_name_is_named_after_the_file() -> None:
    data = import_input("refunds.json", json.dumps({"nodes": [], "connections": {}}).encode())

    assert data.name == "refunds"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG not json", "is not a JSON file"),
        (b"[1, 2]", "is not a workflow"),
        (json.dumps({"nodes": "many"}).encode(), "nodes"),
    ],
)
def test_a_file_that_is_not_a_workflow_says_why(content: bytes, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        import_input("upload.json", content)

    assert expected in raised.value.message
    assert "upload.json" in raised.value.message


def test_a_new_workflow_starts_with_a_manual_trigger_that_parses() -> None:
    data = starter_input("Refunds")

    graph = parse_workflow({"name": data.name, "nodes": data.nodes, "connections": data.connections})

    assert [node.type for node in graph.nodes.values()] == ["trigger.manual"]


def test_a_duplicate_keeps_the_graph_and_tags_under_a_new_name() -> None:
    original = Workflow(
        name="Refunds",
        description="d",
        graph={"nodes": N8N_EXPORT["nodes"], "connections": {}},
        settings={"timezone": "UTC"},
        tags=["sales"],
    )

    copy = copy_input(original)

    assert (copy.name, copy.nodes, copy.settings, copy.tags) == (
        "Refunds (copy)",
        N8N_EXPORT["nodes"],
        {"timezone": "UTC"},
        ["sales"],
    )


def test_times_read_as_people_say_them() -> None:
    now = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)

    assert relative(now - timedelta(seconds=3), now) == "just now"
    assert relative(now - timedelta(minutes=5), now) == "5 min ago"
    assert relative(now + timedelta(hours=2, minutes=5), now) == "in 2 h"
    assert relative(now + timedelta(days=3), now) == "in 3 d"
    assert relative(None, now) == ""
    assert duration(now, now + timedelta(milliseconds=340)) == "340 ms"
    assert duration(now, now + timedelta(seconds=12.5)) == "12.5 s"
    assert duration(now, now + timedelta(minutes=3, seconds=4)) == "3 min 4 s"
    assert duration(now, None) == ""
    assert stamp(now) == "2026-03-14 12:00 UTC"
