"""What the file nodes share: an item's binary property, dotted JSON fields, table columns, MIME types."""

from __future__ import annotations

import codecs
import json
import mimetypes
from collections.abc import Iterable, Mapping
from typing import Any

from nodes.sdk import Context, Item, NodeError

MISSING: Any = object()
"""Returned by :func:`get_field` for a field the item does not have (``None`` is a value)."""


def read_input(ctx: Context, item: Item, prop: str, index: int) -> tuple[bytes, Mapping[str, Any]]:
    """The bytes of ``item``'s binary property ``prop`` and its reference.

    Raises:
        NodeError: The item has no such property, or the file store lost the file; names the item.
    """
    reference = item.binary.get(prop)
    if reference is None:
        present = ", ".join(repr(name) for name in sorted(item.binary)) or "none"
        raise NodeError(
            f"item {index} has no binary property {prop!r} (its binary properties: {present})",
            description="Set 'Binary property' to the property holding the file, or load the file earlier.",
            item_index=index,
        )
    try:
        return ctx.read_binary(reference), reference
    except NodeError as err:
        raise NodeError(err.message, description=err.description, item_index=index) from err


def file_label(reference: Mapping[str, Any], prop: str) -> str:
    """How an error message names a file: its file name, else its property."""
    return repr(str(reference.get("file_name") or prop))


def known_encoding(value: str) -> str:
    """Validator body for an encoding parameter: ``value`` must name a codec Python knows."""
    try:
        codecs.lookup(value)
    except LookupError as err:
        raise ValueError(f"unknown encoding {value!r}") from err
    return value


def decode_text(data: bytes, encoding: str, label: str, index: int) -> str:
    """``data`` as text; a UTF-8 byte-order mark (Excel writes one) is dropped.

    Raises:
        NodeError: The bytes are not text in ``encoding``; names the item.
    """
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise NodeError(
            f"{label} is not {encoding} text (byte {err.start})",
            description="Set the Encoding option to the file's encoding (latin-1, cp1252...).",
            item_index=index,
        ) from err


def get_field(data: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``a.b.c`` in ``data`` (a key containing the dots wins), or :data:`MISSING`."""
    if dotted in data:
        return data[dotted]
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def table_columns(items: Iterable[Item]) -> list[str]:
    """Every top-level key of the items' JSON, in order of first appearance."""
    return list(dict.fromkeys(key for item in items for key in item.json))


def text_cell(value: Any) -> str:
    """A JSON value as table text: ``None`` empty, booleans as ``true``/``false``, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def guess_mime_type(file_name: str) -> str:
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"


def unique_names(names: Iterable[Any]) -> list[str]:
    """Header cells as field names: blanks become ``column_N``, repeats get ``_2``, ``_3``..."""
    used: set[str] = set()
    result: list[str] = []
    for position, raw in enumerate(names, start=1):
        base = (str(raw).strip() if raw is not None else "") or f"column_{position}"
        name, count = base, 1
        while name in used:
            count += 1
            name = f"{base}_{count}"
        used.add(name)
        result.append(name)
    return result
