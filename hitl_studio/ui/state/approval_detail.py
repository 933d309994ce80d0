"""/approvals/{id}: one request, its form, the decision buttons, its timeline and deliveries; live."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.db import utcnow
from hitl_studio.models.approvals import Approval, ApprovalEvent, ApprovalStatus, EventSource
from hitl_studio.models.users import User
from hitl_studio.services import approvals, auth, deliveries
from hitl_studio.services.approvals import Decider
from hitl_studio.services.errors import InvalidInput, NotFound, ServiceError
from hitl_studio.ui.components import schema_form
from hitl_studio.ui.components.schema_form import FormField, FormValues
from hitl_studio.ui.components.times import relative, stamp
from hitl_studio.ui.state.approvals_inbox import requester_label, requester_names
from hitl_studio.ui.state.live_page import Batch, LivePageState

ROUTE_ARG = "approval_page_id"
ROUTE = f"/approvals/[{ROUTE_ARG}]"

EVENT_LABELS = {
    "approval.created": "Requested",
    "approval.escalated": "Escalated",
    "approval.reminded": "Reminder sent",
    "approval.timed_out": "Timed out",
    "approval.cancelled": "Cancelled",
    "decision.approved": "Approved",
    "decision.rejected": "Rejected",
    "decision.refused": "Decision refused",
    "vote.recorded": "Vote recorded",
    "delivery.attempt": "Delivery attempt",
    "delivery.skipped": "Delivery skipped",
    "delivery.fallback": "Fell back to another channel",
    "delivery.reminder": "Reminder delivered",
    "state.restored": "Earlier state restored",
}
"""Timeline wording per event type; other types show as they are stored."""


@dataclass
class RequestView:
    id: str = ""
    title: str = ""
    description: str = ""
    status: str = ""
    action_type: str = ""
    requester: str = ""
    approvers: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    due: str = ""
    due_at: str = ""
    overdue: bool = False
    created: str = ""
    quorum: int = 1
    votes: int = 0
    decision: str = ""
    responded_by: str = ""
    responded_at: str = ""
    feedback: str = ""
    execution_id: str = ""


@dataclass
class EventRow:
    label: str
    kind: str
    actor: str
    source: str
    when: str
    detail: str


@dataclass
class DeliveryRow:
    channel: str
    recipient: str
    status: str
    attempts: str
    error: str
    decision: str


@dataclass
class Loaded:
    """Everything the page shows, read in one worker thread."""

    approval: Approval
    view: RequestView
    events: list[EventRow]
    deliveries: list[DeliveryRow]
    addressed: bool
    my_vote: str


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) if value not in (None, {}, []) else ""


def _event_detail(event: ApprovalEvent) -> str:
    data = event.data or {}
    parts = []
    for key in ("feedback", "reason", "channel", "recipient", "error", "tier"):
        value = data.get(key)
        if value not in (None, ""):
            parts.append(f"{key}: {value}")
    if data.get("response_data"):
        parts.append("with edits")
    return "; ".join(parts)


def _event_row(event: ApprovalEvent) -> EventRow:
    return EventRow(
        label=EVENT_LABELS.get(event.type, event.type),
        kind=event.type,
        actor=event.actor or "",
        source=event.source,
        when=stamp(event.created_at),
        detail=_event_detail(event),
    )


def _delivery_row(entry: dict[str, Any]) -> DeliveryRow:
    return DeliveryRow(
        channel=str(entry.get("channel") or ""),
        recipient=str(entry.get("recipient") or entry.get("user") or ""),
        status=str(entry.get("status") or ""),
        attempts=f"{entry.get('attempts', 0)}/{entry.get('max_attempts', 0)}",
        error=str(entry.get("last_error") or ""),
        decision=str(entry.get("decision") or ""),
    )


def _view(approval: Approval) -> RequestView:
    pending = approval.status == ApprovalStatus.PENDING
    return RequestView(
        id=approval.id,
        title=approval.title,
        description=approval.description,
        status=approval.status,
        action_type=approval.action_type or "",
        requester=requester_label(approval, requester_names()),
        approvers=list(approval.approvers),
        channels=list(approval.channels),
        due=relative(approval.expires_at) if approval.expires_at else "",
        due_at=stamp(approval.expires_at),
        overdue=pending and approval.expires_at is not None and approval.expires_at < utcnow(),
        created=stamp(approval.created_at),
        quorum=approval.quorum,
        votes=sum(1 for vote in approval.votes if vote.get("decision") == "approve"),
        decision=approval.decision or "",
        responded_by=approval.responded_by or "",
        responded_at=stamp(approval.responded_at),
        feedback=approval.feedback or "",
        execution_id=approval.execution_id or "",
    )


def load_request(approval_id: str, viewer: User) -> Loaded:
    """The request as ``viewer`` may see it, with its timeline and deliveries.

    Raises:
        NotFound: No such request, or not one the viewer may see.
    """
    approval = approvals.get_approval(approval_id, viewer)
    report = deliveries.delivery_report(approval_id, viewer)
    # The studio inbox rows are who the request currently waits for (groups already expanded).
    addressed = any(
        entry.get("channel") == approvals.INBOX_CHANNEL
        and entry.get("user") == viewer.email
        and entry.get("status") != "cancelled"
        for entry in report
    )
    my_vote = next((str(vote.get("decision")) for vote in approval.votes if vote.get("by") == viewer.email), "")
    return Loaded(
        approval=approval,
        view=_view(approval),
        events=[_event_row(event) for event in approvals.list_events(approval_id, viewer)],
        deliveries=[_delivery_row(entry) for entry in report],
        addressed=addressed,
        my_vote=my_vote,
    )


class ApprovalDetailState(LivePageState):
    request: RequestView = RequestView()
    loaded: bool = False
    missing: str = ""
    action_data: str = ""
    response_data: str = ""
    events: list[EventRow] = []
    deliveries: list[DeliveryRow] = []
    fields: list[FormField] = []
    form_text: dict[str, str] = {}
    form_flags: dict[str, bool] = {}
    form_choices: dict[str, list[str]] = {}
    field_errors: dict[str, str] = {}
    form_message: str = ""
    edited: bool = False
    feedback: str = ""
    addressed: bool = False
    my_vote: str = ""
    own_request: bool = False
    _schema: dict[str, Any] = {}

    @rx.var
    def pending(self) -> bool:
        return self.request.status == ApprovalStatus.PENDING

    @rx.var
    def may_decide(self) -> bool:
        """Whether the decision buttons show: a pending request, addressed to this user (or an admin), not voted on."""
        return (
            self.request.status == ApprovalStatus.PENDING
            and allowed(self.user_role, Permission.DECIDE_APPROVALS)
            and (self.addressed or allowed(self.user_role, Permission.MANAGE_USERS))
            and self.my_vote == ""
            and not self.own_request
        )

    @rx.var
    def why_not(self) -> str:
        """Why a pending request offers no buttons to this user ("" when it does, or is decided)."""
        if self.request.status != ApprovalStatus.PENDING:
            return ""
        if not allowed(self.user_role, Permission.DECIDE_APPROVALS):
            return f"Your role ({self.user_role}) can see this request but not decide it."
        if self.my_vote:
            return f"You voted to {self.my_vote}; the request waits for more approvals ({self.request.quorum} needed)."
        if self.own_request:
            return "You asked for this approval; someone else must decide it."
        if not (self.addressed or allowed(self.user_role, Permission.MANAGE_USERS)):
            return "This request is not addressed to you."
        return ""

    @rx.var
    def has_form(self) -> bool:
        return len(self.fields) > 0

    def _approval_id(self) -> str:
        return self.current_path.rsplit("/", 1)[-1]

    def _show(self, loaded: Loaded, *, keep_form: bool) -> None:
        approval = loaded.approval
        self.request = loaded.view
        self.events = loaded.events
        self.deliveries = loaded.deliveries
        self.addressed = loaded.addressed
        self.my_vote = loaded.my_vote
        self.own_request = approval.requested_by == self.user_id and not approval.allow_self_approval
        self.action_data = _pretty(approval.action_data)
        self.response_data = _pretty(approval.response_data)
        self.loaded = True
        self.missing = ""
        if keep_form and self.edited and approval.status == ApprovalStatus.PENDING:
            return  # a live update must not wipe what the approver is typing
        self._schema = dict(approval.ui_schema or {})
        self.fields = schema_form.form_fields(self._schema)
        # A decided request shows the answer it got; a pending one the proposal, ready to edit.
        shown = approval.response_data if approval.response_data is not None else approval.action_data
        values = schema_form.initial_values(self._schema, shown)
        self.form_text, self.form_flags, self.form_choices = values.text, values.flags, values.choices
        self.field_errors = {}
        self.form_message = ""
        self.edited = False

    async def _reload(self, viewer: User, *, keep_form: bool = False) -> None:
        try:
            self._begin_read()
            self._show(await asyncio.to_thread(load_request, self._approval_id(), viewer), keep_form=keep_form)
        except NotFound as err:
            self.missing = err.message
            self.loaded = True

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_APPROVALS)
        if redirect is not None:
            return redirect
        self.loaded = False
        self.feedback = ""
        self.edited = False
        await self._reload(await self.authorize())
        return ApprovalDetailState.follow(self._next_relay(), self.current_path)

    @rx.event(background=True)
    async def follow(self, generation: int, path: str):
        """Decisions made elsewhere (another approver, Slack, an email link) show at once."""
        approval_id = path.rsplit("/", 1)[-1]
        await self._relay(generation, path, lambda event: event.get("approval_id") == approval_id, self._on_events)

    async def _on_events(self, _events: Batch) -> None:
        async with self:
            token, ticket = self.token, self._begin_read()
        viewer = await asyncio.to_thread(auth.user_for_session, token)
        if viewer is None:
            return
        try:
            loaded = await asyncio.to_thread(load_request, self._approval_id(), viewer)
        except NotFound:
            return
        async with self:
            if self._latest_read(ticket):
                self._show(loaded, keep_form=True)

    @rx.event
    def set_text(self, key: str, value: str) -> None:
        self.form_text[key] = "" if value == schema_form.NO_CHOICE else value
        self.field_errors[key] = ""
        self.edited = True

    @rx.event
    def set_flag(self, key: str, checked: bool) -> None:
        self.form_flags[key] = checked
        self.field_errors[key] = ""
        self.edited = True

    @rx.event
    def set_choice(self, key: str, option: str, checked: bool) -> None:
        chosen = [value for value in self.form_choices.get(key, []) if value != option]
        self.form_choices[key] = [*chosen, option] if checked else chosen
        self.field_errors[key] = ""
        self.edited = True

    @rx.event
    def set_feedback(self, value: str) -> None:
        self.feedback = value

    @rx.event
    def reset_form(self) -> None:
        values = schema_form.initial_values(self._schema, json.loads(self.action_data) if self.action_data else {})
        self.form_text, self.form_flags, self.form_choices = values.text, values.flags, values.choices
        self.field_errors = {}
        self.form_message = ""
        self.edited = False

    def _mark(self, errors: dict[str, str], message: str) -> None:
        """Put each error on its field; ``message`` only when no field shows what is wrong."""
        by_field, general = schema_form.errors_by_field(self._schema, errors)
        self.field_errors = by_field
        on_fields = any(by_field.values())
        self.form_message = " ".join(general) or (
            "Fix the marked fields, then approve again." if on_fields else message
        )

    async def _decide(self, decision: str, *, with_edits: bool):
        user = await self._acting_user(Permission.DECIDE_APPROVALS)
        if not isinstance(user, User):
            return user
        response_data = None
        if with_edits:
            response_data, problems = schema_form.read_values(
                self._schema, FormValues(dict(self.form_text), dict(self.form_flags), dict(self.form_choices))
            )
            if problems:
                self._mark(problems, "")
                return None
        try:
            await asyncio.to_thread(
                approvals.decide,
                self.request.id,
                decision,  # type: ignore[arg-type]
                Decider(user, EventSource.STUDIO),
                response_data=response_data,
                feedback=self.feedback.strip() or None,
            )
        except InvalidInput as err:
            self._mark(err.field_errors, err.message)
            return rx.toast.error("The form is not valid; see the marked fields.")
        except ServiceError as err:
            await self._reload(user)
            return rx.toast.error(err.message)
        self.edited = False
        await self._reload(user)
        if decision == "reject":
            return rx.toast.success("Rejected.")
        if self.request.status == ApprovalStatus.PENDING:
            return rx.toast.success("Your approval is recorded; the request waits for more approvers.")
        return rx.toast.success("Approved with your edits." if with_edits else "Approved.")

    @rx.event
    async def approve(self):
        return await self._decide("approve", with_edits=False)

    @rx.event
    async def approve_with_edits(self):
        return await self._decide("approve", with_edits=True)

    @rx.event
    async def reject(self):
        return await self._decide("reject", with_edits=False)
