"""Google Sheets: read a sheet's rows as items, append items as rows, update rows by a key column, clear a range."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.files._common import unique_names
from nodes.google._api import execute
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

SPREADSHEET_URL = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
WRITES = ("append", "update")


def column_letter(number: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(value: Any) -> Any:
    """A JSON value as a cell: numbers and booleans stay typed, objects become JSON text, null empty."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


class SheetsParameters(Parameters):
    operation: Literal["read", "append", "update", "clear"] = param(
        "read",
        title="Operation",
        description="read: one item per row; append items as rows; update the rows whose key column matches; "
        "clear a range.",
        no_expressions=True,
    )
    spreadsheet: str = param(
        title="Spreadsheet",
        description="Its id or its URL. Share it with the service account's client_email.",
        placeholder="https://docs.google.com/spreadsheets/d/1AbC.../edit",
        min_length=1,
    )
    sheet: str = param("Sheet1", title="Sheet", description="The tab's name.", min_length=1)
    range: str = param(
        "",
        title="Range",
        description="Cells in A1 notation, e.g. A1:D100; empty: the whole sheet.",
        show_if={"operation": ["read", "clear"]},
    )
    header_row: bool = param(
        True,
        title="First row holds the field names",
        description="Otherwise fields are named after the columns: A, B, C...",
        show_if={"operation": ["read"]},
    )
    values_as: Literal["formatted", "unformatted"] = param(
        "formatted",
        title="Read values",
        description="formatted: as shown (text); unformatted: numbers and booleans as such.",
        show_if={"operation": ["read"]},
        advanced=True,
        no_expressions=True,
    )
    columns: list[str] = param(
        default_factory=list,
        title="Fields to write",
        description="Empty: every field the sheet's header row names (a new sheet gets the items' fields as its "
        "header).",
        show_if={"operation": WRITES},
        no_expressions=True,
    )
    key_column: str = param(
        "",
        title="Match on column",
        description="Rows whose cell in this column equals the item's field of the same name are updated.",
        show_if={"operation": ["update"]},
    )
    append_missing: bool = param(
        False,
        title="Append items that match no row",
        show_if={"operation": ["update"]},
    )
    value_input: Literal["USER_ENTERED", "RAW"] = param(
        "USER_ENTERED",
        title="Write values",
        description="USER_ENTERED: as if typed (formulas and dates are parsed); RAW: exactly as given.",
        show_if={"operation": WRITES},
        advanced=True,
        no_expressions=True,
    )

    @field_validator("spreadsheet")
    @classmethod
    def _spreadsheet_id(cls, value: str) -> str:
        match = SPREADSHEET_URL.search(value)
        value = match.group(1) if match else value.strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError("give the spreadsheet's id or its docs.google.com URL")
        return value

    @model_validator(mode="after")
    def _needs(self) -> SheetsParameters:
        if self.operation == "update" and not self.key_column.strip():
            raise ValueError("update needs the column to match on")
        return self

    def a1(self, cells: str = "") -> str:
        """``'Sheet'!cells``: a quoted sheet name is valid whatever characters it holds."""
        quoted = "'" + self.sheet.replace("'", "''") + "'"
        return f"{quoted}!{cells}" if cells else quoted


class SheetsNode(Node):
    type = "google.sheets"
    display_name = "Google Sheets"
    category = Category.INTEGRATION
    description = (
        "Reads rows of a Google Sheet as items, appends items as rows, updates matching rows, or clears cells."
    )
    icon = "sheet"
    Parameters = SheetsParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "sheets", "v4")
        sheets = _Sheets(service.spreadsheets().values(), fields)
        first: SheetsParameters = ctx.params(0)
        if first.operation in WRITES:
            # One request per spreadsheet tab for all items: Sheets allows only about 60 writes a minute.
            groups: dict[tuple[str, str], list[tuple[int, SheetsParameters]]] = {}
            for index in range(len(items)):
                params: SheetsParameters = ctx.params(index)
                groups.setdefault((params.spreadsheet, params.sheet), []).append((index, params))
            for group in groups.values():
                sheets.write(group, items)
            return [[Item(item.json, item.binary, index) for index, item in enumerate(items)]]
        produced: list[Item] = []
        for index in range(len(items)):
            params = ctx.params(index)
            if params.operation == "read":
                produced.extend(Item(row, paired_item=index) for row in sheets.read(params, index))
            else:
                cleared = sheets.clear(params, index)
                produced.append(Item({"spreadsheet": params.spreadsheet, "cleared_range": cleared}, paired_item=index))
        return [produced]


