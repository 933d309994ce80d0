"""An HTML form for a ``ui_schema`` (the approver's "approve with edits"), and reading it back.

:func:`render_fields` turns the top-level properties of a JSON Schema object into
labelled form controls, prefilled (see :func:`initial_values`) or showing what
was submitted, with each field's error next to it. :func:`parse_form` turns the
submitted strings back into typed values: numbers, booleans (an unchecked
checkbox is ``False``), lists from checkbox groups, JSON from the JSON textarea.
Checking the result against the schema stays with
:func:`hitl_studio.approvals.forms.response_problems`.

Controls are named ``field.<key>`` so a property called ``decision`` or
``feedback`` cannot clash with the page's own fields. Everything from the
schema or the data is HTML-escaped.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

FIELD_PREFIX = "field."
TEXTAREA_OVER = 200
REQUIRED = "This field is required."

# Appended to the page's stylesheet by the pages that show a form.
FORM_STYLE = (
    ".field{margin:1rem 0}.field label,.field legend{font-weight:600}"
    ".field input[type=text],.field input[type=email],.field input[type=url],.field input[type=number],"
    ".field input[type=date],.field select,.field textarea{display:block;width:100%;box-sizing:border-box;"
    "font:inherit;padding:.3rem}"
    ".field fieldset{border:0;padding:0;margin:0}.field .option{display:block;font-weight:normal}"
    ".help{color:#444;font-size:.9rem;margin:.2rem 0}"
    ".field-error{color:#b91c1c;font-weight:600;margin:.2rem 0}"
    ".field [aria-invalid=true]{border:2px solid #b91c1c}"
    ".errors{border:2px solid #b91c1c;padding:.5rem 1rem;margin:1rem 0}.errors a{color:#b91c1c}"
)

_e = html.escape
Submitted = Mapping[str, list[str]]


def field_name(key: str) -> str:
    """The form control name of property ``key``."""
    return FIELD_PREFIX + key


def properties(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The schema's top-level properties in display order (an empty dict when there is no form).

    Stored schemas may lose their key order (PostgreSQL's JSONB sorts keys), so an ``"x-order"`` list of
    property names, if given, comes first; the others follow in the order they are stored.
    """
    props = (schema or {}).get("properties")
    if not isinstance(props, Mapping):
        return {}
    shown = {str(key): dict(prop) if isinstance(prop, Mapping) else {} for key, prop in props.items()}
    order = (schema or {}).get("x-order")
    if not isinstance(order, list):
        return shown
    first = [str(key) for key in order if str(key) in shown]
    return {key: shown[key] for key in dict.fromkeys([*first, *shown])}


def has_fields(schema: Mapping[str, Any] | None) -> bool:
    """Whether ``schema`` asks the approver for anything."""
    return bool(properties(schema))


def initial_values(schema: Mapping[str, Any] | None, action_data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The prefill: the request's ``action_data`` where keys match a property, else the property's default.

    A workflow's Approval node sends ``{"items": [...]}``: its form shows the
    first item's fields (the approver's edits are merged into every item).
    """
    data = action_data or {}
    items = data.get("items")
    if isinstance(items, list) and items and isinstance(items[0], Mapping) and not set(data) - {"items"}:
        data = items[0]
    values: dict[str, Any] = {}
    for key, prop in properties(schema).items():
        if key in data:
            values[key] = data[key]
        elif "default" in prop:
            values[key] = prop["default"]
    return values


def submitted_items(items: Iterable[tuple[str, str]] | Mapping[str, Any]) -> dict[str, list[str]]:
    """Form pairs (or a mapping of name → value or values) as name → all submitted values."""
    pairs = items.items() if isinstance(items, Mapping) else items
    result: dict[str, list[str]] = {}
    for name, value in pairs:
        values = value if isinstance(value, list | tuple) else [value]
        result.setdefault(str(name), []).extend(str(item) for item in values)
    return result


# --- kinds of control ---------------------------------------------------------------------------------------------


def _types(prop: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The main JSON type of ``prop`` and whether ``null`` is allowed."""
    declared = prop.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    main = next((t for t in types if t != "null"), None)
    if main is None and "enum" in prop and prop["enum"]:
        main = "string" if all(isinstance(v, str) for v in prop["enum"]) else None
    return main, "null" in types


def enum_choices(prop: Mapping[str, Any]) -> list[Any] | None:
    enum = prop.get("enum")
    return list(enum) if isinstance(enum, list) and enum else None


def array_choices(prop: Mapping[str, Any]) -> list[str] | None:
    """The options of an array of enum strings (shown as checkboxes), else ``None``."""
    items = prop.get("items")
    if not isinstance(items, Mapping):
        return None
    enum = items.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        return list(enum)
    return None


def field_kind(prop: Mapping[str, Any]) -> str:
    main, _nullable = _types(prop)
    if enum_choices(prop) is not None and main in ("string", "number", "integer", None):
        return "select"
    if main == "string":
        long = isinstance(prop.get("maxLength"), int) and prop["maxLength"] > TEXTAREA_OVER
        return "textarea" if long or prop.get("x-widget") == "textarea" else "text"
    if main in ("number", "integer"):
        return main
    if main == "boolean":
        return "boolean"
    if main == "array" and array_choices(prop) is not None:
        return "checkboxes"
    return "json"


