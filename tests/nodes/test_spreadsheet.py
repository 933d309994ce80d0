"""Spreadsheet File (files.spreadsheet) run through the engine: xlsx round trip, sheets, ranges, bad files."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import openpyxl

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_sheet(content: bytes, **parameters: Any) -> RunResult:
    host = LocalHost()
    reference = host.store_binary(content, file_name="book.xlsx", mime_type=XLSX)
    data = workflow(
        [MANUAL, node("Sheet", "files.spreadsheet", {"operation": "read", **parameters})], [("Start", "Sheet")]
    )
    return run(data, host=host, pinned={"Start": [Item({}, binary={"data": reference})]})


def test_written_items_read_back_with_their_types() -> None:
    host = LocalHost()
    data = workflow(
        [
            MANUAL,
            node("Write", "files.spreadsheet", {"operation": "write", "sheet_name": "Orders"}),
            node("Read", "files.spreadsheet", {"operation": "read", "sheet_name": "Orders"}),
        ],
        [("Start", "Write"), ("Write", "Read")],
    )
    orders = [
        {"id": 1, "total": 9.5, "paid": True, "customer": {"name": "Ada"}},
        {"id": 2, "total": 12, "paid": False, "note": '=HYPERLINK("http://evil")'},
    ]

    result = run(data, orders, host=host)

    assert result.status is RunStatus.SUCCEEDED
    (written,) = result.last_outputs["Write"][0]
    assert written.binary["data"]["file_name"] == "spreadsheet.xlsx"
    assert written.binary["data"]["mime_type"] == XLSX
    assert output_json(result, "Read") == [
        {"id": 1, "total": 9.5, "paid": True, "customer": '{"name": "Ada"}', "note": None},
        {"id": 2, "total": 12, "paid": False, "customer": None, "note": '=HYPERLINK("http://evil")'},
    ]
    cell = openpyxl.load_workbook(io.BytesIO(host.read_binary(written.binary["data"])))["Orders"]["E3"]
    assert cell.data_type == "s", "text from items must not become a formula"


def test_the_first_sheet_is_read_by_default_and_dates_become_iso_text() -> None:
    content = workbook_bytes(
        {"First": [["when", "what"], [datetime(2024, 5, 1, 9, 30), "launch"]], "Second": [["x"], [1]]}
    )

    assert output_json(read_sheet(content), "Sheet") == [{"when": "2024-05-01T09:30:00", "what": "launch"}]
    assert output_json(read_sheet(content, sheet_name="Second"), "Sheet") == [{"x": 1}]


def test_a_range_and_no_header_row() -> None:
    content = workbook_bytes({"S": [["title", None, None], [None, "a", "b"], [None, "c", "d"], [None, "e", "f"]]})

    result = read_sheet(content, range="B2:C3", header_row=False)

    assert output_json(result, "Sheet") == [{"row": ["a", "b"]}, {"row": ["c", "d"]}]


def test_blank_and_repeated_header_cells_get_names_and_empty_rows_are_skipped() -> None:
    content = workbook_bytes({"S": [["a", None, "a"], [1, 2, 3], [None, None, None], [4, 5, 6]]})

    assert output_json(read_sheet(content), "Sheet") == [
        {"a": 1, "column_2": 2, "a_2": 3},
        {"a": 4, "column_2": 5, "a_2": 6},
    ]


def test_an_unknown_sheet_fails_listing_the_sheets() -> None:
    result = read_sheet(workbook_bytes({"Jan": [["x"]], "Feb": [["x"]]}), sheet_name="Mar")

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Sheet" and result.error["item_index"] == 0
    assert result.error["message"] == "'book.xlsx' has no sheet 'Mar' (its sheets: 'Jan', 'Feb')"


def test_a_file_that_is_not_xlsx_fails_naming_the_item() -> None:
    result = read_sheet(b"name,age\nAda,36\n")

    assert result.error is not None
    assert result.error["node"] == "Sheet" and result.error["item_index"] == 0
    assert result.error["message"].startswith("'book.xlsx' is not an xlsx spreadsheet")


def test_a_missing_binary_property_fails_naming_the_item() -> None:
    data = workflow([MANUAL, node("Sheet", "files.spreadsheet", {"operation": "read"})], [("Start", "Sheet")])

    result = run(data, [{"id": 1}])

    assert result.error is not None
    assert result.error["node"] == "Sheet" and result.error["item_index"] == 0
    assert "has no binary property 'data'" in result.error["message"]


def test_an_invalid_range_is_refused() -> None:
    result = read_sheet(workbook_bytes({"S": [["x"]]}), range="not a range")

    assert result.error is not None and result.error["node"] == "Sheet"
    assert "is not a cell range like A1:D20" in result.error["message"]
