"""Between Notion's property JSON and plain values: building properties from simple ones, and simplifying pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.sdk import param

TEXT_CHUNK = 2000
"""Notion takes at most 2,000 characters per rich-text object."""
PropertyType = Literal[
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "people",
    "relation",
]
TRUE = {"true", "yes", "1", "on", "checked"}
FALSE = {"false", "no", "0", "off", "unchecked", ""}


class SimpleProperty(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Property", description="The property's name, as in the database.", min_length=1)
    type: PropertyType = param("rich_text", title="Type", description="The property's type in the database.")
    value: Any = param(
        None,
        title="Value",
        description="Text; a number; true/false; a date (2024-05-01 or {start, end}); names or ids as a list or "
        "separated by commas.",
    )


def rich_text(text: str) -> list[dict[str, Any]]:
    """Text as Notion rich-text objects, split where Notion's length limit requires."""
    chunks = [text[start : start + TEXT_CHUNK] for start in range(0, len(text), TEXT_CHUNK)]
    return [{"type": "text", "text": {"content": chunk}} for chunk in chunks]


def plain_text(parts: Any) -> str:
    """The text of a list of rich-text objects."""
    if not isinstance(parts, list):
        return ""
    return "".join(
        str(part.get("plain_text") or (part.get("text") or {}).get("content") or "")
        for part in parts
        if isinstance(part, dict)
    )


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list | tuple):
        return [str(entry.get("id") or entry.get("name")) if isinstance(entry, dict) else str(entry) for entry in value]
    return [str(value)]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def property_value(kind: str, value: Any) -> dict[str, Any]:
    """Notion's JSON for a property of type ``kind`` set to a simple value.

    Raises:
        ValueError: The value does not fit the type, saying what would.
    """
    match kind:
        case "title" | "rich_text":
            return {kind: rich_text(_text(value))}
        case "number":
            if value is None or value == "":
                return {"number": None}
            if isinstance(value, bool):
                raise ValueError("a number property needs a number, not true/false")
            if isinstance(value, int | float):
                return {"number": value}
            try:
                number = float(str(value).strip())
            except ValueError as err:
                raise ValueError(f"{value!r} is not a number") from err
            return {"number": int(number) if number.is_integer() and "." not in str(value) else number}
        case "select" | "status":
            name = _text(value).strip()
            return {kind: {"name": name} if name else None}
        case "multi_select":
            return {"multi_select": [{"name": name} for name in _names(value)]}
        case "date":
            if value is None or value == "":
                return {"date": None}
            if isinstance(value, Mapping):
                if not value.get("start"):
                    raise ValueError("a date needs a start, e.g. {'start': '2024-05-01'}")
                return {"date": {key: value[key] for key in ("start", "end", "time_zone") if value.get(key)}}
            return {"date": {"start": _text(value).strip()}}
        case "checkbox":
            if isinstance(value, bool):
                return {"checkbox": value}
            text = _text(value).strip().lower()
            if text in TRUE or text in FALSE:
                return {"checkbox": text in TRUE}
            raise ValueError(f"{value!r} is not true or false")
        case "url" | "email" | "phone_number":
            text = _text(value).strip()
            return {kind: text or None}
        case "people":
            return {"people": [{"object": "user", "id": user} for user in _names(value)]}
        case "relation":
            return {"relation": [{"id": page} for page in _names(value)]}
    raise ValueError(f"the property type {kind!r} cannot be set from a simple value; use raw JSON")


def plain_value(prop: Mapping[str, Any]) -> Any:
    """A property of a page as a plain value: text, a number, names, ids, ``{start, end}``..."""
    kind = str(prop.get("type") or "")
    value = prop.get(kind)
    match kind:
        case "title" | "rich_text":
            return plain_text(value)
        case "select" | "status":
            return value.get("name") if isinstance(value, dict) else None
        case "multi_select":
            return [entry.get("name") for entry in value or []]
        case "date":
            return {"start": value.get("start"), "end": value.get("end")} if isinstance(value, dict) else None
        case "people":
            return [entry.get("id") for entry in value or []]
        case "relation":
            return [entry.get("id") for entry in value or []]
        case "created_by" | "last_edited_by":
            return value.get("id") if isinstance(value, dict) else None
        case "files":
            return [(entry.get(entry.get("type") or "") or {}).get("url") or entry.get("name") for entry in value or []]
        case "formula":
            return value.get(value.get("type") or "") if isinstance(value, dict) else None
        case "rollup":
            if not isinstance(value, dict):
                return None
            inner = value.get(value.get("type") or "")
            if isinstance(inner, list):
                return [plain_value(entry) for entry in inner if isinstance(entry, dict)]
            return inner
        case "unique_id":
            if not isinstance(value, dict):
                return None
            return f"{value['prefix']}-{value.get('number')}" if value.get("prefix") else value.get("number")
    return value


def simplify_page(page: Mapping[str, Any]) -> dict[str, Any]:
    """A page with its properties as plain values by name, and only the fields people use."""
    properties = page.get("properties") or {}
    return {
        "id": page.get("id"),
        "url": page.get("url"),
        "created_time": page.get("created_time"),
        "last_edited_time": page.get("last_edited_time"),
        "archived": page.get("archived", False),
        "properties": {name: plain_value(prop) for name, prop in properties.items() if isinstance(prop, Mapping)},
    }
