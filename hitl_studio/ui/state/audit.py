"""State of /audit: the audit log's filters, one page of rows, and paging. Nothing here changes a row."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.models.audit import AuditLog
from hitl_studio.models.users import User
from hitl_studio.services import audit
from hitl_studio.services.audit import AuditFilter
from hitl_studio.services.errors import ServiceError
from hitl_studio.ui.components.times import relative, stamp
from hitl_studio.ui.state.session import NotSignedIn, SessionState

PAGE_SIZE = 25
ANY = "*"
"""The "all" choice of a filter menu (a menu item cannot have an empty value)."""


@dataclass
class AuditRow:
    id: int
    at: str
    ago: str
    actor: str
    action: str
    target_type: str
    target_id: str
    ip: str
    details: str
    """``before`` and ``after`` as indented JSON; empty when the row recorded neither."""


def _row(entry: AuditLog) -> AuditRow:
    recorded = {key: value for key, value in (("before", entry.before), ("after", entry.after)) if value}
    return AuditRow(
        id=entry.id or 0,
        at=stamp(entry.created_at),
        ago=relative(entry.created_at),
        actor=entry.actor_label,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id or "",
        ip=entry.ip or "",
        details=json.dumps(recorded, indent=2, sort_keys=True, default=str) if recorded else "",
    )


def parse_day(text: str, field: str) -> tuple[date | None, str]:
    """A ``YYYY-MM-DD`` from a date input, or the problem to show on ``field``."""
    if not text.strip():
        return None, ""
    try:
        return date.fromisoformat(text.strip()), ""
    except ValueError:
        return None, f"Enter the {field} date as YYYY-MM-DD."


def day_window(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole UTC days: from the start of ``since`` to the end of ``until`` (both included)."""
    start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1) if until else None
    return start, end


def _page(filters: AuditFilter) -> tuple[list[AuditRow], int, list[str], list[str]]:
    rows, total = audit.list_entries(filters)
    facets = audit.facets()
    return [_row(row) for row in rows], total, facets.actions, facets.target_types


class AuditState(SessionState):
    rows: list[AuditRow] = []
    total: int = 0
    offset: int = 0
    loaded: bool = False
    actions: list[str] = []
    target_types: list[str] = []

    actor: str = ""
    action: str = ANY
    target_type: str = ANY
    since: str = ""
    until: str = ""
    search: str = ""
    since_error: str = ""
    until_error: str = ""
    form_key: int = 0
    """Changed by :meth:`clear` so the filter form's inputs start again from the (empty) state."""

    @rx.var
    def showing(self) -> str:
        if self.total == 0:
            return "No entries"
        last = min(self.offset + PAGE_SIZE, self.total)
        return f"{self.offset + 1}-{last} of {self.total}"

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    @rx.var
    def filtered(self) -> bool:
        return bool(
            self.actor or self.search or self.since or self.until or self.action != ANY or self.target_type != ANY
        )

    async def _auditor(self) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(Permission.VIEW_AUDIT)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    async def _refresh(self) -> rx.event.EventSpec | None:
        auditor = await self._auditor()
        if not isinstance(auditor, User):
            return auditor
        since, self.since_error = parse_day(self.since, "from")
        until, self.until_error = parse_day(self.until, "to")
        if self.since_error or self.until_error:
            return None
        start, end = day_window(since, until)
        if start and end and end <= start:
            self.until_error = "Pick a day on or after the first one."
            return None
        filters = AuditFilter(
            actor=self.actor or None,
            action=None if self.action == ANY else self.action,
            target_type=None if self.target_type == ANY else self.target_type,
            since=start,
            until=end,
            search=self.search or None,
            limit=PAGE_SIZE,
            offset=self.offset,
        )
        try:
            self.rows, self.total, self.actions, self.target_types = await asyncio.to_thread(_page, filters)
        except ServiceError as err:
            self.until_error = err.field_errors.get("until", "")
            return rx.toast.error(err.message)
        self.loaded = True
        return None

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_AUDIT)
        if redirect is not None:
            return redirect
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def apply(self, form: dict[str, Any]):
        """The filter form's text fields (actor, search, dates) are read on submit."""
        self.actor = str(form.get("actor", "")).strip()
        self.search = str(form.get("search", "")).strip()
        self.since = str(form.get("since", ""))
        self.until = str(form.get("until", ""))
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def set_action(self, action: str):
        self.action = action
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def set_target_type(self, target_type: str):
        self.target_type = target_type
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def clear(self):
        self.actor = self.search = self.since = self.until = ""
        self.action = self.target_type = ANY
        self.offset = 0
        self.form_key += 1
        return await self._refresh()

    @rx.event
    async def next_page(self):
        if self.offset + PAGE_SIZE < self.total:
            self.offset += PAGE_SIZE
        return await self._refresh()

    @rx.event
    async def previous_page(self):
        self.offset = max(0, self.offset - PAGE_SIZE)
        return await self._refresh()
