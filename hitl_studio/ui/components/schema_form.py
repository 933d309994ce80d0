"""The approver's form, rendered from a request's ``ui_schema`` (a JSON Schema object).

The studio reads a schema exactly as the email/SMS link page does
(:mod:`hitl_studio.approvals.form_render`): the same kind of control per
property, the same prefill from the request's ``action_data``, and the same
:func:`~hitl_studio.approvals.form_render.parse_form` to turn what was typed
back into typed values. Checking those values against the schema stays with
the approvals service (jsonschema), whose field errors are shown on the fields.

The form's values live in three state dicts keyed by property: text for
every control that holds text (numbers, dates, selects and JSON included),
flags for booleans, choices for multi-selects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from hitl_studio.approvals import form_render

# The link page's own readings of a property; one classification for every way an approver answers.
from hitl_studio.approvals.form_render import (
    array_choices,
    enum_choices,
    field_kind,
    field_label,
    option_text,
    value_text,
)
from hitl_studio.ui.components.layout import form_field

NO_CHOICE = "__none__"
"""The select item that clears an optional select (Radix items cannot have an empty value)."""


@dataclass
class FormField:
    """One property of the form, as the page renders it."""

    key: str
    label: str
    kind: str
    """``text``, ``textarea``, ``number``, ``integer``, ``date``, ``select``, ``multiselect``, ``boolean``, ``json``."""
    required: bool = False
    help: str = ""
    options: list[str] = field(default_factory=list)
    test_id: str = ""


@dataclass
class FormValues:
    """What the controls hold: text per text-like field, a flag per boolean, the chosen options per multi-select."""

    text: dict[str, str] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)


def _studio_kind(prop: Mapping[str, Any]) -> str:
    kind = field_kind(prop)
    if kind == "checkboxes":
        return "multiselect"
    if kind == "text" and prop.get("format") == "date":
        return "date"
    return kind


def form_fields(schema: Mapping[str, Any] | None) -> list[FormField]:
    """The schema's top-level properties as fields, in display order (none when there is no form)."""
    required = set((schema or {}).get("required") or [])
    fields = []
    for key, prop in form_render.properties(schema).items():
        kind = _studio_kind(prop)
        if kind == "select":
            options = [option_text(option) for option in enum_choices(prop) or []]
        elif kind == "multiselect":
            options = list(array_choices(prop) or [])
        else:
            options = []
        description = prop.get("description")
        help_text = description if isinstance(description, str) else ""
        if kind == "json" and not help_text:
            help_text = "Enter JSON."
        fields.append(
            FormField(
                key=key,
                label=field_label(key, prop) + (" *" if key in required else ""),
                kind=kind,
                required=key in required,
                help=help_text,
                options=options,
                test_id="form-field-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "x"),
            )
        )
    return fields


def initial_values(schema: Mapping[str, Any] | None, action_data: Mapping[str, Any] | None) -> FormValues:
    """The controls' first values: the request's ``action_data`` where keys match, else each default."""
    typed = form_render.initial_values(schema, action_data)
    values = FormValues()
    for form_field_ in form_fields(schema):
        key = form_field_.key
        value = typed.get(key)
        if form_field_.kind == "boolean":
            values.flags[key] = value is True
        elif form_field_.kind == "multiselect":
            values.choices[key] = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        elif key not in typed:
            values.text[key] = ""
        elif form_field_.kind == "json":
            values.text[key] = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        elif form_field_.kind == "select":
            values.text[key] = option_text(value)
        else:
            values.text[key] = value_text(value)
    return values


def read_values(schema: Mapping[str, Any] | None, values: FormValues) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed data from the controls, and property → message for what could not be read (as the link page does)."""
    submitted: dict[str, Any] = {}
    for form_field_ in form_fields(schema):
        name = form_render.field_name(form_field_.key)
        if form_field_.kind == "boolean":
            if values.flags.get(form_field_.key):
                submitted[name] = "true"
        elif form_field_.kind == "multiselect":
            submitted[name] = list(values.choices.get(form_field_.key, []))
        else:
            submitted[name] = values.text.get(form_field_.key, "")
    return form_render.parse_form(schema, submitted)


def errors_by_field(schema: Mapping[str, Any] | None, errors: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Every field's error ("" when none), and the errors that belong to no single field."""
    by_field, general = form_render.field_errors(schema, errors)
    return {item.key: by_field.get(item.key, "") for item in form_fields(schema)}, general


