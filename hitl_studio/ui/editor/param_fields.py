"""The config panel's form, derived from a node's parameter JSON schema, and the values it sends back.

A node declares a pydantic ``Parameters`` model (see :func:`nodes.sdk.param`);
its JSON schema carries the UI hints (``widget``, ``show_if``, ``advanced``,
``placeholder``, ``no_expressions``). This module turns schema + current
values into a flat list of field descriptions the Reflex panel renders with
one ``rx.foreach`` (lists of objects become ``collection`` fields whose rows
hold their own fields), and turns what a person typed back into JSON values,
with a message for the field when it can't.

Paths name a value inside the parameters: ``"title"``, ``"conditions.0.left"``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]
LIST_SEPARATORS = ("\n", ",")
MAX_COLLECTION_DEPTH = 2
"""Collections nested deeper than this are edited as JSON (the panel's controls are built two levels deep)."""


class FieldValueError(ValueError):
    """What was typed can't be the field's value; the message is shown under the field."""


def resolve(schema: Schema, root: Schema) -> Schema:
    """Follow ``$ref`` and unwrap ``anyOf [X, null]`` (an optional X)."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        merged = {**root.get("$defs", {}).get(name, {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        return resolve(merged, root)
    options = [option for option in schema.get("anyOf", []) if option.get("type") != "null"]
    if len(options) == 1 and "type" not in schema:
        merged = {**resolve(options[0], root), **{k: v for k, v in schema.items() if k != "anyOf"}}
        merged["nullable"] = True
        return merged
    return schema


def widget_for(schema: Schema, root: Schema) -> str:
    """The control that edits a value of this schema."""
    schema = resolve(schema, root)
    if schema.get("widget"):
        return str(schema["widget"])
    kind = schema.get("type")
    if "enum" in schema:
        return "options"
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        items = resolve(schema.get("items", {}), root)
        if "enum" in items:
            return "multi_options"
        if items.get("type") == "object" and items.get("properties"):
            return "collection"
        if items.get("type") in ("string", "integer", "number"):
            return "string_list"
        return "json"
    if kind == "object":
        return "json"
    return "text"


def default_of(schema: Schema, root: Schema) -> Any:
    schema = resolve(schema, root)
    if "default" in schema:
        return schema["default"]
    return [] if schema.get("type") == "array" else None


def is_visible(schema: Schema, values: Mapping[str, Any], properties: Mapping[str, Schema], root: Schema) -> bool:
    """``show_if``: every named sibling must hold one of the listed values (its default if unset)."""
    for other, allowed in (schema.get("show_if") or {}).items():
        current = values.get(other, default_of(properties.get(other, {}), root))
        if current not in allowed:
            return False
    return True


def display_text(value: Any, widget: str) -> str:
    """How ``value`` reads in a text control of kind ``widget``."""
    if value is None:
        return ""
    if widget == "string_list" and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if widget == "json" or isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(
    path: str,
    name: str,
    schema: Schema,
    root: Schema,
    values: Mapping[str, Any],
    *,
    required: bool,
    errors: Mapping[str, str],
    drafts: Mapping[str, str],
    depth: int,
) -> dict[str, Any]:
    resolved = resolve(schema, root)
    widget = widget_for(schema, root)
    if widget == "collection" and depth >= MAX_COLLECTION_DEPTH:
        widget = "json"
    value = values.get(name, default_of(schema, root))
    expression = isinstance(value, str) and "{{" in value
    expressions_allowed = not resolved.get("no_expressions") and widget != "code"
    items = resolve(resolved.get("items", {}), root)
    options = [str(option) for option in resolved.get("enum") or items.get("enum") or []]
    field: dict[str, Any] = {
        "path": path,
        "name": name,
        "title": resolved.get("title") or name.replace("_", " ").capitalize(),
        "description": resolved.get("description", ""),
        "placeholder": str(resolved.get("placeholder", "")),
        "widget": "expression" if expression and expressions_allowed else widget,
        "base_widget": widget,
        "options": options,
        "required": required,
        "advanced": bool(resolved.get("advanced")),
        "expressions_allowed": expressions_allowed,
        "expression": expression,
        "text": drafts.get(path, display_text(value, widget)),
        "checked": value is True,
        "selected": [str(item) for item in value] if isinstance(value, list) else [],
        "error": errors.get(path, ""),
        "depth": depth,
        "rows": [],
    }
    if widget == "collection" and not expression:
        row_schema = items
        rows = value if isinstance(value, list) else []
        field["rows"] = [
            {
                "index": index,
                "path": f"{path}.{index}",
                "fields": form_fields(
                    row_schema,
                    row if isinstance(row, Mapping) else {},
                    root=root,
                    prefix=f"{path}.{index}.",
                    errors=errors,
                    drafts=drafts,
                    depth=depth + 1,
                ),
            }
            for index, row in enumerate(rows)
        ]
    return field


def form_fields(
    schema: Schema,
    values: Mapping[str, Any],
    *,
    root: Schema | None = None,
    prefix: str = "",
    errors: Mapping[str, str] | None = None,
    drafts: Mapping[str, str] | None = None,
    depth: int = 0,
) -> list[dict[str, Any]]:
    """The visible fields of an object schema with ``values``, in declaration order."""
    root = root or schema
    schema = resolve(schema, root)
    properties: Mapping[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", []))
    return [
        _field(
            f"{prefix}{name}",
            name,
            prop,
            root,
            values,
            required=name in required,
            errors=errors or {},
            drafts=drafts or {},
            depth=depth,
        )
        for name, prop in properties.items()
        if is_visible(resolve(prop, root), values, properties, root)
    ]


def schema_at(schema: Schema, path: str) -> Schema:
    """The schema of the value at ``path`` (indexes step into array items)."""
    root = schema
    current: Schema = schema
    for part in path.split("."):
        current = resolve(current, root)
        current = current.get("items", {}) if part.isdigit() else current.get("properties", {}).get(part, {})
    return current


def parse_text(text: str, schema: Schema, root: Schema) -> Any:
    """The value a person means by ``text`` in a control for ``schema``.

    Raises:
        FieldValueError: With a message for the field.
    """
    resolved = resolve(schema, root)
    widget = widget_for(schema, root)
    stripped = text.strip()
    if "{{" in text and not resolved.get("no_expressions"):
        return text
    if widget == "number":
        if stripped == "":
            if resolved.get("nullable") or "default" in resolved:
                return resolved.get("default")
            raise FieldValueError("Enter a number.")
        try:
            number = float(stripped)
        except ValueError as err:
            raise FieldValueError(f"{stripped!r} is not a number.") from err
        if resolved.get("type") == "integer":
            if not number.is_integer():
                raise FieldValueError("Enter a whole number.")
            return int(number)
        return int(number) if number.is_integer() and "." not in stripped else number
    if widget in ("json", "collection"):
        if stripped == "":
            return default_of(schema, root)
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise FieldValueError(f"Not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}).") from err
    if widget == "string_list":
        parts = [text]
        for separator in LIST_SEPARATORS:
            parts = [piece for part in parts for piece in part.split(separator)]
        return [piece.strip() for piece in parts if piece.strip()]
    return text


def get_path(values: Any, path: str) -> Any:
    current = values
    for part in path.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, Mapping):
            current = current.get(part)
        else:
            return None
    return current


def set_path(values: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``values`` with ``value`` at ``path`` (lists and dicts along the way are copied)."""
    result = json.loads(json.dumps(values))
    parts = path.split(".")
    current: Any = result
    for part, following in itertools.pairwise(parts):
        if isinstance(current, list):
            current = current[int(part)]
        else:
            if not isinstance(current.get(part), dict | list):
                current[part] = [] if following.isdigit() else {}
            current = current[part]
    last = parts[-1]
    if isinstance(current, list):
        current[int(last)] = value
    else:
        current[last] = value
    return result


def add_row(values: dict[str, Any], path: str, schema: Schema) -> dict[str, Any]:
    """Append a row with its fields' defaults to the collection at ``path``."""
    row_schema = resolve(resolve(schema_at(schema, path), schema).get("items", {}), schema)
    row = {
        name: default_of(prop, schema)
        for name, prop in row_schema.get("properties", {}).items()
        if default_of(prop, schema) is not None
    }
    rows = list(get_path(values, path) or [])
    return set_path(values, path, [*rows, row])


def remove_row(values: dict[str, Any], path: str) -> dict[str, Any]:
    """Remove the row at ``path`` (``"conditions.1"``)."""
    collection, _, index = path.rpartition(".")
    rows = list(get_path(values, collection) or [])
    if index.isdigit() and int(index) < len(rows):
        del rows[int(index)]
    return set_path(values, collection, rows)
