"""The credential form: one input per field of the type's schema, matched on the field's kind.

Inputs are uncontrolled (their starting values come from the state, what is
typed stays in the browser until submit), so a secret typed here is sent once,
with the form, and never comes back. Secrets start empty: when editing, a
badge says whether one is stored, and leaving the input blank keeps it.
"""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.layout import form_field
from hitl_studio.ui.state.credentials import FIELD_PREFIX, NAME_INPUT, CredentialsState, FormField, ShareOption

KEEP_SECRET_HINT = "Stored; leave blank to keep it"


def secret_status(status: rx.Var[str]) -> rx.Component:
    """``set`` in green, ``unset`` in gray: all the browser ever learns about a secret."""
    return rx.badge(status, color_scheme=rx.cond(status == "set", "green", "gray"), variant="soft", size="1")


def _label(item: FormField) -> rx.Component:
    return rx.fragment(
        item.title,
        rx.cond(item.required, rx.text.span(" *", color_scheme="red"), rx.fragment()),
        rx.cond(item.status != "", rx.text.span(" ", secret_status(item.status)), rx.fragment()),
    )


def _placeholder(item: FormField) -> rx.Var[str]:
    return rx.cond(item.status == "set", KEEP_SECRET_HINT, item.placeholder)


def _control(item: FormField) -> rx.Component:
    name = FIELD_PREFIX + item.name
    test_id = "cred-field-" + item.name
    return rx.match(
        item.kind,
        (
            "boolean",
            rx.switch(name=name, default_checked=item.checked, data_testid=test_id),
        ),
        (
            "select",
            rx.select.root(
                rx.select.trigger(width="100%", data_testid=test_id),
                rx.select.content(rx.foreach(item.options, lambda option: rx.select.item(option, value=option))),
                name=name,
                default_value=item.value,
            ),
        ),
        (
            "number",
            rx.input(
                name=name,
                type="number",
                step=rx.cond(item.integer, "1", "any"),
                default_value=item.value,
                placeholder=item.placeholder,
                width="100%",
                data_testid=test_id,
            ),
        ),
        (
            "password",
            rx.input(
                name=name,
                type="password",
                auto_complete="new-password",
                placeholder=_placeholder(item),
                width="100%",
                data_testid=test_id,
            ),
        ),
        (
            "textarea",
            rx.text_area(
                name=name,
                default_value=item.value,
                placeholder=_placeholder(item),
                rows="5",
                width="100%",
                font_family="var(--code-font-family)",
                data_testid=test_id,
            ),
        ),
        rx.input(
            name=name,
            default_value=item.value,
            placeholder=item.placeholder,
            width="100%",
            data_testid=test_id,
        ),
    )


def _field(item: FormField) -> rx.Component:
    return rx.box(
        form_field(_label(item), _control(item), item.error),  # type: ignore[arg-type]
        rx.cond(
            item.description != "",
            rx.text(item.description, size="1", color_scheme="gray"),
            rx.fragment(),
        ),
        width="100%",
        data_testid="cred-field",
    )


def _share_option(option: ShareOption) -> rx.Component:
    return rx.checkbox(
        option.label,
        checked=CredentialsState.share_ids.contains(option.id),
        on_change=lambda checked: CredentialsState.toggle_share(option.id, checked),
        size="2",
    )


def _sharing() -> rx.Component:
    group_picker = rx.cond(
        CredentialsState.group_options.length() > 0,
        rx.select.root(
            rx.select.trigger(placeholder="Add a group's members", data_testid="share-group"),
            rx.select.content(
                rx.foreach(
                    CredentialsState.group_options,
                    lambda group: rx.select.item(group.name, value=group.id),
                )
            ),
            value="",
            on_change=CredentialsState.share_group,
            size="1",
        ),
        rx.fragment(),
    )
    return rx.vstack(
        rx.hstack(
            rx.text("Shared with", size="2", weight="medium"),
            rx.spacer(),
            group_picker,
            align="center",
            width="100%",
        ),
        rx.text(
            "Workflows of these people may use the credential; they never see its secrets.",
            size="1",
            color_scheme="gray",
        ),
        rx.scroll_area(
            rx.vstack(rx.foreach(CredentialsState.share_options, _share_option), spacing="1"),
            max_height="140px",
            type="auto",
            scrollbars="vertical",
        ),
        spacing="1",
        width="100%",
        data_testid="cred-sharing",
    )


def _type_picker() -> rx.Component:
    return rx.cond(
        CredentialsState.editing_id == "",
        form_field(
            "Type",
            rx.select.root(
                rx.select.trigger(placeholder="Choose a type", width="100%", data_testid="cred-type"),
                rx.select.content(
                    rx.foreach(
                        CredentialsState.type_options,
                        lambda option: rx.select.item(option.name, value=option.id),
                    )
                ),
                value=CredentialsState.form_type,
                on_change=CredentialsState.choose_type,
            ),
            CredentialsState.type_error,
        ),
        rx.hstack(
            rx.text("Type", size="2", weight="medium"),
            rx.badge(CredentialsState.form_type_name, variant="soft"),
            align="center",
        ),
    )


def _fields() -> rx.Component:
    advanced = rx.cond(
        CredentialsState.advanced_fields.length() > 0,
        rx.el.details(
            rx.el.summary(rx.text("More options", size="2", color_scheme="gray", as_="span"), cursor="pointer"),
            rx.vstack(rx.foreach(CredentialsState.advanced_fields, _field), spacing="3", padding_top="0.75em"),
            width="100%",
        ),
        rx.fragment(),
    )
    return rx.vstack(
        rx.cond(
            CredentialsState.form_type_description != "",
            rx.text(CredentialsState.form_type_description, size="2", color_scheme="gray"),
            rx.fragment(),
        ),
        rx.foreach(CredentialsState.basic_fields, _field),
        advanced,
        spacing="3",
        width="100%",
        # A new key remounts the inputs, so another type's fields never keep what was typed for the last one.
        key=CredentialsState.form_key,
    )


def credential_form() -> rx.Component:
    """The create/edit form; the dialog mounts it afresh each time it opens."""
    return rx.form(
        rx.vstack(
            _type_picker(),
            form_field(
                "Name",
                rx.input(
                    name=NAME_INPUT,
                    default_value=CredentialsState.form_name,
                    placeholder="e.g. Billing database",
                    width="100%",
                    data_testid="cred-name",
                ),
                CredentialsState.name_error,
            ),
            rx.cond(CredentialsState.form_type != "", _fields(), rx.fragment()),
            rx.divider(),
            _sharing(),
            rx.cond(
                CredentialsState.form_message != "",
                rx.callout(CredentialsState.form_message, icon="triangle-alert", color_scheme="red", size="1"),
                rx.fragment(),
            ),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                rx.button(
                    rx.cond(CredentialsState.editing_id == "", "Create credential", "Save changes"),
                    type="submit",
                    loading=CredentialsState.saving,
                    disabled=CredentialsState.form_type == "",
                    data_testid="cred-save",
                ),
                justify="end",
                width="100%",
            ),
            spacing="3",
        ),
        on_submit=CredentialsState.save,
        reset_on_submit=False,
    )
