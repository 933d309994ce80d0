"""``ui_schema``: the JSON Schema of the approver's form, and checking what approvers send back."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator, SchemaError


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` is not a usable form schema, or ``None`` when it is."""
    if not schema:
        return None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(part) for part in err.path) or "the schema"
        return f"{where}: {err.message}"
    if schema.get("type", "object") != "object":
        return 'the form schema must describe an object ("type": "object")'
    return None


def response_problems(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """Field path → what is wrong, for ``data`` submitted against ``schema`` (empty when valid)."""
    if not schema:
        return {}
    validator = Draft202012Validator(schema)
    problems: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        field = ".".join(str(part) for part in error.absolute_path)
        if not field and error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else "response_data"
            field = missing
        problems.setdefault(field or "response_data", error.message)
    return problems
