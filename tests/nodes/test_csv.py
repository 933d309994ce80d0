"""CSV (files.csv) run through the engine: write then read back, options, and files that are not CSV."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


def read_csv(content: bytes, **parameters: Any) -> tuple[RunResult, LocalHost]:
    """Run a CSV read on a file the trigger carries in its ``data`` property."""
    host = LocalHost()
    reference = host.store_binary(content, file_name="people.csv", mime_type="text/csv")
    data = workflow([MANUAL, node("CSV", "files.csv", {"operation": "read", **parameters})], [("Start", "CSV")])
    return run(data, host=host, pinned={"Start": [Item({}, binary={"data": reference})]}), host


def test_written_items_read_back_as_the_same_rows() -> None:
    host = LocalHost()
    data = workflow(
        [
            MANUAL,
            node("Write", "files.csv", {"operation": "write", "file_name": "people.csv"}),
            node("Read", "files.csv", {"operation": "read"}),
        ],
        [("Start", "Write"), ("Write", "Read")],
    )
    people = [
        {"name": "Ada", "city": "London", "note": 'said "hi", then left'},
        {"name": "Grace", "age": 85, "active": True, "tags": ["navy", "cobol"]},
    ]

    result = run(data, people, host=host)

    assert result.status is RunStatus.SUCCEEDED
    (written,) = result.last_outputs["Write"][0]
    assert written.binary["data"]["file_name"] == "people.csv"
    assert written.binary["data"]["mime_type"] == "text/csv"
    assert host.read_binary(written.binary["data"]).decode().splitlines()[0] == "name,city,note,age,active,tags"
    assert output_json(result, "Read") == [
        {"name": "Ada", "city": "London", "note": 'said "hi", then left', "age": "", "active": "", "tags": ""},
        {"name": "Grace", "city": "", "note": "", "age": "85", "active": "true", "tags": '["navy", "cobol"]'},
    ]
    assert [item.paired_item for item in result.last_outputs["Read"][0]] == [0, 0]


def test_write_keeps_only_the_listed_columns_in_their_order_with_another_delimiter() -> None:
    host = LocalHost()
    data = workflow(
        [
            MANUAL,
            node("Write", "files.csv", {"operation": "write", "columns": ["b", "a"], "delimiter": ";"}),
        ],
        [("Start", "Write")],
    )

    result = run(data, [{"a": 1, "b": 2, "c": 3}, {"a": "x;y"}], host=host)

    (written,) = result.last_outputs["Write"][0]
    assert host.read_binary(written.binary["data"]) == b'b;a\r\n2;1\r\n;"x;y"\r\n'


def test_read_options_tab_delimiter_no_header_and_empty_lines() -> None:
    result, _ = read_csv(b"a\tb\n\n1\t2\n", delimiter="\\t", header_row=False)

    assert output_json(result, "CSV") == [{"row": ["a", "b"]}, {"row": ["1", "2"]}]


def test_empty_lines_are_kept_when_asked_and_extra_cells_get_column_names() -> None:
    result, _ = read_csv(b"name,age\n\nBob,7,extra\n", skip_empty_lines=False)

    assert output_json(result, "CSV") == [{"name": "", "age": ""}, {"name": "Bob", "age": "7", "column_3": "extra"}]


def test_a_utf8_byte_order_mark_and_latin1_files_are_decoded() -> None:
    with_bom, _ = read_csv("\ufeffname\nZoë\n".encode())
    latin, _ = read_csv("name\nZoë\n".encode("latin-1"), encoding="latin-1")

    assert output_json(with_bom, "CSV") == [{"name": "Zoë"}]
    assert output_json(latin, "CSV") == [{"name": "Zoë"}]


def test_malformed_csv_fails_naming_the_node_the_item_and_the_line() -> None:
    result, _ = read_csv(b'name,age\nBob,"7"x\n')

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "CSV" and result.error["item_index"] == 0
    assert "line 2 of 'people.csv' is not valid CSV" in result.error["message"]


def test_text_in_the_wrong_encoding_fails_with_a_hint() -> None:
    result, _ = read_csv("name\nZoë\n".encode("latin-1"))

    assert result.error is not None and result.error["item_index"] == 0
    assert result.error["message"] == "'people.csv' is not utf-8 text (byte 7)"
    assert "Encoding" in result.error["description"]


def test_a_missing_binary_property_fails_naming_the_item() -> None:
    data = workflow(
        [MANUAL, node("CSV", "files.csv", {"operation": "read", "binary_property": "file"})], [("Start", "CSV")]
    )

    result = run(data, [{"id": 1}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "CSV" and result.error["item_index"] == 0
    assert result.error["message"] == "item 0 has no binary property 'file' (its binary properties: none)"


def test_a_delimiter_of_several_characters_is_refused() -> None:
    result, _ = read_csv(b"a\n1\n", delimiter="::")

    assert result.error is not None and result.error["node"] == "CSV"
    assert "the delimiter must be one character" in result.error["message"]
