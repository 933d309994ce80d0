"""CSV: read a CSV file into one item per row, or write every item into one CSV file."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from pydantic import field_validator

from nodes.files._common import (
    decode_text,
    file_label,
    known_encoding,
    read_input,
    table_columns,
    text_cell,
    unique_names,
)
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

READ = {"operation": ["read"]}
WRITE = {"operation": ["write"]}


class CsvParameters(Parameters):
    operation: Literal["read", "write"] = param(
        "read",
        title="Operation",
        description="read: a CSV file becomes one item per row; write: every item becomes a row of one CSV file.",
        no_expressions=True,
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="read: the property holding the file; write: the property the file is put in.",
        min_length=1,
    )
    delimiter: str = param(",", title="Delimiter", description=r"One character; \t for a tab.", min_length=1)
    header_row: bool = param(
        True,
        title="First row holds the column names",
        description='read: otherwise each item is {"row": [...]}; write: write the column names first.',
    )
    encoding: str = param("utf-8", title="Encoding", description="utf-8, latin-1, cp1252...", advanced=True)
    skip_empty_lines: bool = param(True, title="Skip empty lines", show_if=READ)
    columns: list[str] = param(
        default_factory=list,
        title="Columns",
        description="The fields to write, in order; empty: every field, in order of first appearance.",
        show_if=WRITE,
    )
    file_name: str = param("data.csv", title="File name", show_if=WRITE, min_length=1)

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        value = "\t" if value in ("\\t", "tab") else value
        if len(value) != 1:
            raise ValueError(r"the delimiter must be one character (\t for a tab)")
        return value

    _encoding = field_validator("encoding")(known_encoding)


def _row_json(row: list[str], header: list[str] | None) -> dict[str, Any]:
    if header is None:
        return {"row": row}
    data: dict[str, Any] = {name: row[i] if i < len(row) else "" for i, name in enumerate(header)}
    for position in range(len(header), len(row)):
        data[f"column_{position + 1}"] = row[position]
    return data


class CsvNode(Node):
    type = "files.csv"
    display_name = "CSV"
    category = Category.FILES
    description = "Reads a CSV file into one item per row, or writes every item as a row of one CSV file."
    icon = "file-spreadsheet"
    Parameters = CsvParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if ctx.params().operation == "write":
            return [self._write(ctx, items)] if items else [[]]
        return [self._read(ctx, items)]

    @staticmethod
    def _read(ctx: Context, items: list[Item]) -> list[Item]:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: CsvParameters = ctx.params(index)
            data, reference = read_input(ctx, item, params.binary_property, index)
            label = file_label(reference, params.binary_property)
            text = decode_text(data, params.encoding, label, index)
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=params.delimiter, strict=True)
            header: list[str] | None = None
            try:
                for row in reader:
                    if params.skip_empty_lines and not any(row):
                        continue
                    if params.header_row and header is None:
                        header = unique_names(row)
                        continue
                    produced.append(Item(_row_json(row, header), paired_item=index))
            except csv.Error as err:
                raise NodeError(
                    f"line {reader.line_num} of {label} is not valid CSV: {err}",
                    description="Check the quotes on that line and the Delimiter option.",
                    item_index=index,
                ) from err
        return produced

    @staticmethod
    def _write(ctx: Context, items: list[Item]) -> list[Item]:
        params: CsvParameters = ctx.params(0)
        columns = list(params.columns) or table_columns(items)
        encoding = params.encoding
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=params.delimiter, lineterminator="\r\n")
        chunks: list[bytes] = []

        def flush(index: int) -> None:
            try:
                chunks.append(buffer.getvalue().encode(encoding))
            except UnicodeEncodeError as err:
                raise NodeError(
                    f"item {index} has text that {encoding} cannot encode ({err.object[err.start : err.end]!r})",
                    description="Choose an encoding that can (utf-8 can encode everything).",
                    item_index=index,
                ) from err
            buffer.seek(0)
            buffer.truncate()

        if params.header_row:
            writer.writerow(columns)
            flush(0)
        for index, item in enumerate(items):
            writer.writerow([text_cell(item.json.get(column)) for column in columns])
            flush(index)
        reference = ctx.store_binary(b"".join(chunks), file_name=params.file_name, mime_type="text/csv")
        return [Item({}, binary={params.binary_property: reference}, paired_item=0)]