def option_text(value: Any) -> str:
    """How an enum value is shown and submitted (strings as themselves, anything else as JSON)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


# --- rendering -------------------------------------------------------------------------------------------------------


def field_ids(schema: Mapping[str, Any] | None) -> dict[str, str]:
    """Property → HTML id of its control: ``field-<key>``, with characters ids should not hold replaced."""
    ids: dict[str, str] = {}
    for key in properties(schema):
        base = "field-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "x")
        candidate, n = base, 2
        while candidate in ids.values():
            candidate, n = f"{base}-{n}", n + 1
        ids[key] = candidate
    return ids


def field_errors(
    schema: Mapping[str, Any] | None, errors: Mapping[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """Split ``errors`` (field path → message) into top-level property → message, and the rest.

    A nested path such as ``address.city`` or ``tags.1`` is shown at its top-level property, prefixed by
    the rest of the path.
    """
    keys = properties(schema)
    by_field: dict[str, str] = {}
    general: list[str] = []
    for path, message in (errors or {}).items():
        if path in keys:
            by_field[path] = f"{by_field[path]} {message}" if path in by_field else message
            continue
        owner = next((key for key in sorted(keys, key=len, reverse=True) if path.startswith(f"{key}.")), None)
        if owner is None:
            general.append(message if path in ("", "response_data") else f"{path}: {message}")
            continue
        text = f"{path[len(owner) + 1 :]}: {message}"
        by_field[owner] = f"{by_field[owner]} {text}" if owner in by_field else text
    return by_field, general


def render_fields(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any] | None = None,
    *,
    errors: Mapping[str, str] | None = None,
    submitted: Submitted | None = None,
) -> str:
    """HTML controls for the schema's properties (no ``<form>`` tag), with each error next to its field.

    ``values`` are typed values to prefill; when ``submitted`` (name → submitted strings, as from a form
    post) is given, the controls show exactly what was sent instead, so nothing typed is lost.
    """
    by_field, _general = field_errors(schema, errors)  # the rest is for error_summary
    required = set((schema or {}).get("required") or [])
    parts: list[str] = []
    ids = field_ids(schema)
    for key, prop in properties(schema).items():
        parts.append(
            _field(
                key,
                prop,
                ids[key],
                is_required=key in required,
                value=(values or {}).get(key),
                has_value=key in (values or {}),
                sent=None if submitted is None else submitted.get(field_name(key), []),
                error=by_field.get(key),
            )
        )
    return "".join(parts)


def error_summary(schema: Mapping[str, Any] | None, errors: Mapping[str, str] | None, *, note: str = "") -> str:
    """A list of the problems at the top of the page, each linking to its field, then ``note`` (empty if none)."""
    if not errors:
        return ""
    by_field, general = field_errors(schema, errors)
    ids = field_ids(schema)
    titles = {key: field_label(key, prop) for key, prop in properties(schema).items()}
    items = [
        f"<li><a href='#{ids[key]}'>{_e(titles[key])}</a>: {_e(message)}</li>" for key, message in by_field.items()
    ]
    items += [f"<li>{_e(message)}</li>" for message in general]
    return (
        "<div class='errors' role='alert' aria-labelledby='errors-title'>"
        "<h2 id='errors-title'>Please correct the form</h2>"
        f"<ul>{''.join(items)}</ul>{f'<p>{_e(note)}</p>' if note else ''}</div>"
    )


def field_label(key: str, prop: Mapping[str, Any]) -> str:
    title = prop.get("title")
    return title if isinstance(title, str) and title.strip() else key


def _field(
    key: str,
    prop: Mapping[str, Any],
    fid: str,
    *,
    is_required: bool,
    value: Any,
    has_value: bool,
    sent: list[str] | None,
    error: str | None,
) -> str:
    kind = field_kind(prop)
    name = _e(field_name(key))
    label = _e(field_label(key, prop))
    marker = " <abbr title='required' style='color:#b91c1c;text-decoration:none'>*</abbr>" if is_required else ""
    description = prop.get("description")
    help_text = description if isinstance(description, str) and description else None
    if kind == "json" and help_text is None:
        help_text = "Enter JSON."
    help_html = f"<p class='help' id='{fid}-help'>{_e(help_text)}</p>" if help_text else ""
    error_html = f"<p class='field-error' id='{fid}-error'>{_e(error)}</p>" if error else ""
    described = " ".join([*([f"{fid}-help"] if help_html else []), *([f"{fid}-error"] if error else [])])
    described_attr = f" aria-describedby='{described}'" if described else ""
    invalid = " aria-invalid='true'" if error else ""
    req = " required aria-required='true'" if is_required else ""

    if kind == "boolean":
        checked = any(v in ("true", "on") for v in sent) if sent is not None else value is True
        control = (
            f"<label for='{fid}'><input type='checkbox' id='{fid}' name='{name}' value='true'"
            f"{' checked' if checked else ''}{described_attr}{invalid}> {label}</label>{marker}"
        )
        return f"<div class='field'>{control}{help_html}{error_html}</div>"

    if kind == "checkboxes":
        if sent is not None:
            chosen = set(sent)
        else:
            chosen = {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()
        boxes = "".join(
            f"<label class='option' for='{fid}-{n}'><input type='checkbox' id='{fid}-{n}' name='{name}' "
            f"value='{_e(option)}'{' checked' if option in chosen else ''}{invalid}> {_e(option)}</label>"
            for n, option in enumerate(array_choices(prop) or [])
        )
        return (
            f"<div class='field'><fieldset id='{fid}'{described_attr}><legend>{label}{marker}</legend>"
            f"{help_html}{boxes}{error_html}</fieldset></div>"
        )

    if sent is not None:
        text = sent[0] if sent else ""
    elif not has_value:
        text = ""
    elif kind == "json":
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    else:
        text = value_text(value)
    aria = f"{req}{described_attr}{invalid}"
    if kind == "select":
        blank = "<option value=''>Choose…</option>" if not is_required or text == "" else ""
        opts = "".join(
            f"<option value='{_e(option_text(option))}'"
            f"{' selected' if option_text(option) == text else ''}>{_e(option_text(option))}</option>"
            for option in enum_choices(prop) or []
        )
        control = f"<select id='{fid}' name='{name}'{aria}>{blank}{opts}</select>"
    elif kind == "textarea":
        limit = prop.get("maxLength")
        extra = f" maxlength='{limit}'" if isinstance(limit, int) and not isinstance(limit, bool) else ""
        control = f"<textarea id='{fid}' name='{name}'{extra}{aria}>\n{_e(text)}</textarea>"
    elif kind == "json":
        extra = " spellcheck='false' style='font-family:monospace'"
        control = f"<textarea id='{fid}' name='{name}'{extra}{aria}>\n{_e(text)}</textarea>"
    else:
        control = f"<input id='{fid}' name='{name}' value='{_e(text)}'{_input_attrs(kind, prop)}{aria}>"
    return f"<div class='field'><label for='{fid}'>{label}{marker}</label>{help_html}{control}{error_html}</div>"


def _input_attrs(kind: str, prop: Mapping[str, Any]) -> str:
    if kind in ("number", "integer"):
        attrs = " type='number'"
        for html_name, schema_name in (("min", "minimum"), ("max", "maximum")):
            bound = prop.get(schema_name)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                attrs += f" {html_name}='{_e(value_text(bound))}'"
        step = prop.get("multipleOf")
        if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
            attrs += f" step='{_e(value_text(step))}'"
        else:
            attrs += " step='1'" if kind == "integer" else " step='any'"
        return attrs
    kinds = {"date": "date", "email": "email", "uri": "url"}
    attrs = f" type='{kinds.get(str(prop.get('format')), 'text')}'"
    limit = prop.get("maxLength")
    if isinstance(limit, int) and not isinstance(limit, bool):
        attrs += f" maxlength='{limit}'"
    return attrs


# --- parsing ---------------------------------------------------------------------------------------------------------


def parse_form(
    schema: Mapping[str, Any] | None, form_items: Iterable[tuple[str, str]] | Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed data from the submitted form, and field → message for what could not be read.

    Blank optional fields are left out; blank required ones are an error. An unchecked checkbox is
    ``False`` and an empty checkbox group ``[]``. Values are not checked against the schema here
    (use ``response_problems``), only converted.
    """
    submitted = submitted_items(form_items)
    required = set((schema or {}).get("required") or [])
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, prop in properties(schema).items():
        sent = submitted.get(field_name(key), [])
        kind = field_kind(prop)
        if kind == "boolean":
            data[key] = any(v.strip().lower() in ("true", "on", "1", "yes") for v in sent)
            continue
        if kind == "checkboxes":
            data[key] = list(dict.fromkeys(sent))
            continue
        raw = sent[0].replace("\r\n", "\n") if sent else ""
        if not raw.strip():
            _main, nullable = _types(prop)
            if key in required:
                if nullable:
                    data[key] = None
                else:
                    errors[key] = REQUIRED
            continue
        try:
            data[key] = _convert(kind, prop, raw)
        except ValueError as err:
            errors[key] = str(err)
    return data, errors


def _convert(kind: str, prop: Mapping[str, Any], raw: str) -> Any:
    if kind == "select":
        by_text = {option_text(option): option for option in enum_choices(prop) or []}
        if raw not in by_text:
            raise ValueError("Choose one of the listed options.")
        return by_text[raw]
    if kind in ("number", "integer"):
        return _number(raw.strip(), whole=kind == "integer")
    if kind == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as err:
            raise ValueError(f"Not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}).") from None
    return raw


def _number(text: str, *, whole: bool) -> int | float:
    if "_" in text:  # Python reads "1_000"; people mean something else
        raise ValueError("Enter a whole number." if whole else "Enter a number.")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise ValueError("Enter a whole number." if whole else "Enter a number.") from None
    if not math.isfinite(number):
        raise ValueError("Enter a finite number.")
    if number.is_integer():
        return int(number)
    if whole:
        raise ValueError("Enter a whole number.")
    return number
