"""/api-keys: the keys agents use to call the API as you; a new key is shown once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import ApiKey, User
from hitl_studio.services import api_keys
from hitl_studio.services.errors import ServiceError
from hitl_studio.ui.components.layout import app_page, form_field
from hitl_studio.ui.components.times import stamp
from hitl_studio.ui.state.session import NotSignedIn, SessionState

ROUTE = "/api-keys"


@dataclass
class KeyRow:
    id: str
    name: str
    prefix: str
    created: str
    last_used: str
    revoked: bool


def _when(moment: Any) -> str:
    return stamp(moment) or "never"


def _row(key: ApiKey) -> KeyRow:
    return KeyRow(
        key.id, key.name, key.prefix, _when(key.created_at), _when(key.last_used_at), key.revoked_at is not None
    )


class ApiKeysState(SessionState):
    rows: list[KeyRow] = []
    name_error: str = ""
    new_key: str = ""
    new_key_name: str = ""

    async def _refresh(self, user: User) -> None:
        self.rows = [_row(key) for key in await asyncio.to_thread(api_keys.list_api_keys, user)]

    async def _user(self) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(Permission.USE_API_KEYS)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    @rx.event
    async def load(self):
        self.new_key = ""
        redirect = await self.guard(Permission.USE_API_KEYS)
        if redirect is not None:
            return redirect
        user = await self._user()
        if isinstance(user, User):
            await self._refresh(user)
        return None

    @rx.event
    async def create(self, form: dict[str, Any]):
        user = await self._user()
        if not isinstance(user, User):
            return user
        try:
            created = await asyncio.to_thread(api_keys.create_api_key, user, str(form.get("name", "")))
        except ServiceError as err:
            self.name_error = err.field_errors.get("name", err.message)
            return None
        self.name_error = ""
        self.new_key = created.secret
        self.new_key_name = created.api_key.name
        await self._refresh(user)
        return rx.toast.success(f"Key {created.api_key.name!r} created; copy it now.")

    @rx.event
    def dismiss_new_key(self) -> None:
        self.new_key = ""

    @rx.event
    async def revoke(self, key_id: str):
        user = await self._user()
        if not isinstance(user, User):
            return user
        try:
            revoked = await asyncio.to_thread(api_keys.revoke_api_key, key_id, actor=user)
        except ServiceError as err:
            return rx.toast.error(err.message)
        await self._refresh(user)
        return rx.toast.success(f"Key {revoked.name!r} revoked; agents using it now get 401.")


def _new_key_callout() -> rx.Component:
    return rx.cond(
        ApiKeysState.new_key != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("key-round")),
            rx.vstack(
                rx.text("Your new key ", rx.text.strong(ApiKeysState.new_key_name), ": it will not be shown again."),
                rx.hstack(
                    rx.code(ApiKeysState.new_key, size="3", data_testid="new-api-key"),
                    rx.icon_button(
                        rx.icon("copy", size=14),
                        on_click=[rx.set_clipboard(ApiKeysState.new_key), rx.toast.info("Copied.")],
                        size="1",
                        variant="soft",
                        title="Copy",
                    ),
                    rx.button("Done", on_click=ApiKeysState.dismiss_new_key, size="1", variant="soft"),
                    align="center",
                ),
                rx.text("Send it as ", rx.code("Authorization: Bearer <key>"), ".", size="1", color_scheme="gray"),
                spacing="2",
            ),
            color_scheme="green",
            margin_bottom="1em",
        ),
        rx.fragment(),
    )


def _revoke_button(row: KeyRow) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button("Revoke", color_scheme="red", variant="soft", size="1", data_testid="revoke-key")
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Revoke this key?"),
            rx.alert_dialog.description(
                rx.text("Agents using ", rx.text.strong(row.name), " lose access immediately. This cannot be undone.")
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Revoke",
                        color_scheme="red",
                        on_click=ApiKeysState.revoke(row.id),
                        data_testid="confirm-revoke",
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="1em",
            ),
        ),
    )


def _key_row(row: KeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.name, weight="medium")),
        rx.table.cell(rx.code(row.prefix + "…")),
        rx.table.cell(row.created),
        rx.table.cell(row.last_used),
        rx.table.cell(
            rx.cond(row.revoked, rx.badge("revoked", color_scheme="gray"), _revoke_button(row)),
        ),
        data_testid="api-key-row",
    )


def api_keys_page() -> rx.Component:
    empty = rx.callout(
        "No keys yet. Create one for each agent or script that calls the API as you.",
        icon="info",
        color_scheme="gray",
    )
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Name"),
                rx.table.column_header_cell("Key"),
                rx.table.column_header_cell("Created"),
                rx.table.column_header_cell("Last used"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(ApiKeysState.rows, _key_row)),
        variant="surface",
        width="100%",
    )
    create_form = rx.form(
        rx.hstack(
            rx.box(
                form_field(
                    "New key name",
                    rx.input(name="name", placeholder="e.g. invoice-agent", data_testid="api-key-name", width="100%"),
                    ApiKeysState.name_error,
                ),
                width="320px",
            ),
            rx.button(rx.icon("plus", size=16), "Create key", type="submit", data_testid="create-api-key"),
            align="end",
            spacing="3",
        ),
        on_submit=ApiKeysState.create,
        reset_on_submit=True,
        margin_bottom="1.5em",
    )
    return app_page(
        "API keys",
        _new_key_callout(),
        create_form,
        rx.cond(ApiKeysState.rows.length() > 0, table, empty),
    )
