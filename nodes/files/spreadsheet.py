"""Spreadsheet: read an Excel (xlsx) sheet into one item per row, or write every item as a row of an xlsx file."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import IllegalCharacterError
from pydantic import field_validator

from nodes.files._common import file_label, read_input, table_columns, unique_names
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

READ = {"operation": ["read"]}
WRITE = {"operation": ["write"]}
XLSX_MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
"""An xlsx file is a zip archive: refuse one that unpacks to more than this (a zip bomb)."""


class SpreadsheetParameters(Parameters):
    operation: Literal["read", "write"] = param(
        "read",
        title="Operation",
        description="read: a sheet becomes one item per row; write: every item becomes a row of one xlsx file.",
        no_expressions=True,
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="read: the property holding the file; write: the property the file is put in.",
        min_length=1,
    )
    sheet_name: str = param(
        "", title="Sheet", description="read: the sheet to read (empty: the first); write: its name (empty: Sheet1)."
    )
    header_row: bool = param(
        True,
        title="First row holds the column names",
        description='read: otherwise each item is {"row": [...]}; write: write the column names first.',
    )
    range: str = param(
        "",
        title="Range",
        description="The cells to read, like A1:D20, A:D or 2:100; empty: the whole sheet.",
        show_if=READ,
        placeholder="A1:D20",
    )
    columns: list[str] = param(
        default_factory=list,
        title="Columns",
        description="The fields to write, in order; empty: every field, in order of first appearance.",
        show_if=WRITE,
    )
    file_name: str = param("spreadsheet.xlsx", title="File name", show_if=WRITE, min_length=1)

    @field_validator("range")
    @classmethod
    def _valid_range(cls, value: str) -> str:
        value = value.strip().upper()
        if value:
            try:
                range_boundaries(value)
            except ValueError as err:
                raise ValueError(f"{value!r} is not a cell range like A1:D20") from err
        return value


def _cell_json(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def _check_unpacked_size(data: bytes, label: str, index: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as err:
        raise NodeError(
            f"{label} is not an xlsx spreadsheet ({err})",
            description="Only Excel 2007+ files (.xlsx, .xlsm) can be read; save older .xls files as .xlsx.",
            item_index=index,
        ) from err
    # zipfile never unpacks more than a member's declared size, so the declared total bounds the work.
    if unpacked > MAX_UNPACKED_BYTES:
        raise NodeError(
            f"{label} unpacks to {unpacked} bytes, more than the {MAX_UNPACKED_BYTES} allowed",
            description="Split the spreadsheet into smaller files.",
            item_index=index,
        )


class SpreadsheetNode(Node):
    type = "files.spreadsheet"
    display_name = "Spreadsheet File"
    category = Category.FILES
    description = "Reads an Excel (xlsx) sheet into one item per row, or writes every item as a row of an xlsx file."
    icon = "sheet"
    Parameters = SpreadsheetParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if ctx.params().operation == "write":
            return [self._write(ctx, items)] if items else [[]]
        produced: list[Item] = []
        for index, item in enumerate(items):
            produced.extend(self._read(ctx, item, index))
        return [produced]

    @staticmethod
    def _read(ctx: Context, item: Item, index: int) -> list[Item]:
        params: SpreadsheetParameters = ctx.params(index)
        data, reference = read_input(ctx, item, params.binary_property, index)
        label = file_label(reference, params.binary_property)
        _check_unpacked_size(data, label, index)
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as err:
            # openpyxl raises many kinds of errors (KeyError, ValueError, XML errors) on a damaged file.
            raise NodeError(
                f"{label} is not a readable xlsx spreadsheet ({type(err).__name__}: {err})",
                description="Open it in a spreadsheet program and save it again as .xlsx.",
                item_index=index,
            ) from err
        try:
            if params.sheet_name:
                if params.sheet_name not in workbook.sheetnames:
                    sheets = ", ".join(repr(name) for name in workbook.sheetnames)
                    raise NodeError(
                        f"{label} has no sheet {params.sheet_name!r} (its sheets: {sheets})",
                        description="Correct the Sheet option, or leave it empty to read the first sheet.",
                        item_index=index,
                    )
                sheet = workbook[params.sheet_name]
            else:
                sheet = workbook.worksheets[0]
            bounds: dict[str, int | None] = {}
            if params.range:
                min_col, min_row, max_col, max_row = range_boundaries(params.range)
                bounds = {"min_col": min_col, "min_row": min_row, "max_col": max_col, "max_row": max_row}
            rows = [list(row) for row in sheet.iter_rows(values_only=True, **bounds)]
        finally:
            workbook.close()
        produced: list[Item] = []
        header: list[str] | None = None
        for row in rows:
            values = [_cell_json(value) for value in row]
            if all(value is None for value in values):
                continue
            if params.header_row and header is None:
                header = unique_names(values)
                continue
            if header is None:
                produced.append(Item({"row": values}, paired_item=index))
                continue
            data_json: dict[str, Any] = {name: values[i] if i < len(values) else None for i, name in enumerate(header)}
            for position in range(len(header), len(values)):
                if values[position] is not None:
                    data_json[f"column_{position + 1}"] = values[position]
            produced.append(Item(data_json, paired_item=index))
        return produced

    @staticmethod
    def _write(ctx: Context, items: list[Item]) -> list[Item]:
        params: SpreadsheetParameters = ctx.params(0)
        columns = list(params.columns) or table_columns(items)
        workbook = openpyxl.Workbook(write_only=True)
        try:
            sheet = workbook.create_sheet(params.sheet_name or "Sheet1")
        except ValueError as err:
            raise NodeError(
                f"{params.sheet_name!r} cannot be a sheet name: {err}",
                description="Sheet names have at most 31 characters and none of \\ / * ? : [ ].",
                item_index=0,
            ) from err

        def cell(value: Any, index: int) -> WriteOnlyCell:
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False)
            elif value is not None and not isinstance(value, str | int | float | bool):
                value = str(value)
            try:
                written = WriteOnlyCell(sheet, value=value)
            except (ValueError, IllegalCharacterError) as err:
                raise NodeError(
                    f"item {index} has a value a spreadsheet cannot hold: {err}",
                    description="Remove control characters from the text, e.g. with an Edit Fields node.",
                    item_index=index,
                ) from err
            # Text from items is data: "=HYPERLINK(...)" must not become a live formula.
            if written.data_type == "f":
                written.data_type = "s"
            return written

        if params.header_row:
            sheet.append([cell(column, 0) for column in columns])
        for index, item in enumerate(items):
            sheet.append([cell(item.json.get(column), index) for column in columns])
        buffer = io.BytesIO()
        workbook.save(buffer)
        reference = ctx.store_binary(buffer.getvalue(), file_name=params.file_name, mime_type=XLSX_MIME_TYPE)
        return [Item({}, binary={params.binary_property: reference}, paired_item=0)]
