"""/users (admins): everyone who can sign in, their roles, and adding people."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import Role, User
from hitl_studio.services import users
from hitl_studio.services.errors import ServiceError
from hitl_studio.ui.components.groups import groups_panel
from hitl_studio.ui.components.layout import app_page, form_field
from hitl_studio.ui.components.times import stamp
from hitl_studio.ui.state.session import NotSignedIn, SessionState

ROUTE = "/users"
ROLES = [role.value for role in Role]


@dataclass
class UserRow:
    id: str
    email: str
    name: str
    role: str
    active: bool
    last_login: str


def _row(user: User) -> UserRow:
    last_login = stamp(user.last_login_at) or "never"
    return UserRow(user.id, user.email, user.name, user.role, user.active, last_login)


class UsersState(SessionState):
    rows: list[UserRow] = []
    dialog_open: bool = False
    new_role: str = Role.BUILDER.value
    form_errors: dict[str, str] = {}
    form_message: str = ""

    @rx.var
    def email_error(self) -> str:
        return self.form_errors.get("email", "")

    @rx.var
    def name_error(self) -> str:
        return self.form_errors.get("name", "")

    @rx.var
    def role_error(self) -> str:
        return self.form_errors.get("role", "")

    @rx.var
    def password_error(self) -> str:
        return self.form_errors.get("password", "")

    async def _refresh(self) -> None:
        self.rows = [_row(user) for user in await asyncio.to_thread(users.list_users)]

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.MANAGE_USERS)
        if redirect is not None:
            return redirect
        await self._refresh()
        return None

    @rx.event
    def set_dialog_open(self, is_open: bool) -> None:
        self.dialog_open = is_open
        self.form_errors = {}
        self.form_message = ""
        self.new_role = Role.BUILDER.value

    @rx.event
    def set_new_role(self, role: str) -> None:
        self.new_role = role

    async def _admin(self) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(Permission.MANAGE_USERS)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    @rx.event
    async def create(self, form: dict[str, Any]):
        admin = await self._admin()
        if not isinstance(admin, User):
            return admin
        data = users.NewUser(
            email=str(form.get("email", "")),
            name=str(form.get("name", "")),
            role=self.new_role,
            password=str(form.get("password", "")),
        )
        try:
            created = await asyncio.to_thread(users.create_user, data, actor=admin)
        except ServiceError as err:
            self.form_errors = err.field_errors
            self.form_message = err.message
            return None
        self.dialog_open = False
        self.form_errors = {}
        await self._refresh()
        return rx.toast.success(f"{created.email} can now sign in as {created.role}.")

    @rx.event
    async def change_role(self, user_id: str, role: str):
        return await self._update(user_id, role=role)

    @rx.event
    async def set_active(self, user_id: str, active: bool):
        return await self._update(user_id, active=active)

    async def _update(self, user_id: str, **changes: Any):
        admin = await self._admin()
        if not isinstance(admin, User):
            return admin
        try:
            updated = await asyncio.to_thread(users.update_user, user_id, actor=admin, **changes)
        except ServiceError as err:
            await self._refresh()
            return rx.toast.error(err.message)
        await self._refresh()
        state = "active" if updated.active else "deactivated"
        return rx.toast.success(f"{updated.email}: {updated.role}, {state}.")


def _role_select(value: rx.Var[str] | str, on_change: Any, test_id: str, **props: Any) -> rx.Component:
    """A role picker; built from parts so tests can find its trigger by ``data-testid``."""
    return rx.select.root(
        rx.select.trigger(data_testid=test_id, **props),
        rx.select.content(*[rx.select.item(role, value=role) for role in ROLES]),
        value=value,
        on_change=on_change,
        size=props.get("size", "2"),
    )


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("user-plus", size=16), "Add user", data_testid="add-user")),
        rx.dialog.content(
            rx.dialog.title("Add a user"),
            rx.dialog.description("They sign in with this email and password.", size="2", margin_bottom="1em"),
            rx.form(
                rx.vstack(
                    form_field(
                        "Email",
                        rx.input(name="email", placeholder="ana@example.com", width="100%", data_testid="user-email"),
                        UsersState.email_error,
                    ),
                    form_field(
                        "Name", rx.input(name="name", width="100%", data_testid="user-name"), UsersState.name_error
                    ),
                    form_field(
                        "Role",
                        _role_select(UsersState.new_role, UsersState.set_new_role, "user-role", width="100%"),
                        UsersState.role_error,
                    ),
                    form_field(
                        "Password",
                        rx.input(name="password", type="password", width="100%", data_testid="user-password"),
                        UsersState.password_error,
                    ),
                    rx.cond(
                        UsersState.form_message != "",
                        rx.text(UsersState.form_message, color_scheme="red", size="2"),
                        rx.fragment(),
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                        rx.button("Create user", type="submit", data_testid="create-user"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=UsersState.create,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=UsersState.dialog_open,
        on_open_change=UsersState.set_dialog_open,
    )


def _user_row(row: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.email, weight="medium")),
        rx.table.cell(row.name),
        rx.table.cell(_role_select(row.role, lambda role: UsersState.change_role(row.id, role), "row-role", size="1")),
        rx.table.cell(
            rx.switch(checked=row.active, on_change=lambda active: UsersState.set_active(row.id, active), size="1")
        ),
        rx.table.cell(rx.text(row.last_login, color_scheme="gray", size="2")),
        data_testid="user-row",
    )


def users_page() -> rx.Component:
    people = rx.fragment(
        rx.text(
            "Admins manage everything; builders edit and run workflows; approvers answer approvals; viewers look.",
            color_scheme="gray",
            size="2",
            margin_bottom="1em",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Email"),
                    rx.table.column_header_cell("Name"),
                    rx.table.column_header_cell("Role"),
                    rx.table.column_header_cell("Active"),
                    rx.table.column_header_cell("Last sign-in"),
                )
            ),
            rx.table.body(rx.foreach(UsersState.rows, _user_row)),
            variant="surface",
            width="100%",
        ),
    )
    return app_page(
        "Users",
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("People", value="people", data_testid="tab-people"),
                rx.tabs.trigger("Groups", value="groups", data_testid="tab-groups"),
                margin_bottom="1em",
            ),
            rx.tabs.content(people, value="people"),
            rx.tabs.content(groups_panel(), value="groups"),
            default_value="people",
        ),
        actions=_create_dialog(),
    )
