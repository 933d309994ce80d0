"""JSON File (files.json) run through the engine: write then read back, lists and objects, bad JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


def read_json(*contents: bytes, **parameters: Any) -> RunResult:
    """Run a JSON read on one trigger item per file, each in its ``data`` property."""
    host = LocalHost()
    pinned = [
        Item({}, binary={"data": host.store_binary(content, file_name=f"f{i}.json", mime_type="application/json")})
        for i, content in enumerate(contents)
    ]
    data = workflow([MANUAL, node("JSON", "files.json", {"operation": "read", **parameters})], [("Start", "JSON")])
    return run(data, host=host, pinned={"Start": pinned})


def test_all_items_written_to_one_file_read_back_as_the_same_items() -> None:
    host = LocalHost()
    data = workflow(
        [
            MANUAL,
            node("Write", "files.json", {"operation": "write", "pretty": True, "file_name": "orders.json"}),
            node("Read", "files.json", {"operation": "read"}),
        ],
        [("Start", "Write"), ("Write", "Read")],
    )
    orders = [{"id": 1, "lines": [{"sku": "A", "qty": 2}], "note": "café"}, {"id": 2, "paid": None}]

    result = run(data, orders, host=host)

    assert result.status is RunStatus.SUCCEEDED
    (written,) = result.last_outputs["Write"][0]
    reference = written.binary["data"]
    assert reference["file_name"] == "orders.json" and reference["mime_type"] == "application/json"
    text = host.read_binary(reference).decode()
    assert text.startswith('[\n  {\n    "id": 1,') and "café" in text
    assert output_json(result, "Read") == orders


def test_each_item_mode_writes_one_file_per_item_named_by_an_expression() -> None:
    host = LocalHost()
    write = node("Write", "files.json", {"operation": "write", "mode": "each_item", "file_name": "{{ $json.id }}.json"})
    data = workflow([MANUAL, write], [("Start", "Write")])

    result = run(data, [{"id": 1}, {"id": 2}], host=host)

    produced = result.last_outputs["Write"][0]
    assert [item.binary["data"]["file_name"] for item in produced] == ["1.json", "2.json"]
    assert [json.loads(host.read_binary(item.binary["data"])) for item in produced] == [{"id": 1}, {"id": 2}]
    assert [item.json for item in produced] == [{"id": 1}, {"id": 2}]
    assert [item.paired_item for item in produced] == [0, 1]


def test_an_object_is_one_item_and_scalars_in_a_list_are_wrapped() -> None:
    result = read_json(b'{"name": "Ada"}', b'[1, {"x": 2}, "three"]')

    assert output_json(result, "JSON") == [{"name": "Ada"}, {"value": 1}, {"x": 2}, {"value": "three"}]
    assert [item.paired_item for item in result.last_outputs["JSON"][0]] == [0, 1, 1, 1]


def test_malformed_json_fails_naming_the_node_the_item_and_the_position() -> None:
    result = read_json(b"[]", b'{"name": "Ada",\n "age": }')

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "JSON" and result.error["item_index"] == 1
    assert result.error["message"] == "'f1.json' is not valid JSON: Expecting value at line 2, column 9"


def test_a_missing_binary_property_fails_naming_the_item() -> None:
    result = read_json(b"{}", binary_property="upload")

    assert result.error is not None
    assert result.error["node"] == "JSON" and result.error["item_index"] == 0
    assert result.error["message"] == "item 0 has no binary property 'upload' (its binary properties: 'data')"


def test_an_unknown_encoding_is_refused_when_the_workflow_is_saved() -> None:
    from pydantic import ValidationError

    from nodes.files.json_file import JsonFileParameters

    with pytest.raises(ValidationError, match="encoding"):
        JsonFileParameters(operation="read", encoding="klingon-8")
    assert JsonFileParameters(operation="read", encoding="latin-1").encoding == "latin-1"
