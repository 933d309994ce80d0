"""Approval requests: from a workflow's Approval node or from an agent over the API.

Every change goes through :func:`_apply`, which refuses transitions the state
machine forbids, takes the row with a compare-and-set (exactly one decision
wins a race; the others get 409), and appends an ``approval_event`` with a
full snapshot of the request, chained by hash to the event before it.

Creates can be made idempotent (:func:`create_once`, the API's ``Idempotency-Key``);
:func:`decide_many` is :func:`decide` for several requests at once; reminders
before a deadline are booked here and sent by ``services.approval_reminders``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import case, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hitl_studio import events
from hitl_studio.approvals import idempotency
from hitl_studio.approvals import reminders as reminder_times
from hitl_studio.approvals.chain import event_hash
from hitl_studio.approvals.forms import response_problems, schema_problem
from hitl_studio.approvals.states import InvalidApprovalTransition, check_transition
from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.approvals import (
    Approval,
    ApprovalEvent,
    ApprovalStatus,
    Delivery,
    DeliveryStatus,
    EventSource,
    TimeoutAction,
)
from hitl_studio.models.users import User, UserGroup, UserGroupMember
from hitl_studio.queue import get_queue
from hitl_studio.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from hitl_studio.services.users import normalize_email
from hitl_studio.settings import get_settings

logger = logging.getLogger(__name__)

CHANNELS = ("studio", "slack", "email", "sms")
INBOX_CHANNEL = "studio"
TIMEOUT_JOB = "hitl_studio.queue.jobs.approval_timeout"
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
WAIT_POLL_SECONDS = 0.2
MAX_SEARCH_LENGTH = 200
MAX_BULK_IDS = 100


class EscalationTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approvers: list[str] = Field(min_length=1, description="Who decides once the request reaches this tier.")
    timeout_seconds: int = Field(ge=1, le=MAX_TIMEOUT_SECONDS, description="This tier's time to decide.")


class ApprovalInput(BaseModel):
    """An approval request, as agents send it and as the Approval node builds it."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    approvers: list[str] = Field(min_length=1, description="User emails or group:<name>.")
    channels: list[str] = Field(default_factory=lambda: ["studio"])
    ui_schema: dict[str, Any] = Field(default_factory=dict, description="JSON Schema of the approver's form.")
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    expires_at: datetime | None = None
    timeout_action: Literal["reject", "approve", "escalate"] = "reject"
    escalation: list[EscalationTier] = Field(default_factory=list, max_length=10)
    quorum: int = Field(default=1, ge=1, le=100)
    allow_self_approval: bool = True
    action_type: str | None = Field(default=None, max_length=200)
    action_data: dict[str, Any] = Field(default_factory=dict)
    callback_url: str | None = Field(default=None, max_length=2000)
    agent_id: str | None = Field(default=None, max_length=200)
    reminders: list[Annotated[int, Field(ge=1, le=MAX_TIMEOUT_SECONDS)]] | None = Field(
        default=None,
        max_length=reminder_times.MAX_REMINDERS,
        description="Seconds before each deadline to remind undecided approvers (default: the studio setting).",
    )

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; use {', '.join(CHANNELS)}")
        return sorted(set(value) | {"studio"}, key=CHANNELS.index)

    @field_validator("reminders")
    @classmethod
    def _distinct_reminders(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else reminder_times.normalize(value)

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


@dataclass(frozen=True)
class Decider:
    """Who decides: a user of the studio, through a channel."""

    user: User
    source: EventSource = EventSource.API


@dataclass(frozen=True)
class Creation:
    """What :func:`create_once` did: ``created`` is False when it returned the caller's earlier request."""

    approval: Approval
    created: bool


@dataclass(frozen=True)
class BulkResult:
    """One id of :func:`decide_many`: ``ok``, or the error a single decision would have given."""

    approval_id: str
    ok: bool
    status: str | None = None
    error: str | None = None
    code: str | None = None


def snapshot(approval: Approval) -> dict[str, Any]:
    """The request's full state, as stored in events and returned by the API."""
    return {
        "id": approval.id,
        "title": approval.title,
        "description": approval.description,
        "status": approval.status,
        "decision": approval.decision,
        "response_data": approval.response_data,
        "feedback": approval.feedback,
        "approvers": approval.approvers,
        "channels": approval.channels,
        "ui_schema": approval.ui_schema,
        "action_type": approval.action_type,
        "action_data": approval.action_data,
        "expires_at": approval.expires_at.isoformat() if approval.expires_at else None,
        "timeout_action": approval.timeout_action,
        "escalation": approval.escalation,
        "escalation_tier": approval.escalation_tier,
        "quorum": approval.quorum,
        "votes": approval.votes,
        "allow_self_approval": approval.allow_self_approval,
        "callback_url": approval.callback_url,
        "agent_id": approval.agent_id,
        "requested_by": approval.requested_by,
        "responded_by": approval.responded_by,
        "responded_at": approval.responded_at.isoformat() if approval.responded_at else None,
        "execution_id": approval.execution_id,
        "node_id": approval.node_id,
        "reminders": approval.reminders,
        # The pointer outlives the decision in the row (a late job checks the status), but is no longer "next".
        "next_reminder_at": (
            approval.next_reminder_at.isoformat()
            if approval.next_reminder_at and approval.status == ApprovalStatus.PENDING
            else None
        ),
        "idempotency_key": approval.idempotency_key,
        "created_at": approval.created_at.isoformat(),
        "updated_at": approval.updated_at.isoformat(),
    }


def _append_event(
    session: Session,
    approval: Approval,
    event_type: str,
    *,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
    source: EventSource | str = EventSource.API,
) -> ApprovalEvent:
    # Take the request's row lock (a no-op UPDATE; on SQLite it takes the write lock) until commit before
    # reading the last hash, so two writers (parallel deliveries, a vote) never chain onto the same event.
    session.execute(
        update(Approval)
        .where(col(Approval.id) == approval.id)
        .values(updated_at=col(Approval.updated_at))
        .execution_options(synchronize_session=False)
    )
    previous = session.exec(
        select(ApprovalEvent.hash)
        .where(ApprovalEvent.approval_id == approval.id)
        .order_by(col(ApprovalEvent.id).desc())
        .limit(1)
    ).first()
    created_at = utcnow()
    state = snapshot(approval)
    payload = data or {}
    digest = event_hash(
        previous,
        event_type=event_type,
        data=payload,
        snapshot=state,
        actor=actor,
        source=str(source),
        created_at=created_at,
    )
    event = ApprovalEvent(
        approval_id=approval.id,
        type=event_type,
        data=payload,
        state_snapshot=state,
        actor=actor,
        source=str(source),
        prev_hash=previous,
        hash=digest,
        created_at=created_at,
    )
    session.add(event)
    return event


def _resolve_approvers(session: Session, approvers: list[str], field: str = "approvers") -> list[str]:
    """Normalise approvers and refuse unknown users or groups (naming them)."""
    resolved: list[str] = []
    unknown: list[str] = []
    cannot: list[str] = []
    for raw in approvers:
        entry = raw.strip()
        if entry.startswith("group:"):
            name = entry.removeprefix("group:").strip()
            if session.exec(select(UserGroup.id).where(UserGroup.name == name)).first() is None:
                unknown.append(entry)
            resolved.append(f"group:{name}")
            continue
        email = normalize_email(entry)
        role = session.exec(select(User.role).where(User.email == email, col(User.active))).first()
        if role is None:
            unknown.append(entry)
        elif not allowed(role, Permission.DECIDE_APPROVALS):
            cannot.append(entry)
        resolved.append(email)
    if unknown:
        message = f"Unknown approver(s): {', '.join(unknown)}. Use the email of an active user or group:<name>."
        raise InvalidInput(message, field_errors={field: message})
    if cannot:
        message = f"{', '.join(cannot)} cannot decide approvals (viewer role); give them the approver role first."
        raise InvalidInput(message, field_errors={field: message})
    return list(dict.fromkeys(resolved))


def _deadline(data: ApprovalInput) -> datetime | None:
    if data.timeout_seconds is not None and data.expires_at is not None:
        message = "Give timeout_seconds or expires_at, not both."
        raise InvalidInput(message, field_errors={"expires_at": message})
    if data.expires_at is not None:
        expires_at = data.expires_at if data.expires_at.tzinfo else data.expires_at.replace(tzinfo=utcnow().tzinfo)
        if expires_at <= utcnow():
            message = "expires_at is in the past; give a future time."
            raise InvalidInput(message, field_errors={"expires_at": message})
        return expires_at
    if data.timeout_seconds is not None:
        return utcnow() + timedelta(seconds=data.timeout_seconds)
    return None


def _check_input(data: ApprovalInput) -> None:
    problem = schema_problem(data.ui_schema)
    if problem:
        raise InvalidInput(f"ui_schema is not a valid JSON Schema: {problem}", field_errors={"ui_schema": problem})
    if data.timeout_action == TimeoutAction.ESCALATE and not data.escalation:
        message = "timeout_action 'escalate' needs at least one escalation tier."
        raise InvalidInput(message, field_errors={"escalation": message})


def _reminder_offsets(data: ApprovalInput, expires_at: datetime | None) -> list[int]:
    """The request's reminders: its own (checked against its deadlines) or the studio's default.

    Raises:
        InvalidInput: Reminders without a deadline, or one that comes before no deadline at all.
    """
    if data.reminders is None:
        return list(get_settings().approval_reminder_seconds)
    if data.reminders and expires_at is None:
        message = "reminders need a deadline: give timeout_seconds or expires_at too."
        raise InvalidInput(message, field_errors={"reminders": message})
    if data.reminders and expires_at is not None:
        first = data.timeout_seconds or math.ceil((expires_at - utcnow()).total_seconds())
        longest = max([first] + [tier.timeout_seconds for tier in data.escalation])
        never = [str(offset) for offset in data.reminders if offset >= longest]
        if never:
            message = (
                f"reminder(s) {', '.join(never)} s before the deadline would never be sent: "
                f"the longest deadline is {longest} s away."
            )
            raise InvalidInput(message, field_errors={"reminders": message})
    return data.reminders


def create_approval(
    data: ApprovalInput,
    *,
    requested_by: User | None,
    source: EventSource = EventSource.API,
    execution_id: str | None = None,
    node_id: str | None = None,
) -> Approval:
    """Record a pending request, log it, and book its timeout and reminders.

    Raises:
        InvalidInput: A field is wrong (unknown approvers, past expires_at, bad ui_schema...), naming it.
    """
    return _create(data, requested_by=requested_by, source=source, execution_id=execution_id, node_id=node_id)


def create_once(
    data: ApprovalInput, *, requested_by: User, idempotency_key: str, source: EventSource = EventSource.API
) -> Creation:
    """Like :func:`create_approval`, but a key the caller already used returns that request instead.

    Safe under concurrency: the unique index on (requested_by, idempotency_key)
    lets one insert win; the loser reads the winner's row.

    Raises:
        InvalidInput: A malformed key (field ``Idempotency-Key``), or a wrong field as in :func:`create_approval`.
        Conflict: The key was used before with a different body.
    """
    problem = idempotency.key_problem(idempotency_key)
    if problem:
        raise InvalidInput(f"{idempotency.HEADER} {problem}.", field_errors={idempotency.HEADER: problem})
    digest = idempotency.fingerprint(data.model_dump(mode="json"))
    earlier = _by_key(requested_by.id, idempotency_key)
    if earlier is not None:
        return Creation(_replayed(earlier, idempotency_key, digest), created=False)
    try:
        created = _create(data, requested_by=requested_by, source=source, key_and_hash=(idempotency_key, digest))
    except IntegrityError:
        earlier = _by_key(requested_by.id, idempotency_key)
        if earlier is None:
            raise
        return Creation(_replayed(earlier, idempotency_key, digest), created=False)
    return Creation(created, created=True)


def _by_key(user_id: str, key: str) -> Approval | None:
    with session_scope() as session:
        return session.exec(
            select(Approval).where(Approval.requested_by == user_id, Approval.idempotency_key == key)
        ).first()


def _replayed(earlier: Approval, key: str, digest: str) -> Approval:
    if earlier.idempotency_hash != digest:
        problem = f"already used for request {earlier.id} with a different body; use a new key for a new request"
        raise Conflict(f"{idempotency.HEADER} {key!r} was {problem}.", field_errors={idempotency.HEADER: problem})
    return earlier


def _create(
    data: ApprovalInput,
    *,
    requested_by: User | None,
    source: EventSource,
    execution_id: str | None = None,
    node_id: str | None = None,
    key_and_hash: tuple[str, str] | None = None,
) -> Approval:
    _check_input(data)
    expires_at = _deadline(data)
    offsets = _reminder_offsets(data, expires_at)
    with session_scope() as session:
        approvers = _resolve_approvers(session, data.approvers)
        escalation = [
            {
                "approvers": _resolve_approvers(session, tier.approvers, "escalation"),
                "timeout_seconds": tier.timeout_seconds,
            }
            for tier in data.escalation
        ]
        if data.quorum > 1 and data.quorum > _count_people(session, approvers):
            message = f"quorum {data.quorum} is more than the {_count_people(session, approvers)} approver(s) named."
            raise InvalidInput(message, field_errors={"quorum": message})
        approval = Approval(
            title=data.title,
            description=data.description,
            agent_id=data.agent_id,
            action_type=data.action_type,
            action_data=data.action_data,
            ui_schema=data.ui_schema,
            approvers=approvers,
            channels=data.channels,
            expires_at=expires_at,
            timeout_action=data.timeout_action,
            escalation=escalation,
            quorum=data.quorum,
            allow_self_approval=data.allow_self_approval,
            callback_url=data.callback_url,
            requested_by=requested_by.id if requested_by else None,
            execution_id=execution_id,
            node_id=node_id,
            reminders=offsets,
            next_reminder_at=reminder_times.next_reminder(expires_at, offsets, utcnow()),
            idempotency_key=key_and_hash[0] if key_and_hash else None,
            idempotency_hash=key_and_hash[1] if key_and_hash else None,
        )
        session.add(approval)
        session.flush()
        _sync_inbox(session, approval)
        _append_event(
            session, approval, "approval.created", actor=requested_by.email if requested_by else None, source=source
        )
    _schedule_timeout(approval)
    _schedule_reminder(approval)
    _announce(approval, "approval.created")
    return approval


def _sync_inbox(session: Session, approval: Approval) -> None:
    """Keep one ``studio`` delivery row per current approver: the studio inbox, indexed by recipient.

    Groups are expanded to their members when the request is made (or escalated), so
    "what is waiting for me" is one indexed join instead of a scan of every request.
    """
    wanted = _people(session, approval.approvers)
    rows = {
        row.recipient: row
        for row in session.exec(
            select(Delivery).where(Delivery.approval_id == approval.id, Delivery.channel == INBOX_CHANNEL)
        )
    }
    now = utcnow()
    for email, row in rows.items():
        if email not in wanted and row.status != DeliveryStatus.CANCELLED:
            row.status = DeliveryStatus.CANCELLED.value
            session.add(row)
    for email in wanted:
        row = rows.get(email)
        if row is None:
            session.add(
                Delivery(
                    approval_id=approval.id,
                    channel=INBOX_CHANNEL,
                    recipient=email,
                    status=DeliveryStatus.DELIVERED.value,
                    attempts=1,
                    max_attempts=1,
                    sent_at=now,
                    delivered_at=now,
                )
            )
        elif row.status == DeliveryStatus.CANCELLED:
            row.status = DeliveryStatus.DELIVERED.value
            session.add(row)


def _people(session: Session, approvers: list[str]) -> set[str]:
    """The emails of everyone the approver entries name (groups expanded to their active members)."""
    people: set[str] = set()
    for entry in approvers:
        if entry.startswith("group:"):
            rows = session.exec(
                select(User.email)
                .join(UserGroupMember, col(UserGroupMember.user_id) == col(User.id))
                .join(UserGroup, col(UserGroup.id) == col(UserGroupMember.group_id))
                .where(UserGroup.name == entry.removeprefix("group:"), col(User.active))
            )
            people.update(rows)
        else:
            people.add(entry)
    return people


def _count_people(session: Session, approvers: list[str]) -> int:
    return len(_people(session, approvers))


def _timeout_job_id(approval: Approval) -> str:
    return f"approval-timeout-{approval.id}-{approval.escalation_tier}"


def _schedule_timeout(approval: Approval) -> None:
    if approval.expires_at is None or approval.status != ApprovalStatus.PENDING:
        return
    get_queue().enqueue_at(
        approval.expires_at,
        TIMEOUT_JOB,
        approval.id,
        approval.expires_at.isoformat(),
        job_id=_timeout_job_id(approval),
    )


def _schedule_reminder(approval: Approval) -> None:
    from hitl_studio.services import approval_reminders

    approval_reminders.schedule(approval)


def _cancel_reminder(approval: Approval, due: datetime | None) -> None:
    from hitl_studio.services import approval_reminders

    approval_reminders.cancel(approval.id, due)


def _announce(approval: Approval, event_type: str) -> None:
    events.publish(event_type, approval_id=approval.id, status=approval.status, execution_id=approval.execution_id)
    from hitl_studio.services import approval_notifications, deliveries

    approval_notifications.notify(approval, event_type)
    deliveries.on_approval_event(approval, event_type)


def is_addressed_to(session: Session, approval: Approval, user: User) -> bool:
    """Whether ``user`` is among the request's current approvers (directly or through a group)."""
    if user.email in approval.approvers:
        return True
    groups = [entry.removeprefix("group:") for entry in approval.approvers if entry.startswith("group:")]
    if not groups:
        return False
    member = session.exec(
        select(UserGroupMember.id)
        .join(UserGroup, col(UserGroup.id) == col(UserGroupMember.group_id))
        .where(col(UserGroup.name).in_(groups), UserGroupMember.user_id == user.id)
    ).first()
    return member is not None


def _refuse(approval_id: str, decider: Decider, reason: str, error: Exception) -> Exception:
    """Log a refused decision attempt as an event (in its own transaction), then hand back the error."""
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is not None:
            _append_event(
                session,
                approval,
                "decision.refused",
                data={"reason": reason},
                actor=decider.user.email,
                source=decider.source,
            )
    return error


def decide(
    approval_id: str,
    decision: Literal["approve", "reject"],
    decider: Decider,
    *,
    response_data: dict[str, Any] | None = None,
    feedback: str | None = None,
) -> Approval:
    """Record one approver's decision; the request is decided when it reaches quorum, or at once on a reject.

    Raises:
        NotFound: No such request (or not visible to this user).
        Forbidden: Not an addressed approver (or admin), or self-approval is off for this request.
        InvalidInput: ``response_data`` does not match the form (fields named).
        Conflict: Already decided (another decision won), or this approver already voted.
    """
    user = decider.user
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is None:
            raise NotFound(f"No approval with id {approval_id}.")
        addressed = is_addressed_to(session, approval, user) or allowed(user.role, Permission.MANAGE_USERS)
        may_decide = allowed(user.role, Permission.DECIDE_APPROVALS)
        status = approval.status
        schema = approval.ui_schema
        own_request = approval.requested_by == user.id and not approval.allow_self_approval
        already_voted = any(vote.get("by") == user.email for vote in approval.votes)
    if not may_decide:
        message = f"Your role ({user.role}) cannot decide approvals; ask an admin."
        raise _refuse(approval_id, decider, "role cannot decide", Forbidden(message))
    if not addressed:
        raise _refuse(approval_id, decider, "not an approver", Forbidden("This request is not addressed to you."))
    if own_request:
        message = "You asked for this approval; it must be decided by someone else."
        raise _refuse(approval_id, decider, "self-approval", Forbidden(message))
    if status != ApprovalStatus.PENDING:
        raise _refuse(approval_id, decider, f"already {status}", Conflict(f"This request is already {status}."))
    if already_voted:
        raise _refuse(approval_id, decider, "already voted", Conflict("You have already approved this request."))
    if decision == "approve" and response_data is not None:
        problems = response_problems(schema, response_data)
        if problems:
            summary = "; ".join(f"{field}: {problem}" for field, problem in problems.items())
            error = InvalidInput(f"The form is not valid: {summary}", field_errors=problems)
            raise _refuse(approval_id, decider, f"invalid response: {summary}", error)
    return _record_vote(approval_id, decision, decider, response_data, feedback)


def decide_many(
    approval_ids: list[str],
    decision: str,
    feedback: str | None,
    actor: User,
    *,
    source: EventSource = EventSource.STUDIO,
) -> list[BulkResult]:
    """Approve or reject several requests, each exactly as :func:`decide` would (checks, race, events).

    One id failing (decided meanwhile, not addressed to ``actor``...) does not stop
    the others: each gets its own result, in the order given, each id once.

    Raises:
        InvalidInput: No ids, too many (fields ``approval_ids``), or an unknown ``decision``.
    """
    if decision not in ("approve", "reject"):
        message = f"decision must be approve or reject, not {decision!r}."
        raise InvalidInput(message, field_errors={"decision": message})
    ids = list(dict.fromkeys(approval_id.strip() for approval_id in approval_ids if approval_id.strip()))
    if not ids or len(ids) > MAX_BULK_IDS:
        message = f"Choose between 1 and {MAX_BULK_IDS} requests (got {len(ids)})."
        raise InvalidInput(message, field_errors={"approval_ids": message})
    decider = Decider(actor, source)
    results: list[BulkResult] = []
    for approval_id in ids:
        try:
            decided = decide(approval_id, decision, decider, feedback=feedback)  # type: ignore[arg-type]
        except ServiceError as err:
            results.append(BulkResult(approval_id, ok=False, error=err.message, code=err.code))
        else:
            results.append(BulkResult(approval_id, ok=True, status=decided.status))
    return results


def _record_vote(
    approval_id: str,
    decision: str,
    decider: Decider,
    response_data: dict[str, Any] | None,
    feedback: str | None,
) -> Approval:
    now = utcnow()
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is None:
            raise NotFound(f"No approval with id {approval_id}.")
        if approval.status != ApprovalStatus.PENDING:
            message = f"This request is already {approval.status}."
            raise _refuse(approval_id, decider, f"already {approval.status}", Conflict(message))
        previous_updated = approval.updated_at
        vote = {"by": decider.user.email, "decision": decision, "at": now.isoformat(), "source": str(decider.source)}
        votes = [*approval.votes, vote]
        approvals = sum(1 for entry in votes if entry["decision"] == "approve")
        final = decision == "reject" or approvals >= approval.quorum
        changes: dict[str, Any] = {"votes": votes, "updated_at": now}
        if final:
            target = ApprovalStatus.APPROVED if decision == "approve" else ApprovalStatus.REJECTED
            check_transition(approval.status, target)
            changes.update(
                status=target.value,
                decision=decision,
                response_data=response_data,
                feedback=feedback,
                responded_by=decider.user.email,
                responded_at=now,
            )
        # Compare-and-set on status and the last change: of two simultaneous decisions exactly one matches.
        result = session.execute(
            update(Approval)
            .where(
                col(Approval.id) == approval_id,
                col(Approval.status) == ApprovalStatus.PENDING.value,
                col(Approval.updated_at) == previous_updated,
            )
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise _refuse(approval_id, decider, "lost a race", Conflict("Another decision was recorded first."))
        for key, value in changes.items():
            setattr(approval, key, value)
        event_type = f"decision.{'approved' if decision == 'approve' else 'rejected'}" if final else "vote.recorded"
        _append_event(
            session,
            approval,
            event_type,
            data={"decision": decision, "feedback": feedback, "response_data": response_data},
            actor=decider.user.email,
            source=decider.source,
        )
    if final:
        _after_decision(approval, event_type)
    else:
        _announce(approval, event_type)
    return approval


def _after_decision(approval: Approval, event_type: str) -> None:
    if approval.expires_at is not None:
        get_queue().cancel(_timeout_job_id(approval))
    _cancel_reminder(approval, approval.next_reminder_at)
    _announce(approval, event_type)
    if approval.execution_id:
        _resume_run(approval)


def _resume_run(approval: Approval) -> None:
    """Continue the paused run on the branch matching the outcome, with the decision on every item."""
    from hitl_studio.services import executions

    executions.resume_with_approval(approval.execution_id or "", approval_outcome(approval))


def approval_outcome(approval: Approval) -> dict[str, Any]:
    """What the Approval node's items carry once the request is decided."""
    branch = {
        ApprovalStatus.APPROVED: 0,
        ApprovalStatus.REJECTED: 1,
        ApprovalStatus.TIMEOUT: 2,
    }.get(ApprovalStatus(approval.status), 1)
    return {
        "branch": branch,
        "approval": {
            "id": approval.id,
            "status": approval.status,
            "decision": approval.decision,
            "response_data": approval.response_data,
            "feedback": approval.feedback,
            "responded_by": approval.responded_by,
            "responded_at": approval.responded_at.isoformat() if approval.responded_at else None,
        },
    }


def cancel_approval(approval_id: str, *, actor: User, source: EventSource = EventSource.API) -> Approval:
    """Withdraw a pending request (its requester or an admin); a workflow waiting on it is cancelled too."""
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is None:
            raise NotFound(f"No approval with id {approval_id}.")
        if approval.requested_by != actor.id and not allowed(actor.role, Permission.MANAGE_USERS):
            raise Forbidden("Only the requester or an admin can cancel this request.")
        _transition(session, approval, ApprovalStatus.CANCELLED, "approval.cancelled", actor=actor.email, source=source)
    get_queue().cancel(_timeout_job_id(approval))
    _cancel_reminder(approval, approval.next_reminder_at)
    _announce(approval, "approval.cancelled")
    if approval.execution_id:
        from hitl_studio.services import executions

        try:
            executions.cancel_execution(approval.execution_id, actor=actor)
        except Conflict:
            logger.info("run %s of cancelled approval %s had already ended", approval.execution_id, approval.id)
    return approval


def _transition(
    session: Session,
    approval: Approval,
    target: ApprovalStatus,
    event_type: str,
    *,
    actor: str | None,
    source: EventSource | str,
    data: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """Apply a status change with a compare-and-set, and log it.

    Raises:
        Conflict: The request is no longer in the status this change expects.
    """
    current = approval.status
    try:
        check_transition(current, target)
    except InvalidApprovalTransition as err:
        raise Conflict(f"This request is already {current}.") from err
    values = {"status": target.value, "updated_at": utcnow(), **changes}
    result = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval.id, col(Approval.status) == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The request changed meanwhile; reload it.")
    for key, value in values.items():
        setattr(approval, key, value)
    _append_event(session, approval, event_type, data=data, actor=actor, source=source)


def fire_timeout(approval_id: str, due: str) -> str | None:
    """The job at a request's deadline: apply its timeout action, or escalate to the next tier."""
    previous_reminder: datetime | None = None
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is None or approval.status != ApprovalStatus.PENDING or approval.expires_at is None:
            return None
        if abs((approval.expires_at - datetime.fromisoformat(due)).total_seconds()) > 1:
            return None
        if approval.expires_at > utcnow() + timedelta(seconds=1):
            return None
        tiers = approval.escalation
        if approval.timeout_action == TimeoutAction.ESCALATE and approval.escalation_tier < len(tiers):
            tier = tiers[approval.escalation_tier]
            expires_at = utcnow() + timedelta(seconds=int(tier["timeout_seconds"]))
            previous_reminder = approval.next_reminder_at
            approval.approvers = list(tier["approvers"])
            approval.escalation_tier += 1
            approval.expires_at = expires_at
            # The new tier's approvers get the same reminders before their own deadline.
            approval.next_reminder_at = reminder_times.next_reminder(expires_at, approval.reminders, utcnow())
            approval.updated_at = utcnow()
            session.add(approval)
            _sync_inbox(session, approval)
            _append_event(
                session,
                approval,
                "approval.escalated",
                data={"tier": approval.escalation_tier, "approvers": approval.approvers},
                source=EventSource.ESCALATION_JOB,
            )
            outcome = "escalated"
        elif approval.timeout_action == TimeoutAction.APPROVE:
            _transition(
                session,
                approval,
                ApprovalStatus.APPROVED,
                "decision.approved",
                actor="timeout",
                source=EventSource.TIMEOUT_JOB,
                data={"reason": "no decision before the deadline; approved by the timeout rule"},
                decision="approve",
                responded_by="timeout",
                responded_at=utcnow(),
            )
            outcome = "approved"
        else:
            _transition(
                session,
                approval,
                ApprovalStatus.TIMEOUT,
                "approval.timed_out",
                actor="timeout",
                source=EventSource.TIMEOUT_JOB,
                data={"reason": "no decision before the deadline"},
                decision="reject",
                responded_by="timeout",
                responded_at=utcnow(),
            )
            outcome = "timeout"
    if outcome == "escalated":
        _schedule_timeout(approval)
        _cancel_reminder(approval, previous_reminder)
        _schedule_reminder(approval)
        _announce(approval, "approval.escalated")
    else:
        _after_decision(approval, "decision.approved" if outcome == "approved" else "approval.timed_out")
    return outcome


def get_approval(approval_id: str, viewer: User) -> Approval:
    """A request, if the viewer may see it (its requester, an addressed approver, or an admin)."""
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is None or not _visible(session, approval, viewer):
            raise NotFound(f"No approval with id {approval_id}.")
        return approval


def _visible(session: Session, approval: Approval, viewer: User) -> bool:
    return (
        allowed(viewer.role, Permission.MANAGE_USERS)
        or approval.requested_by == viewer.id
        or is_addressed_to(session, approval, viewer)
    )


def list_approvals(
    viewer: User,
    *,
    status: str | None = None,
    mine_to_decide: bool = False,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Approval], int]:
    """Requests the viewer may see, in inbox order: pending first, then soonest due, then newest.

    Args:
        viewer: Who is looking (admins see every request).
        status: Only requests in this status.
        mine_to_decide: Only pending requests addressed to the viewer that they have not voted on yet.
        search: Text the title or the description contains, whatever its case.
        limit: Page size.
        offset: Rows to skip.

    Returns:
        The page and the total number of matching requests.

    Raises:
        InvalidInput: ``search`` is longer than :data:`MAX_SEARCH_LENGTH` (field ``search``).
    """
    term = _search_term(search)
    if mine_to_decide:
        return _inbox(viewer, term=term, limit=limit, offset=offset)
    query = select(Approval)
    if status:
        query = query.where(col(Approval.status) == status)
    if term:
        query = query.where(_matches(term))
    query = query.order_by(*_inbox_order())
    with session_scope() as session:
        if allowed(viewer.role, Permission.MANAGE_USERS):
            # Admins see everything: count and page in SQL.
            total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
            return list(session.exec(query.offset(offset).limit(limit))), int(total)
        rows = [row for row in session.exec(query) if _visible(session, row, viewer)]
    return rows[offset : offset + limit], len(rows)


def _inbox_order() -> tuple[Any, ...]:
    """Pending first, then soonest due (no deadline last), then newest."""
    return (
        case((col(Approval.status) == ApprovalStatus.PENDING.value, 0), else_=1),
        col(Approval.expires_at).is_(None),
        col(Approval.expires_at),
        col(Approval.created_at).desc(),
    )


def _search_term(search: str | None) -> str | None:
    term = (search or "").strip()
    if len(term) > MAX_SEARCH_LENGTH:
        message = f"search is {len(term)} characters long; use at most {MAX_SEARCH_LENGTH}."
        raise InvalidInput(message, field_errors={"search": message})
    return term or None


def _matches(term: str) -> Any:
    """Title or description contains ``term``, case-insensitively, with LIKE's wildcards taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(
        col(Approval.title).ilike(pattern, escape="\\"),
        col(Approval.description).ilike(pattern, escape="\\"),
    )


def _inbox(viewer: User, *, term: str | None, limit: int, offset: int) -> tuple[list[Approval], int]:
    """Pending requests waiting for the viewer's decision, soonest due then newest (SQL on the inbox rows)."""
    waiting = (
        select(Approval.id, Approval.votes)
        .join(Delivery, col(Delivery.approval_id) == col(Approval.id))
        .where(
            Delivery.channel == INBOX_CHANNEL,
            Delivery.recipient == viewer.email,
            col(Delivery.status) != DeliveryStatus.CANCELLED.value,
            col(Approval.status) == ApprovalStatus.PENDING.value,
        )
        .order_by(*_inbox_order()[1:])
    )
    if term:
        waiting = waiting.where(_matches(term))
    with session_scope() as session:
        # Requests the viewer already voted on (a quorum not reached yet) are not waiting for them.
        ids = [
            approval_id
            for approval_id, votes in session.exec(waiting)
            if not any(vote.get("by") == viewer.email for vote in votes)
        ]
        page = ids[offset : offset + limit]
        rows = {row.id: row for row in session.exec(select(Approval).where(col(Approval.id).in_(page)))}
    return [rows[approval_id] for approval_id in page], len(ids)


def list_events(approval_id: str, viewer: User) -> list[ApprovalEvent]:
    get_approval(approval_id, viewer)
    with session_scope() as session:
        return list(
            session.exec(
                select(ApprovalEvent).where(ApprovalEvent.approval_id == approval_id).order_by(col(ApprovalEvent.id))
            )
        )


def verify_chain(approval_id: str, viewer: User) -> dict[str, Any]:
    """Recompute the hash chain; report the first event that does not match."""
    history = list_events(approval_id, viewer)
    previous: str | None = None
    for event in history:
        expected = event_hash(
            previous,
            event_type=event.type,
            data=event.data,
            snapshot=event.state_snapshot,
            actor=event.actor,
            source=event.source,
            created_at=event.created_at,
        )
        if event.prev_hash != previous or event.hash != expected:
            return {"valid": False, "events": len(history), "first_invalid_event_id": event.id}
        previous = event.hash
    return {"valid": True, "events": len(history), "first_invalid_event_id": None}


RESTORABLE = (
    "title",
    "description",
    "status",
    "decision",
    "response_data",
    "feedback",
    "approvers",
    "channels",
    "ui_schema",
    "action_data",
    "timeout_action",
    "escalation",
    "escalation_tier",
    "quorum",
    "votes",
)


def restore_snapshot(approval_id: str, event_id: int, *, actor: User) -> Approval:
    """Make the state recorded by an earlier event current again, as a new event (admins only)."""
    if not allowed(actor.role, Permission.MANAGE_USERS):
        raise Forbidden("Only admins can restore an approval's earlier state.")
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        event = session.get(ApprovalEvent, event_id)
        if approval is None or event is None or event.approval_id != approval_id:
            raise NotFound(f"No event {event_id} on approval {approval_id}.")
        state = event.state_snapshot
        for key in RESTORABLE:
            setattr(approval, key, state.get(key))
        approval.updated_at = utcnow()
        session.add(approval)
        _append_event(
            session,
            approval,
            "state.restored",
            data={"from_event_id": event_id},
            actor=actor.email,
            source=EventSource.STUDIO,
        )
    _announce(approval, "state.restored")
    return approval


def pending_timeouts() -> list[Approval]:
    """Pending requests with a deadline (the reconciler re-books their timeout jobs)."""
    with session_scope() as session:
        return list(
            session.exec(
                select(Approval).where(
                    col(Approval.status) == ApprovalStatus.PENDING.value, col(Approval.expires_at).is_not(None)
                )
            )
        )


def reschedule_timeouts() -> int:
    rows = pending_timeouts()
    for approval in rows:
        _schedule_timeout(approval)
    return len(rows)


def cancel_for_execution(execution_id: str) -> int:
    """Withdraw the pending requests of a run that was cancelled; returns how many."""
    with session_scope() as session:
        pending = list(
            session.exec(
                select(Approval).where(
                    Approval.execution_id == execution_id, col(Approval.status) == ApprovalStatus.PENDING.value
                )
            )
        )
        for approval in pending:
            _transition(
                session,
                approval,
                ApprovalStatus.CANCELLED,
                "approval.cancelled",
                actor=None,
                source=EventSource.WORKFLOW,
                data={"reason": "its run was cancelled"},
            )
    for approval in pending:
        get_queue().cancel(_timeout_job_id(approval))
        _cancel_reminder(approval, approval.next_reminder_at)
        _announce(approval, "approval.cancelled")
    return len(pending)


def record_event(
    approval_id: str,
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    source: EventSource | str,
    actor: str | None = None,
) -> None:
    """Append an event that changes nothing but must be on the timeline (a delivery attempt, a webhook call)."""
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is not None:
            _append_event(session, approval, event_type, data=data, actor=actor, source=source)
