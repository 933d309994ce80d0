"""State of /settings: my profile and password for everyone; instance facts and outgoing webhooks for admins."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.db import check_database
from hitl_studio.models.users import User
from hitl_studio.queue import get_queue
from hitl_studio.services import approval_notifications as notifications
from hitl_studio.services import users
from hitl_studio.services.errors import ServiceError
from hitl_studio.settings import get_settings
from hitl_studio.ui.components.times import stamp
from hitl_studio.ui.state.session import NotSignedIn, SessionState

logger = logging.getLogger(__name__)
MAX_NAME_LENGTH = 200


@dataclass
class Fact:
    label: str
    value: str


@dataclass
class WebhookRow:
    id: str
    url: str
    events: str
    owner: str
    created: str


def instance_facts() -> list[Fact]:
    """What an admin may want to know about this studio; never a secret or a connection string."""
    settings = get_settings()
    try:
        check_database()
        database_state = "reachable"
    except Exception as err:
        logger.warning("settings page: database check failed: %s", err)
        database_state = "unreachable"
    try:
        queue_state = "reachable" if get_queue().health() in ("ok", "embedded") else "unknown"
    except Exception as err:
        logger.warning("settings page: queue check failed: %s", err)
        queue_state = "unreachable"
    database = "SQLite" if settings.is_sqlite else "PostgreSQL"
    queue = f"embedded ({settings.embedded_workers} worker threads)" if settings.embedded else "RQ on Redis"
    return [
        Fact("Version", settings.version),
        Fact("Database", f"{database}, {database_state}"),
        Fact("Queue", queue if settings.embedded else f"{queue} (queue {settings.queue_name}), {queue_state}"),
        Fact("Public address", settings.public_url),
        Fact("API address", settings.api_url),
        Fact("Previous encryption keys", str(len(settings.secret_key_previous))),
    ]


def _webhooks(viewer: User) -> list[WebhookRow]:
    emails = {person.id: person.email for person in users.list_users()}
    return [
        WebhookRow(
            id=row.id,
            url=row.url,
            events=", ".join(row.events),
            owner=emails.get(row.owner_id or "", "(deleted user)"),
            created=stamp(row.created_at),
        )
        for row in notifications.list_subscriptions(viewer)
    ]


class SettingsState(SessionState):
    profile_name: str = ""
    profile_form_key: int = 0
    name_error: str = ""
    password_errors: dict[str, str] = {}
    password_form_key: int = 0

    facts: list[Fact] = []
    webhooks: list[WebhookRow] = []
    event_types: list[str] = [notifications.ALL_EVENTS, *notifications.EVENT_TYPES]
    chosen_events: list[str] = []
    webhook_errors: dict[str, str] = {}
    webhook_form_key: int = 0
    new_secret: str = ""
    new_secret_url: str = ""

    @rx.var
    def current_password_error(self) -> str:
        return self.password_errors.get("current_password", "")

    @rx.var
    def new_password_error(self) -> str:
        return self.password_errors.get("new_password", "")

    @rx.var
    def confirm_password_error(self) -> str:
        return self.password_errors.get("confirm_password", "")

    @rx.var
    def webhook_url_error(self) -> str:
        return self.webhook_errors.get("url", "")

    @rx.var
    def webhook_events_error(self) -> str:
        return self.webhook_errors.get("events", "")

    async def _me(self, permission: Permission | None = None) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(permission)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    @rx.event
    async def load(self):
        self.new_secret = ""
        self.password_errors = {}
        self.name_error = ""
        redirect = await self.guard()
        if redirect is not None:
            return redirect
        me = await self._me()
        if not isinstance(me, User):
            return me
        self.profile_name = me.name
        self.profile_form_key += 1
        if allowed(me.role, Permission.MANAGE_USERS):
            self.facts = await asyncio.to_thread(instance_facts)
            self.webhooks = await asyncio.to_thread(_webhooks, me)
        return None

    @rx.event
    async def save_profile(self, form: dict[str, Any]):
        me = await self._me()
        if not isinstance(me, User):
            return me
        name = str(form.get("name", "")).strip()
        if len(name) > MAX_NAME_LENGTH:
            self.name_error = f"Keep the name under {MAX_NAME_LENGTH} characters."
            return None
        try:
            updated = await asyncio.to_thread(users.update_user, me.id, actor=me, name=name)
        except ServiceError as err:
            self.name_error = err.field_errors.get("name", err.message)
            return None
        self.name_error = ""
        self._remember(updated)
        self.profile_name = updated.name
        return rx.toast.success("Your name is saved." if name else "Your name is cleared; the studio shows your email.")

    @rx.event
    async def change_password(self, form: dict[str, Any]):
        me = await self._me()
        if not isinstance(me, User):
            return me
        current = str(form.get("current_password", ""))
        new = str(form.get("new_password", ""))
        if new != str(form.get("confirm_password", "")):
            self.password_errors = {"confirm_password": "The two new passwords differ."}
            return None
        try:
            await asyncio.to_thread(users.change_password, me.id, current, new, keep_session=self.token)
        except ServiceError as err:
            self.password_errors = err.field_errors or {"current_password": err.message}
            return None
        self.password_errors = {}
        self.password_form_key += 1
        return rx.toast.success("Password changed; your other sign-ins were ended.")

    @rx.event
    def toggle_event(self, event_type: str, checked: bool) -> None:
        others = [chosen for chosen in self.chosen_events if chosen != event_type]
        self.chosen_events = [*others, event_type] if checked else others

    @rx.event
    async def add_webhook(self, form: dict[str, Any]):
        admin = await self._me(Permission.MANAGE_USERS)
        if not isinstance(admin, User):
            return admin
        if notifications.ALL_EVENTS in self.chosen_events:
            events = [notifications.ALL_EVENTS]
        else:
            events = [event for event in notifications.EVENT_TYPES if event in self.chosen_events]
        if not events:
            self.webhook_errors = {"events": "Pick at least one event."}
            return None
        try:
            created = await asyncio.to_thread(
                notifications.create_subscription, admin, str(form.get("url", "")).strip(), events
            )
        except ServiceError as err:
            self.webhook_errors = err.field_errors or {"url": err.message}
            return None
        self.webhook_errors = {}
        self.chosen_events = []
        self.webhook_form_key += 1
        self.new_secret = created.secret
        self.new_secret_url = created.subscription.url
        self.webhooks = await asyncio.to_thread(_webhooks, admin)
        return rx.toast.success("Subscribed; copy the signing secret now.")

    @rx.event
    def dismiss_secret(self) -> None:
        self.new_secret = ""

    @rx.event
    async def delete_webhook(self, webhook_id: str):
        admin = await self._me(Permission.MANAGE_USERS)
        if not isinstance(admin, User):
            return admin
        try:
            await asyncio.to_thread(notifications.delete_subscription, webhook_id, admin)
        except ServiceError as err:
            return rx.toast.error(err.message)
        self.webhooks = await asyncio.to_thread(_webhooks, admin)
        return rx.toast.success("Subscription deleted; no more events go to that URL.")
