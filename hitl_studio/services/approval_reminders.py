"""Reminders before an approval's deadline: the approvers who have not decided hear about it again.

A request's ``reminders`` are offsets in seconds before its deadline (its own,
or ``HITL_APPROVAL_REMINDER_SECONDS``); ``approval.next_reminder_at`` points at
the next one. One job (:func:`send_reminder`) is booked for that time. It
moves the pointer on with a compare-and-set first, so a job that runs twice
(the reconciler re-booked it, a worker retried it) reminds once; then it
writes an ``approval.reminded`` event and sends every undecided approver a
"Reminder: ..." message on each channel that reached them before (email,
SMS, Slack), each with a fresh personal link, each logged as a
``delivery.reminder`` event. People reached only in the studio inbox get the
event (and the live bus message), no message.

A decision, a timeout or a cancellation cancels the booked job; a job that
still runs finds the request decided and does nothing. An escalation points
the reminders at the new tier's deadline. :func:`reschedule` (the reconciler)
books the job of every pending request's next reminder again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from hitl_studio import events
from hitl_studio.approvals import reminders as reminder_times
from hitl_studio.channels import CHANNELS, ChannelError, approver_users, links
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.approvals import Approval, ApprovalStatus, Delivery, DeliveryStatus, EventSource
from hitl_studio.queue import get_queue
from hitl_studio.services import approvals

logger = logging.getLogger(__name__)

REMINDER_JOB = "hitl_studio.services.approval_reminders.send_reminder"
REACHED = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value)
# A job's due time and the stored pointer are the same instant; the slack absorbs serialisation.
DUE_TOLERANCE = timedelta(seconds=1)


@dataclass(frozen=True)
class _Target:
    """One message to send: a delivery that reached an approver who has not decided yet."""

    delivery_id: str
    channel: str
    recipient: str
    user: str


def job_id(approval_id: str, due: datetime) -> str:
    return f"approval-reminder-{approval_id}-{int(due.timestamp())}"


def schedule(approval: Approval) -> None:
    """Book the job of the request's next reminder; nothing without one, or once decided.

    Never raises: the approval change stands, and the reconciler books the job again.
    """
    due = approval.next_reminder_at
    if due is None or approval.status != ApprovalStatus.PENDING:
        return
    try:
        get_queue().enqueue_at(due, REMINDER_JOB, approval.id, due.isoformat(), job_id=job_id(approval.id, due))
    except Exception:
        logger.exception("could not book the reminder of approval %s; the reconciler will", approval.id)


def cancel(approval_id: str, due: datetime | None) -> None:
    """Drop the booked reminder job due at ``due`` (if it still runs, it finds nothing to do)."""
    if due is None:
        return
    try:
        get_queue().cancel(job_id(approval_id, due))
    except Exception:
        logger.exception("could not cancel the reminder job of approval %s; it will find it decided", approval_id)


def reschedule() -> int:
    """For the reconciler: book the next reminder of every pending request (booked jobs are left as they are)."""
    with session_scope() as session:
        pending = list(
            session.exec(
                select(Approval).where(
                    col(Approval.status) == ApprovalStatus.PENDING.value, col(Approval.next_reminder_at).is_not(None)
                )
            )
        )
    for approval in pending:
        schedule(approval)
    return len(pending)


def send_reminder(approval_id: str, due: str) -> int | None:
    """The job at a reminder's time: remind every approver who has not decided yet.

    Returns:
        How many channel messages went out, or None when there was nothing to do
        (decided, past its deadline, or a stale job for a reminder already sent).
    """
    claimed = _claim(approval_id, datetime.fromisoformat(due))
    if claimed is None:
        return None
    approval, offset, undecided, targets = claimed
    schedule(approval)  # the next one, before sending: a slow or failing channel must not lose it
    approvals.record_event(
        approval.id,
        "approval.reminded",
        {
            "seconds_before_deadline": offset,
            "approvers": undecided,
            "channels": sorted({target.channel for target in targets}),
            "next_reminder_at": approval.next_reminder_at.isoformat() if approval.next_reminder_at else None,
        },
        source=EventSource.REMINDER_JOB,
    )
    events.publish("approval.reminded", approval_id=approval.id, status=approval.status, approvers=undecided)
    return sum(1 for target in targets if _remind(approval, target))


def _claim(approval_id: str, due: datetime) -> tuple[Approval, int, list[str], list[_Target]] | None:
    """Move the request's reminder pointer past ``due`` (compare-and-set) and list whom to remind."""
    now = utcnow()
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        if approval is None or approval.status != ApprovalStatus.PENDING or approval.expires_at is None:
            return None
        current = approval.next_reminder_at
        if current is None or abs(current - due) > DUE_TOLERANCE or current > now + DUE_TOLERANCE:
            return None
        if approval.expires_at <= now:
            return None  # the deadline's own job decides now; a reminder would only confuse
        following = reminder_times.next_reminder(approval.expires_at, approval.reminders, max(current, now))
        moved = session.execute(
            update(Approval)
            .where(
                col(Approval.id) == approval_id,
                col(Approval.status) == ApprovalStatus.PENDING.value,
                col(Approval.next_reminder_at) == current,
            )
            .values(next_reminder_at=following)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another run of this job, or an escalation, got there first
        approval.next_reminder_at = following
        voted = {vote.get("by") for vote in approval.votes}
        undecided = [user.email for user in approver_users(session, approval) if user.email not in voted]
        rows = session.exec(
            select(Delivery)
            .where(
                Delivery.approval_id == approval_id,
                col(Delivery.channel).in_(list(CHANNELS)),
                col(Delivery.status).in_(REACHED),
            )
            .order_by(col(Delivery.created_at), col(Delivery.id))
        )
        targets = [
            _Target(row.id, row.channel, row.recipient, str((row.meta or {}).get("user")))
            for row in rows
            if (row.meta or {}).get("user") in undecided
        ]
        return approval, reminder_times.offset_of(approval.expires_at, current), undecided, targets


def _still_waiting_on(approval_id: str, user: str) -> Approval | None:
    """The request, if it is still pending and ``user`` has not voted meanwhile (reminding takes a while)."""
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
    if approval is None or approval.status != ApprovalStatus.PENDING:
        return None
    if any(vote.get("by") == user for vote in approval.votes):
        return None
    return approval


def _remind(approval: Approval, target: _Target) -> bool:
    """Send one reminder with a fresh link (which replaces the earlier one); log it either way."""
    current = _still_waiting_on(approval.id, target.user)
    if current is None:
        return False
    channel = CHANNELS[target.channel]
    error: str | None = None
    meta: dict[str, Any] = {}
    try:
        link = links.make_link(current, target.recipient, target.delivery_id)
        meta = channel.send(current, target.recipient, link, reminder=True)
    except ChannelError as err:
        error = str(err)
    except Exception as err:
        logger.exception("reminder of delivery %s (%s) failed unexpectedly", target.delivery_id, target.channel)
        error = f"{type(err).__name__}: {err}"
    _record(target.delivery_id, meta, error)
    approvals.record_event(
        approval.id,
        "delivery.reminder",
        {
            "delivery_id": target.delivery_id,
            "channel": target.channel,
            "recipient": channel.describe_recipient(target.recipient),
            "outcome": "failed" if error else "sent",
            "error": error,
        },
        source=channel.source,
    )
    return error is None


def _record(delivery_id: str, meta: dict[str, Any], error: str | None) -> None:
    """Count the reminder on its delivery; a sent one keeps what the provider said (Slack: where to update)."""
    with session_scope() as session:
        # Locked: the link page may mark this delivery's link used at the same moment.
        row = session.exec(select(Delivery).where(Delivery.id == delivery_id).with_for_update()).first()
        if row is None:
            return
        kept = dict(row.meta or {})
        if error is None:
            kept["reminders"] = int(kept.get("reminders") or 0) + 1
            kept["reminded_at"] = utcnow().isoformat()
            kept["reminder_messages"] = [*(kept.get("reminder_messages") or []), meta]
            kept.pop("reminder_error", None)
        else:
            kept["reminder_error"] = error
        row.meta = kept
        session.add(row)