TextHandler = Callable[[rx.Var, rx.Var], Any]
FlagHandler = Callable[[rx.Var, rx.Var], Any]
ChoiceHandler = Callable[[rx.Var, rx.Var, rx.Var], Any]


def _entry(mapping: rx.Var, key: rx.Var, default: str, var_type: Any) -> rx.Var:
    """``mapping[key]``, or the JS ``default`` while the state has no entry (before it loads, say)."""
    return rx.Var(
        _js_expr=f"(({mapping._js_expr})?.[{key._js_expr}] ?? {default})",
        _var_type=var_type,
        _var_data=rx.vars.VarData.merge(mapping._get_all_var_data(), key._get_all_var_data()),
    ).guess_type()


def _control(
    item: rx.Var,
    values: tuple[rx.Var, rx.Var, rx.Var],
    handlers: tuple[TextHandler, FlagHandler, ChoiceHandler],
    disabled: rx.Var[bool] | bool,
) -> rx.Component:
    text, flags, choices = values
    on_text, on_flag, on_choice = handlers
    value = _entry(text, item.key, "''", str)
    typed = {"width": "100%", "disabled": disabled, "data_testid": item.test_id}
    return rx.match(
        item.kind,
        (
            "boolean",
            rx.switch(
                checked=_entry(flags, item.key, "false", bool),
                on_change=lambda checked: on_flag(item.key, checked),
                disabled=disabled,
                data_testid=item.test_id,
            ),
        ),
        (
            "multiselect",
            rx.flex(
                rx.foreach(
                    item.options.to(list[str]),
                    lambda option: rx.checkbox(
                        option,
                        checked=_entry(choices, item.key, "[]", list[str]).contains(option),
                        on_change=lambda checked: on_choice(item.key, option, checked),
                        disabled=disabled,
                    ),
                ),
                wrap="wrap",
                spacing="4",
                data_testid=item.test_id,
            ),
        ),
        (
            "select",
            rx.select.root(
                rx.select.trigger(placeholder="Choose…", width="100%", data_testid=item.test_id),
                rx.select.content(
                    rx.cond(item.required, rx.fragment(), rx.select.item("(none)", value=NO_CHOICE)),
                    rx.foreach(item.options.to(list[str]), lambda option: rx.select.item(option, value=option)),
                ),
                value=value,
                on_change=lambda chosen: on_text(item.key, chosen),
                disabled=disabled,
            ),
        ),
        ("textarea", rx.text_area(value=value, on_change=lambda v: on_text(item.key, v), rows="4", **typed)),
        (
            "json",
            rx.text_area(
                value=value,
                on_change=lambda v: on_text(item.key, v),
                rows="6",
                font_family="var(--code-font-family)",
                spell_check=False,
                **typed,
            ),
        ),
        ("number", rx.input(value=value, on_change=lambda v: on_text(item.key, v), type="number", step="any", **typed)),
        ("integer", rx.input(value=value, on_change=lambda v: on_text(item.key, v), type="number", step="1", **typed)),
        ("date", rx.input(value=value, on_change=lambda v: on_text(item.key, v), type="date", **typed)),
        rx.input(value=value, on_change=lambda v: on_text(item.key, v), **typed),
    )


def schema_form(
    fields: rx.Var[list[FormField]],
    values: tuple[rx.Var[dict[str, str]], rx.Var[dict[str, bool]], rx.Var[dict[str, list[str]]]],
    errors: rx.Var[dict[str, str]],
    *,
    on_text: TextHandler,
    on_flag: FlagHandler,
    on_choice: ChoiceHandler,
    disabled: rx.Var[bool] | bool = False,
) -> rx.Component:
    """The form's controls, each with its label, help and error (a red outline when it has one).

    Args:
        fields: From :func:`form_fields`.
        values: The state's (text, flags, choices) dicts, as in :class:`FormValues`.
        errors: Property → message, with every property present (see :func:`errors_by_field`).
        on_text: ``(key, text)``: a text-like control changed (a select sends :data:`NO_CHOICE` to clear).
        on_flag: ``(key, checked)``: a boolean changed.
        on_choice: ``(key, option, checked)``: an option of a multi-select was ticked or unticked.
        disabled: Show the values without letting them change.
    """
    return rx.vstack(
        rx.foreach(
            fields,
            lambda item: rx.box(
                form_field(
                    item.label,
                    _control(item, values, (on_text, on_flag, on_choice), disabled),
                    _entry(errors, item.key, "''", str),
                ),
                rx.cond(item.help != "", rx.text(item.help, size="1", color_scheme="gray"), rx.fragment()),
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )
