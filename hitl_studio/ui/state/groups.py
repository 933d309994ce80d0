"""State of the Groups tab on /users (admins): groups approvals address as ``group:<name>``, and their members."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import groups, users
from hitl_studio.services.errors import ServiceError
from hitl_studio.ui.state.session import NotSignedIn, SessionState


@dataclass
class MemberChip:
    id: str
    email: str
    active: bool


@dataclass
class GroupRow:
    id: str
    name: str
    address: str
    description: str
    members: list[MemberChip]
    candidates: list[MemberChip]
    """Active users not in the group yet: who "Add member" offers."""


def _rows() -> list[GroupRow]:
    people = [person for person in users.list_users() if person.active]
    rows = []
    for group in groups.list_groups():
        member_ids = {member["id"] for member in group["members"]}
        rows.append(
            GroupRow(
                id=group["id"],
                name=group["name"],
                address=group["address"],
                description=group["description"],
                members=[MemberChip(m["id"], m["email"], m["active"]) for m in group["members"]],
                candidates=[MemberChip(p.id, p.email, p.active) for p in people if p.id not in member_ids],
            )
        )
    return rows


class GroupsState(SessionState):
    groups: list[GroupRow] = []
    loaded: bool = False
    create_errors: dict[str, str] = {}
    create_form_key: int = 0
    rename_id: str = ""
    rename_name: str = ""
    rename_description: str = ""
    rename_errors: dict[str, str] = {}

    @rx.var
    def create_name_error(self) -> str:
        return self.create_errors.get("name", "")

    @rx.var
    def create_description_error(self) -> str:
        return self.create_errors.get("description", "")

    @rx.var
    def rename_name_error(self) -> str:
        return self.rename_errors.get("name", "")

    @rx.var
    def rename_description_error(self) -> str:
        return self.rename_errors.get("description", "")

    @rx.var
    def rename_open(self) -> bool:
        return self.rename_id != ""

    async def _admin(self) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(Permission.MANAGE_USERS)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    async def _refresh(self) -> None:
        self.groups = await asyncio.to_thread(_rows)
        self.loaded = True

    @rx.event
    async def load(self):
        admin = await self._admin()
        if not isinstance(admin, User):
            return admin
        await self._refresh()
        return None

    @rx.event
    async def create(self, form: dict[str, Any]):
        admin = await self._admin()
        if not isinstance(admin, User):
            return admin
        try:
            created = await asyncio.to_thread(
                groups.create_group,
                str(form.get("name", "")),
                actor=admin,
                description=str(form.get("description", "")),
            )
        except ServiceError as err:
            self.create_errors = err.field_errors or {"name": err.message}
            return None
        self.create_errors = {}
        self.create_form_key += 1
        await self._refresh()
        return rx.toast.success(f"Group {created['name']} created; address approvals to {created['address']}.")

    @rx.event
    def open_rename(self, group_id: str) -> None:
        group = next((row for row in self.groups if row.id == group_id), None)
        if group is None:
            return
        self.rename_id = group.id
        self.rename_name = group.name
        self.rename_description = group.description
        self.rename_errors = {}

    @rx.event
    def set_rename_open(self, is_open: bool) -> None:
        if not is_open:
            self.rename_id = ""

    @rx.event
    async def rename(self, form: dict[str, Any]):
        admin = await self._admin()
        if not isinstance(admin, User):
            return admin
        try:
            await asyncio.to_thread(
                groups.update_group,
                self.rename_id,
                actor=admin,
                name=str(form.get("name", "")),
                description=str(form.get("description", "")),
            )
        except ServiceError as err:
            self.rename_errors = err.field_errors or {"name": err.message}
            return None
        self.rename_id = ""
        await self._refresh()
        return rx.toast.success("Group saved.")

    @rx.event
    async def delete(self, group_id: str):
        return await self._change(groups.delete_group, group_id, done="Group deleted.")

    @rx.event
    async def add_member(self, group_id: str, user_id: str):
        return await self._change(groups.add_member, group_id, user_id, done="Member added.")

    @rx.event
    async def remove_member(self, group_id: str, user_id: str):
        return await self._change(groups.remove_member, group_id, user_id, done="Member removed.")

    async def _change(self, action: Any, *args: str, done: str):
        admin = await self._admin()
        if not isinstance(admin, User):
            return admin
        try:
            await asyncio.to_thread(action, *args, actor=admin)
        except ServiceError as err:
            await self._refresh()
            return rx.toast.error(err.message)
        await self._refresh()
        return rx.toast.success(done)
