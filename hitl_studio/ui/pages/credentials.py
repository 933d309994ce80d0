"""/credentials (admins and builders): the secrets nodes use, shown only as set/unset.

Admins see every credential; a builder sees their own and those shared with
them (read-only: they may use and test those, not change them).
"""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.common import confirm_button, empty_state, loading
from hitl_studio.ui.components.credential_form import credential_form, secret_status
from hitl_studio.ui.components.layout import app_page
from hitl_studio.ui.state.credentials import CredentialRow, CredentialsState, FieldStatus, known_icons

ROUTE = "/credentials"
SHOWN_WORKFLOWS = 3


def _type_icon(name: rx.Var[str]) -> rx.Component:
    # Icons are matched from a fixed list so each is a static import (no dynamic icon loading).
    return rx.match(name, *[(icon, rx.icon(icon, size=16)) for icon in known_icons()], rx.icon("key-round", size=16))


def _field_status(item: FieldStatus) -> rx.Component:
    return rx.hstack(rx.text(item.title, size="1", color_scheme="gray"), secret_status(item.status), spacing="1")


def _used_by(row: CredentialRow) -> rx.Component:
    links = rx.foreach(
        row.used_by[:SHOWN_WORKFLOWS],
        lambda ref: rx.link(ref.name, href="/workflows/" + ref.id, size="2"),
    )
    more = rx.cond(
        row.used_by.length() > SHOWN_WORKFLOWS,
        rx.text("+", row.used_by.length() - SHOWN_WORKFLOWS, " more", size="1", color_scheme="gray"),
        rx.fragment(),
    )
    return rx.cond(
        row.used_by.length() > 0,
        rx.vstack(links, more, spacing="0", data_testid="cred-used-by"),
        rx.text("Not used yet", size="2", color_scheme="gray", data_testid="cred-used-by"),
    )


def _shared(row: CredentialRow) -> rx.Component:
    return rx.cond(
        row.shared_with.length() > 0,
        rx.vstack(rx.foreach(row.shared_with, lambda email: rx.text(email, size="2")), spacing="0"),
        rx.text("Only the owner", size="2", color_scheme="gray"),
    )


def _oauth(row: CredentialRow) -> rx.Component:
    connect = rx.button(
        rx.icon("plug-zap", size=14),
        rx.cond(row.connected, "Reconnect", "Connect"),
        on_click=CredentialsState.connect(row.id),
        size="1",
        variant="soft",
        data_testid="cred-connect",
    )
    disconnect = confirm_button(
        rx.button(rx.icon("unplug", size=14), "Disconnect", size="1", variant="soft", color_scheme="red"),
        title="Disconnect this account?",
        description=rx.text(
            "Runs that use ",
            rx.text.strong(row.name),
            " fail until someone connects it again. "
            "The studio revokes the grant at the provider when it can, and forgets the tokens.",
        ),
        confirm_label="Disconnect",
        on_confirm=CredentialsState.disconnect(row.id),
        confirm_testid="confirm-disconnect",
    )
    return rx.cond(
        row.is_oauth,
        rx.vstack(
            rx.hstack(
                rx.badge(
                    rx.cond(row.connected, "connected", "not connected"),
                    color_scheme=rx.cond(row.connected, "green", "amber"),
                    variant="soft",
                    data_testid="cred-oauth-status",
                ),
                rx.cond(row.can_edit, connect, rx.fragment()),
                rx.cond(row.can_edit & row.connected, disconnect, rx.fragment()),
                spacing="2",
                align="center",
            ),
            rx.text(row.connection, size="1", color_scheme="gray"),
            spacing="1",
        ),
        rx.fragment(),
    )