class _Sheets:
    """The Sheets values API for one node run."""

    def __init__(self, values: Any, fields: GoogleServiceAccountFields) -> None:
        self.values = values
        self.fields = fields

    def _get(
        self, params: SheetsParameters, cells: str, index: int, render: str = "FORMATTED_VALUE"
    ) -> list[list[Any]]:
        request = self.values.get(spreadsheetId=params.spreadsheet, range=params.a1(cells), valueRenderOption=render)
        answer = execute(request, self.fields, f"reading {params.a1(cells)}", index)
        return list(answer.get("values") or [])

    def read(self, params: SheetsParameters, index: int) -> list[dict[str, Any]]:
        render = "UNFORMATTED_VALUE" if params.values_as == "unformatted" else "FORMATTED_VALUE"
        rows = self._get(params, params.range.strip(), index, render)
        first_row = _first_row(params.range.strip())
        if not rows:
            return []
        if params.header_row:
            names = unique_names(rows[0])
            body, first_row = rows[1:], first_row + 1
        else:
            width = max(len(row) for row in rows)
            names = [column_letter(_first_column(params.range.strip()) + offset) for offset in range(width)]
            body = rows
        result = []
        for number, row in enumerate(body, start=first_row):
            if not any(cell not in ("", None) for cell in row):
                continue
            padded = list(row) + [""] * (len(names) - len(row))
            result.append({**dict(zip(names, padded, strict=False)), "row_number": number})
        return result

    def clear(self, params: SheetsParameters, index: int) -> str:
        target = params.a1(params.range.strip())
        request = self.values.clear(spreadsheetId=params.spreadsheet, range=target, body={})
        answer = execute(request, self.fields, f"clearing {target}", index)
        return str(answer.get("clearedRange") or target)

    def write(self, group: list[tuple[int, SheetsParameters]], items: list[Item]) -> None:
        index, params = group[0]
        header = [str(name) for name in (self._get(params, "1:1", index) or [[]])[0]]
        if not header:
            header = list(params.columns) or list(dict.fromkeys(key for i, _ in group for key in items[i].json))
            request = self.values.update(
                spreadsheetId=params.spreadsheet,
                range=params.a1("A1"),
                valueInputOption="RAW",
                body={"values": [header]},
            )
            execute(request, self.fields, f"writing the header row of {params.a1()}", index)
        wanted = set(params.columns) if params.columns else set(header)
        columns = [name if name in wanted else None for name in header]
        if params.operation == "append":
            self._append(params, [(i, items[i]) for i, _ in group], columns, index)
        else:
            self._update(params, [(i, items[i]) for i, _ in group], header, columns)

    def _row(self, item: Item, columns: list[str | None]) -> list[Any]:
        return [_cell(item.json.get(name)) if name is not None and name in item.json else "" for name in columns]

    def _append(
        self, params: SheetsParameters, rows: list[tuple[int, Item]], columns: list[str | None], index: int
    ) -> None:
        if not rows:
            return
        request = self.values.append(
            spreadsheetId=params.spreadsheet,
            range=params.a1("A1"),
            valueInputOption=params.value_input,
            insertDataOption="INSERT_ROWS",
            body={"values": [self._row(item, columns) for _, item in rows]},
        )
        execute(request, self.fields, f"appending {len(rows)} rows to {params.a1()}", index)

    def _update(
        self, params: SheetsParameters, rows: list[tuple[int, Item]], header: list[str], columns: list[str | None]
    ) -> None:
        first_index = rows[0][0]
        key = params.key_column.strip()
        if key not in header:
            raise NodeError(
                f"item {first_index}: the sheet {params.sheet!r} has no column {key!r} (its columns: "
                f"{', '.join(repr(name) for name in header)})",
                description="Set 'Match on column' to a name of the sheet's header row.",
                item_index=first_index,
            )
        key_position = header.index(key)
        table = self._get(params, "", first_index)
        positions: dict[str, list[int]] = {}
        for number, row in enumerate(table[1:], start=2):
            if key_position < len(row):
                positions.setdefault(str(row[key_position]), []).append(number)
        data: list[dict[str, Any]] = []
        missing: list[tuple[int, Item]] = []
        for index, item in rows:
            if key not in item.json:
                raise NodeError(
                    f"item {index} has no field {key!r} to match rows on",
                    description="Give every item the match column's field.",
                    item_index=index,
                )
            matches = positions.get(str(_cell(item.json[key])), [])
            if not matches:
                missing.append((index, item))
            for number in matches:
                data.extend(_changed_cells(params, item, columns, number))
        if data:
            request = self.values.batchUpdate(
                spreadsheetId=params.spreadsheet, body={"valueInputOption": params.value_input, "data": data}
            )
            execute(request, self.fields, f"updating rows of {params.a1()}", first_index)
        if missing and params.append_missing:
            self._append(params, missing, columns, missing[0][0])


def _changed_cells(
    params: SheetsParameters, item: Item, columns: list[str | None], number: int
) -> Iterable[dict[str, Any]]:
    """One range per cell the item has a field for, so other cells of the row keep their values."""
    for position, name in enumerate(columns, start=1):
        if name is not None and name in item.json:
            cell = f"{column_letter(position)}{number}"
            yield {"range": params.a1(cell), "values": [[_cell(item.json[name])]]}


def _first_row(cells: str) -> int:
    match = re.match(r"^[A-Za-z]*(\d+)", cells)
    return int(match.group(1)) if match else 1


def _first_column(cells: str) -> int:
    match = re.match(r"^([A-Za-z]+)", cells)
    number = 0
    for letter in match.group(1).upper() if match else "A":
        number = number * 26 + ord(letter) - 64
    return number
