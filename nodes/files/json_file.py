"""JSON File: read a JSON file into items, or write items into JSON files."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import field_validator

from nodes.files._common import decode_text, file_label, known_encoding, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

READ = {"operation": ["read"]}
WRITE = {"operation": ["write"]}


class JsonFileParameters(Parameters):
    operation: Literal["read", "write"] = param(
        "read",
        title="Operation",
        description="read: a JSON file becomes items (a list: one per element); write: items become a JSON file.",
        no_expressions=True,
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="read: the property holding the file; write: the property the file is put in.",
        min_length=1,
    )
    encoding: str = param("utf-8", title="Encoding", show_if=READ, advanced=True)
    mode: Literal["all_items", "each_item"] = param(
        "all_items",
        title="Mode",
        description="all_items: one file holding a list of every item's JSON; each_item: one file per item.",
        show_if=WRITE,
        no_expressions=True,
    )
    pretty: bool = param(False, title="Indent (pretty print)", show_if=WRITE)
    file_name: str = param("data.json", title="File name", show_if=WRITE, min_length=1)

    _encoding = field_validator("encoding")(known_encoding)


def _as_item_json(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


class JsonFileNode(Node):
    type = "files.json"
    display_name = "JSON File"
    category = Category.FILES
    description = "Reads a JSON file into items (one per element of a list), or writes items into a JSON file."
    icon = "file-json"
    Parameters = JsonFileParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: JsonFileParameters = ctx.params()
        if params.operation == "read":
            return [self._read(ctx, items)]
        if params.mode == "each_item":
            return [self._write_each(ctx, items)]
        return [self._write_all(ctx, items)] if items else [[]]

    @staticmethod
    def _read(ctx: Context, items: list[Item]) -> list[Item]:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: JsonFileParameters = ctx.params(index)
            data, reference = read_input(ctx, item, params.binary_property, index)
            label = file_label(reference, params.binary_property)
            text = decode_text(data, params.encoding, label, index)
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as err:
                raise NodeError(
                    f"{label} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}",
                    description="Check that the file is JSON (not JSON Lines or CSV) and is complete.",
                    item_index=index,
                ) from err
            except RecursionError as err:
                raise NodeError(f"{label} is nested too deeply to read", item_index=index) from err
            elements = parsed if isinstance(parsed, list) else [parsed]
            produced.extend(Item(_as_item_json(element), paired_item=index) for element in elements)
        return produced

    @staticmethod
    def _encode(value: Any, pretty: bool) -> bytes:
        # default=str: values built by expressions (dates) are written as text rather than failing the run.
        text = json.dumps(value, ensure_ascii=False, indent=2 if pretty else None, default=str)
        return (text + "\n").encode("utf-8")

    def _write_all(self, ctx: Context, items: list[Item]) -> list[Item]:
        params: JsonFileParameters = ctx.params(0)
        data = self._encode([item.json for item in items], params.pretty)
        reference = ctx.store_binary(data, file_name=params.file_name, mime_type="application/json")
        return [Item({}, binary={params.binary_property: reference}, paired_item=0)]

    def _write_each(self, ctx: Context, items: list[Item]) -> list[Item]:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: JsonFileParameters = ctx.params(index)
            data = self._encode(item.json, params.pretty)
            reference = ctx.store_binary(data, file_name=params.file_name, mime_type="application/json")
            produced.append(
                Item(dict(item.json), binary={**item.binary, params.binary_property: reference}, paired_item=index)
            )
        return produced