def _actions(row: CredentialRow) -> rx.Component:
    test = rx.button(
        rx.icon("flask-conical", size=14),
        "Test",
        on_click=CredentialsState.test(row.id),
        loading=CredentialsState.testing_id == row.id,
        size="1",
        variant="soft",
        data_testid="cred-test",
    )
    edit = rx.button(
        rx.icon("pencil", size=14),
        "Edit",
        on_click=CredentialsState.open_edit(row.id),
        size="1",
        variant="soft",
        color_scheme="gray",
        data_testid="cred-edit",
    )
    # The service refuses to delete a credential in use (409); the dialog says so before anyone tries.
    description = rx.cond(
        row.used_by.length() > 0,
        rx.text(
            rx.text.strong(row.name),
            " is still selected by ",
            rx.text.strong(row.used_names),
            ". Remove it from those workflows first: it cannot be deleted while they use it.",
        ),
        rx.text("No saved workflow selects ", rx.text.strong(row.name), ". Deleting it cannot be undone."),
    )
    delete = confirm_button(
        rx.button(
            rx.icon("trash-2", size=14),
            "Delete",
            size="1",
            variant="soft",
            color_scheme="red",
            data_testid="cred-delete",
        ),
        title="Delete this credential?",
        description=description,
        confirm_label="Delete",
        on_confirm=CredentialsState.delete(row.id),
        confirm_testid="confirm-delete-credential",
    )
    return rx.hstack(
        rx.cond(row.can_test, test, rx.fragment()),
        rx.cond(row.can_edit, rx.fragment(edit, delete), rx.badge("shared with you", variant="outline")),
        spacing="2",
        justify="end",
    )


def _row(row: CredentialRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(row.name, weight="medium", data_testid="cred-name-cell"),
                rx.flex(rx.foreach(row.fields, _field_status), wrap="wrap", gap="2"),
                rx.cond(row.problem != "", rx.text(row.problem, size="1", color_scheme="red"), rx.fragment()),
                _oauth(row),
                spacing="1",
            )
        ),
        rx.table.cell(rx.hstack(_type_icon(row.icon), rx.text(row.type_name, size="2"), align="center", spacing="2")),
        rx.table.cell(rx.text(row.owner, size="2")),
        rx.table.cell(_shared(row)),
        rx.table.cell(_used_by(row)),
        rx.table.cell(rx.tooltip(rx.text(row.updated, size="2", color_scheme="gray"), content=row.updated_exact)),
        rx.table.cell(_actions(row)),
        data_testid="credential-row",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Name"),
                rx.table.column_header_cell("Type"),
                rx.table.column_header_cell("Owner"),
                rx.table.column_header_cell("Shared with"),
                rx.table.column_header_cell("Used by"),
                rx.table.column_header_cell("Updated"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(CredentialsState.rows, _row)),
        variant="surface",
        width="100%",
    )


def _dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(CredentialsState.editing_id == "", "Add a credential", "Edit credential")),
            rx.dialog.description(
                "Secrets are encrypted at rest and never shown again; nodes use them when they run.",
                size="2",
                margin_bottom="1em",
            ),
            credential_form(),
            max_width="560px",
        ),
        open=CredentialsState.dialog_open,
        on_open_change=CredentialsState.set_dialog_open,
    )


def _add_button() -> rx.Component:
    return rx.button(
        rx.icon("plus", size=16), "Add credential", on_click=CredentialsState.open_create, data_testid="add-credential"
    )


def credentials_page() -> rx.Component:
    empty = empty_state(
        "key-round",
        "No credentials yet",
        "Add the API keys, logins and connections your workflows need. Nodes pick them by name; "
        "nobody sees the secrets again.",
        _add_button(),
    )
    return app_page(
        "Credentials",
        rx.text(
            "Secrets for nodes, encrypted at rest. You see your own and those shared with you; admins see all.",
            color_scheme="gray",
            size="2",
            margin_bottom="1em",
        ),
        rx.cond(
            CredentialsState.loaded,
            rx.cond(CredentialsState.rows.length() > 0, _table(), empty),
            loading(),
        ),
        _dialog(),
        actions=_add_button(),
    )
