"""The config panel's controls, one per widget kind, from the field list of ``ui.editor.param_fields``.

Text controls are uncontrolled and commit on blur (one state update per field
edit, not per keystroke); each is keyed by node id and path, so selecting
another node never shows the previous node's text. Collections (lists of
objects, e.g. IF conditions) render their rows with the same controls, two
levels deep; deeper structures are edited as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from hitl_studio.ui.components.layout import field_error
from hitl_studio.ui.state.editor import EditorState

Field = rx.Var[dict[str, Any]]
MONO = "var(--code-font-family)"


def _key(field: Field) -> rx.Var[str]:
    return EditorState.panel_node["id"].to(str) + ":" + field["path"].to(str)


def _testid(field: Field) -> rx.Var[str]:
    return "param-" + field["path"].to(str)


def _text_input(field: Field, *, mono: bool = False) -> rx.Component:
    return rx.input(
        default_value=field["text"].to(str),
        key=_key(field),
        placeholder=field["placeholder"].to(str),
        on_blur=EditorState.set_field_text(field["path"].to(str)),
        font_family=MONO if mono else None,
        width="100%",
        size="2",
        data_testid=_testid(field),
    )


def _text_area(field: Field, *, mono: bool = False, rows: str = "4") -> rx.Component:
    return rx.text_area(
        default_value=field["text"].to(str),
        key=_key(field),
        placeholder=field["placeholder"].to(str),
        on_blur=EditorState.set_field_text(field["path"].to(str)),
        font_family=MONO if mono else None,
        rows=rows,
        width="100%",
        size="2",
        data_testid=_testid(field),
    )


def _select(field: Field) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", data_testid=_testid(field)),
        rx.select.content(
            rx.foreach(field["options"].to(list[str]), lambda option: rx.select.item(option, value=option))
        ),
        value=field["text"].to(str),
        on_change=EditorState.set_field_value(field["path"].to(str)),
        size="2",
    )


def _multi(field: Field) -> rx.Component:
    path = field["path"].to(str)
    return rx.flex(
        rx.foreach(
            field["options"].to(list[str]),
            lambda option: rx.checkbox(
                option,
                checked=field["selected"].to(list[str]).contains(option),
                on_change=lambda checked: EditorState.toggle_option(path, option, checked),
                size="2",
                data_testid="param-" + path + "-" + option,
            ),
        ),
        wrap="wrap",
        gap="3",
    )


def _switch(field: Field) -> rx.Component:
    return rx.switch(
        checked=field["checked"].to(bool),
        on_change=EditorState.set_field_value(field["path"].to(str)),
        data_testid=_testid(field),
    )


def _expression(field: Field) -> rx.Component:
    preview = EditorState.previews[field["path"].to(str)].to(str)
    return rx.vstack(
        _text_input(field, mono=True),
        rx.cond(
            preview,
            rx.text(
                preview, size="1", color_scheme="gray", font_family=MONO, data_testid="preview-" + field["path"].to(str)
            ),
            rx.text("Run the workflow to preview this expression.", size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
    )


def _cron(field: Field) -> rx.Component:
    preview = EditorState.previews[field["path"].to(str)].to(str)
    return rx.vstack(
        _text_input(field, mono=True),
        rx.cond(
            preview,
            rx.text(preview, size="1", color_scheme="gray", data_testid="preview-" + field["path"].to(str)),
            rx.fragment(),
        ),
        spacing="1",
        width="100%",
    )


def _control(field: Field, nested: Callable[[Field], rx.Component] | None) -> rx.Component:
    widget = field["widget"].to(str)
    cases: list[tuple[str, rx.Component]] = [
        ("expression", _expression(field)),
        ("textarea", _text_area(field)),
        ("code", _text_area(field, mono=True, rows="10")),
        ("json", _text_area(field, mono=True, rows="6")),
        ("string_list", _text_area(field, rows="3")),
        ("boolean", _switch(field)),
        ("options", _select(field)),
        ("multi_options", _multi(field)),
        ("password", _text_input(field)),
        ("number", _text_input(field)),
        ("cron", _cron(field)),
    ]
    if nested is not None:
        cases.append(("collection", _collection(field, nested)))
    return rx.match(widget, *cases, _text_input(field))


def _label(field: Field) -> rx.Component:
    return rx.hstack(
        rx.text(
            field["title"].to(str),
            rx.cond(field["required"].to(bool), rx.text.span(" *", color_scheme="red"), rx.fragment()),
            size="2",
            weight="medium",
        ),
        rx.spacer(),
        rx.cond(
            field["expressions_allowed"].to(bool) & (field["base_widget"].to(str) != "collection"),
            rx.tooltip(
                rx.button(
                    "fx",
                    size="1",
                    variant=rx.cond(field["expression"].to(bool), "solid", "soft"),
                    color_scheme=rx.cond(field["expression"].to(bool), "violet", "gray"),
                    on_click=EditorState.toggle_expression(field["path"].to(str)),
                    data_testid="fx-" + field["path"].to(str),
                ),
                content="Use an expression such as {{ $json.amount }}",
            ),
            rx.fragment(),
        ),
        align="center",
        width="100%",
    )


def _field_box(field: Field, nested: Callable[[Field], rx.Component] | None) -> rx.Component:
    error = field["error"].to(str)
    return rx.vstack(
        _label(field),
        rx.box(
            _control(field, nested),
            width="100%",
            border_radius="var(--radius-2)",
            outline=rx.cond(error != "", f"2px solid {rx.color('red', 9)}", "none"),
        ),
        rx.cond(
            field["description"].to(str) != "",
            rx.text(field["description"].to(str), size="1", color_scheme="gray"),
            rx.fragment(),
        ),
        field_error(error),
        spacing="1",
        width="100%",
        data_testid="field-" + field["path"].to(str),
    )


def _collection(field: Field, nested: Callable[[Field], rx.Component]) -> rx.Component:
    path = field["path"].to(str)
    return rx.vstack(
        rx.foreach(
            field["rows"].to(list[dict[str, Any]]),
            lambda row: rx.box(
                rx.hstack(
                    rx.text("#", row["index"].to(str), size="1", color_scheme="gray"),
                    rx.spacer(),
                    rx.icon_button(
                        rx.icon("trash-2", size=14),
                        size="1",
                        variant="ghost",
                        color_scheme="red",
                        on_click=EditorState.remove_row(row["path"].to(str)),
                        title="Remove",
                        data_testid="remove-row-" + row["path"].to(str),
                    ),
                    width="100%",
                ),
                rx.vstack(rx.foreach(row["fields"].to(list[dict[str, Any]]), nested), spacing="2", width="100%"),
                padding="0.6em",
                border=f"1px solid {rx.color('gray', 5)}",
                border_radius="var(--radius-2)",
                width="100%",
            ),
        ),
        rx.button(
            rx.icon("plus", size=14),
            "Add",
            size="1",
            variant="soft",
            on_click=EditorState.add_row(path),
            data_testid="add-row-" + path,
        ),
        spacing="2",
        width="100%",
    )


def _leaf_field(field: Field) -> rx.Component:
    return _field_box(field, None)


def _row_field(field: Field) -> rx.Component:
    return _field_box(field, _leaf_field)


def parameter_field(field: Field) -> rx.Component:
    """One top-level parameter (collections two levels deep)."""
    return rx.cond(
        field["advanced"].to(bool) & ~EditorState.show_advanced,
        rx.fragment(),
        _field_box(field, _row_field),
    )


def credential_picker(picker: rx.Var[dict[str, Any]]) -> rx.Component:
    type_id = picker["type"].to(str)
    return rx.vstack(
        rx.text("Credential (", type_id, ")", size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(placeholder="Choose a credential…", width="100%", data_testid="credential-" + type_id),
            rx.select.content(
                rx.foreach(
                    picker["options"].to(list[dict[str, str]]),
                    lambda option: rx.select.item(option["name"], value=option["id"]),
                )
            ),
            value=picker["selected"].to(str),
            on_change=lambda credential_id: EditorState.choose_credential(type_id, credential_id),
        ),
        rx.cond(
            picker["options"].to(list[Any]).length() == 0,
            rx.text(
                "No credential of this type is shared with you yet: an admin adds one under ",
                rx.link("Credentials", href="/credentials"),
                ".",
                size="1",
                color_scheme="gray",
            ),
            rx.fragment(),
        ),
        spacing="1",
        width="100%",
    )
