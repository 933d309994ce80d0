"""/approvals: the inbox (pending first, due soonest), filters and search, bulk decisions; live."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.db import utcnow
from hitl_studio.models.approvals import Approval, ApprovalStatus
from hitl_studio.models.users import User
from hitl_studio.services import approvals, auth, users
from hitl_studio.services.errors import InvalidInput, ServiceError
from hitl_studio.ui.components.times import relative, stamp
from hitl_studio.ui.state.live_page import Batch, LivePageState

ROUTE = "/approvals"
PAGE_SIZE = 25
ANY = "any"
MINE = "mine"
EVERYTHING = "all"
STATUSES = [status.value for status in ApprovalStatus]


@dataclass
class ApprovalRow:
    id: str
    title: str
    action_type: str
    requester: str
    status: str
    due: str
    due_at: str
    overdue: bool
    created: str
    pending: bool


@dataclass
class BulkFailure:
    title: str
    error: str


def requester_names() -> dict[str, str]:
    """User id → email, to show who asked (requests store the requester's id)."""
    return {user.id: user.email for user in users.list_users()}


def requester_label(approval: Approval, names: dict[str, str]) -> str:
    """Who asked: the person, their agent (``agent_id``), or the workflow that paused for it."""
    person = names.get(approval.requested_by or "", "")
    if approval.agent_id:
        return f"{approval.agent_id} ({person})" if person else approval.agent_id
    if person:
        return person
    return "a workflow" if approval.execution_id else "unknown"


def _row(approval: Approval, names: dict[str, str]) -> ApprovalRow:
    pending = approval.status == ApprovalStatus.PENDING
    overdue = pending and approval.expires_at is not None and approval.expires_at < utcnow()
    return ApprovalRow(
        id=approval.id,
        title=approval.title,
        action_type=approval.action_type or "",
        requester=requester_label(approval, names),
        status=approval.status,
        due=relative(approval.expires_at) if approval.expires_at else "",
        due_at=stamp(approval.expires_at),
        overdue=overdue,
        created=relative(approval.created_at),
        pending=pending,
    )


@dataclass(frozen=True)
class _Query:
    scope: str
    status: str
    search: str
    offset: int


def _fetch(viewer: User, query: _Query) -> tuple[list[ApprovalRow], int]:
    found, total = approvals.list_approvals(
        viewer,
        status=None if query.status == ANY or query.scope == MINE else query.status,
        mine_to_decide=query.scope == MINE,
        search=query.search or None,
        limit=PAGE_SIZE,
        offset=query.offset,
    )
    names = requester_names() if found else {}
    return [_row(approval, names) for approval in found], total


def _is_about_an_approval(event: dict[str, Any]) -> bool:
    return "approval_id" in event


class ApprovalsState(LivePageState):
    rows: list[ApprovalRow] = []
    total: int = 0
    loaded: bool = False
    offset: int = 0
    scope: str = MINE
    status_filter: str = ANY
    search: str = ""
    search_error: str = ""
    selected: list[str] = []
    bulk_feedback: str = ""
    bulk_failures: list[BulkFailure] = []
    _scope_chosen_for: str = ""

    @rx.var
    def filtered(self) -> bool:
        return self.search != "" or (self.scope == EVERYTHING and self.status_filter != ANY)

    @rx.var
    def all_selected(self) -> bool:
        pending = [row.id for row in self.rows if row.pending]
        return bool(pending) and all(approval_id in self.selected for approval_id in pending)

    def _query(self) -> _Query:
        return _Query(self.scope, self.status_filter, self.search.strip(), self.offset)

    def _show(self, rows: list[ApprovalRow], total: int) -> None:
        self.rows = rows
        self.total = total
        self.loaded = True
        # A request decided elsewhere (another tab, Slack, an email link) can no longer be chosen.
        pending = {row.id for row in rows if row.pending}
        self.selected = [approval_id for approval_id in self.selected if approval_id in pending]

    async def _refresh(self, viewer: User | None = None) -> rx.event.EventSpec | None:
        """Re-read the list; returns what to do instead when the session is gone."""
        if viewer is None:
            checked = await self._acting_user(Permission.VIEW_APPROVALS)
            if not isinstance(checked, User):
                return checked
            viewer = checked
        self._begin_read()
        try:
            self._show(*await asyncio.to_thread(_fetch, viewer, self._query()))
            self.search_error = ""
        except InvalidInput as err:
            self.search_error = err.field_errors.get("search", err.message)
        return None

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_APPROVALS)
        if redirect is not None:
            return redirect
        if self._scope_chosen_for != self.user_id:
            # Approvers, builders and admins open on what waits for them; viewers decide nothing.
            self.scope = MINE if self.can_decide_approvals else EVERYTHING
            self._scope_chosen_for = self.user_id
        self.offset = 0
        self.bulk_failures = []
        redirect = await self._refresh()
        if redirect is not None:
            return redirect
        return ApprovalsState.follow(self._next_relay())

    @rx.event(background=True)
    async def follow(self, generation: int):
        """New requests, and decisions made elsewhere, show without a reload."""
        await self._relay(generation, ROUTE, _is_about_an_approval, self._on_events)

    async def _on_events(self, _events: Batch) -> None:
        async with self:
            token, query, ticket = self.token, self._query(), self._begin_read()
        viewer = await asyncio.to_thread(auth.user_for_session, token)
        if viewer is None:
            return
        try:
            fetched = await asyncio.to_thread(_fetch, viewer, query)
        except InvalidInput:
            return
        async with self:
            if self._latest_read(ticket):
                self._show(*fetched)

    @rx.event
    async def set_scope(self, scope: str | list[str]):
        self.scope = MINE if scope == MINE else EVERYTHING
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def set_status_filter(self, status: str):
        self.status_filter = status
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        self.offset = 0
        return await self._refresh()

    @rx.event
    async def page(self, offset: int):
        self.offset = max(0, offset)
        return await self._refresh()

    @rx.event
    def toggle(self, approval_id: str, chosen: bool) -> None:
        others = [selected for selected in self.selected if selected != approval_id]
        self.selected = [*others, approval_id] if chosen else others

    @rx.event
    def toggle_all(self, chosen: bool) -> None:
        self.selected = [row.id for row in self.rows if row.pending] if chosen else []

    @rx.event
    def set_bulk_feedback(self, value: str) -> None:
        self.bulk_feedback = value

    @rx.event
    async def decide_selected(self, decision: str):
        user = await self._acting_user(Permission.DECIDE_APPROVALS)
        if not isinstance(user, User):
            return user
        if not self.selected:
            return rx.toast.info("Tick the requests to decide first.")
        titles = {row.id: row.title for row in self.rows}
        try:
            results = await asyncio.to_thread(
                approvals.decide_many, list(self.selected), decision, self.bulk_feedback.strip() or None, user
            )
        except ServiceError as err:
            return rx.toast.error(err.message)
        failed = [result for result in results if not result.ok]
        self.bulk_failures = [
            BulkFailure(titles.get(result.approval_id, result.approval_id), result.error or "not decided")
            for result in failed
        ]
        self.selected = []
        self.bulk_feedback = ""
        await self._refresh(user)
        done = len(results) - len(failed)
        verb = "Approved" if decision == "approve" else "Rejected"
        message = f"{verb} {done} request{'s' if done != 1 else ''}."
        if failed:
            return rx.toast.warning(f"{message} {len(failed)} could not be decided; see the list above.")
        return rx.toast.success(message)

    @rx.event
    def dismiss_failures(self) -> None:
        self.bulk_failures = []
