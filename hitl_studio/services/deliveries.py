"""Sending approval requests through the channels: one ``delivery`` row per channel and recipient.

* :func:`schedule_deliveries` (after a request is created or escalated) writes
  the rows for the request's configured channels and current approvers and
  enqueues one :func:`deliver` job per row at once, so channels go out in parallel.
* :func:`deliver` sends one attempt with a fresh personal link. A failure is
  retried with backoff (immediately, +2 min, +4 min for the default three
  attempts); after the last one the row is ``failed`` and the approver is
  reached through the next channel of ``approval.channels`` that was not used
  for them yet (:func:`fall_back`). Every attempt is on the request's timeline
  as a ``delivery.attempt`` event.
* :func:`cancel_deliveries` (after a decision, timeout or cancellation) stops
  what has not been sent.
* :func:`delivery_report` is what the API shows of them: per row the channel,
  recipient, status, attempts, last error (secrets masked), next retry and the
  times it was sent and its person decided.

Jobs carry the attempt number they are for, so a job that fires twice, or late
after a direct call, does nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from hitl_studio.channels import CHANNELS, Channel, ChannelError, approver_users, links
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.approvals import Approval, ApprovalEvent, ApprovalStatus, Delivery, DeliveryStatus
from hitl_studio.models.users import User
from hitl_studio.queue import get_queue
from hitl_studio.services import approvals
from hitl_studio.settings import Settings, get_settings

logger = logging.getLogger(__name__)

DELIVER_JOB = "hitl_studio.services.deliveries.deliver"
DEFAULT_MAX_ATTEMPTS = 3
RETRY_BASE = timedelta(minutes=2)
"""The wait after the first failed attempt; it doubles after each further one."""
LIVE = (DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value)
SCHEDULE_EVENTS = frozenset({"approval.created", "approval.escalated"})
STOP_EVENTS = frozenset({"decision.approved", "decision.rejected", "approval.timed_out", "approval.cancelled"})
MASK = "***"
# user:password@ in a URL an error message quotes (a provider's base URL, say).
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@", re.IGNORECASE)


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based): 2 min, 4 min, 8 min..."""
    return RETRY_BASE * (2 ** max(attempt - 1, 0))


def delivery_job_id(delivery_id: str, attempt: int) -> str:
    return f"delivery-{delivery_id}-{attempt}"


def max_attempts() -> int:
    """Attempts per channel and recipient (``HITL_DELIVERY_MAX_ATTEMPTS`` once settings have it)."""
    return get_settings().delivery_max_attempts


def _user_of(row: Delivery) -> str | None:
    return (row.meta or {}).get("user")


def _enqueue_first(delivery_ids: list[str]) -> None:
    for delivery_id in delivery_ids:
        try:
            get_queue().enqueue(DELIVER_JOB, delivery_id, 1, job_id=delivery_job_id(delivery_id, 1))
        except Exception:
            logger.exception("could not enqueue delivery %s; reschedule_deliveries() will retry", delivery_id)


def schedule_deliveries(approval: Approval, *, attempts: int | None = None) -> list[str]:
    """Write and enqueue the deliveries a pending request still needs; returns the new rows' ids.

    Idempotent: an approver already reached (or being reached) on a channel is
    not sent to again, so calling it twice, or after an escalation that keeps
    some approvers, sends nothing twice. After an escalation, pending
    deliveries to people who are no longer approvers are cancelled.
    Unconfigured channels, and approvers a channel cannot reach (no phone
    number), are logged as ``delivery.skipped`` events.
    """
    if not any(name in CHANNELS for name in approval.channels) and approval.escalation_tier == 0:
        # Studio-only and never escalated: the inbox rows are all there is, nothing to send or withdraw.
        return []
    settings = get_settings()
    limit = attempts or max_attempts()
    skipped: list[tuple[Channel, dict[str, Any]]] = []
    created: list[str] = []
    withdrawn: list[Delivery] = []
    with session_scope() as session:
        current = session.get(Approval, approval.id)
        if current is None or current.status != ApprovalStatus.PENDING:
            return []
        users = approver_users(session, current)
        emails = {user.email for user in users}
        existing = list(session.exec(select(Delivery).where(Delivery.approval_id == current.id)))
        for row in existing:
            if row.status == DeliveryStatus.PENDING and _user_of(row) not in emails:
                row.status = DeliveryStatus.CANCELLED.value
                row.next_retry_at = None
                session.add(row)
                withdrawn.append(row)
        # Sent, pending or failed (fallback took over): not again. Cancelled: may be sent again.
        tried = {(row.channel, _user_of(row)) for row in existing if row.status != DeliveryStatus.CANCELLED}
        for name in current.channels:
            channel = CHANNELS.get(name)
            if channel is None:
                continue  # the studio inbox keeps its own rows (services.approvals)
            if not channel.configured(settings):
                skipped.append((channel, {"channel": name, "reason": f"{name} is not configured"}))
                continue
            for user in users:
                if (name, user.email) in tried:
                    continue
                address = channel.address(user)
                if not address:
                    missing = {"sms": "phone number", "slack": "Slack user id"}.get(name, f"{name} address")
                    reason = f"{user.email} has no {missing}"
                    skipped.append((channel, {"channel": name, "user": user.email, "reason": reason}))
                    continue
                row = Delivery(
                    approval_id=current.id,
                    channel=name,
                    recipient=address,
                    max_attempts=limit,
                    meta={"user": user.email, "tier": current.escalation_tier},
                )
                session.add(row)
                created.append(row.id)
    if skipped:
        logged = _logged_skips(approval.id)
        for channel, data in skipped:
            if data not in logged:
                approvals.record_event(approval.id, "delivery.skipped", data, source=channel.source)
    for row in withdrawn:
        _cancel_jobs(row)
    _enqueue_first(created)
    return created


def _logged_skips(approval_id: str) -> list[dict[str, Any]]:
    """The skips already on the timeline, so that scheduling again (or after an escalation) does not repeat them."""
    with session_scope() as session:
        return list(
            session.exec(
                select(ApprovalEvent.data).where(
                    ApprovalEvent.approval_id == approval_id, ApprovalEvent.type == "delivery.skipped"
                )
            )
        )


def deliver(delivery_id: str, attempt: int | None = None) -> str | None:
    """The job: send one attempt of a delivery; returns what happened (for logs and tests).

    Returns:
        ``"sent"``, ``"retrying"``, ``"failed"``, ``"cancelled"`` (the request is no longer
        pending), or None when there was nothing to do (unknown row, already finished, or a
        stale job for an attempt that already ran).
    """
    with session_scope() as session:
        row = session.get(Delivery, delivery_id)
        if row is None or row.status != DeliveryStatus.PENDING:
            return None
        if attempt is not None and attempt != row.attempts + 1:
            return None
        approval = session.get(Approval, row.approval_id)
        if approval is None or approval.status != ApprovalStatus.PENDING:
            row.status = DeliveryStatus.CANCELLED.value
            row.next_retry_at = None
            session.add(row)
            return "cancelled"
        number = row.attempts + 1
        claimed = session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_id,
                col(Delivery.attempts) == row.attempts,
                col(Delivery.status) == DeliveryStatus.PENDING.value,
            )
            .values(attempts=number, next_retry_at=None)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # another worker took this attempt
        channel_name, recipient = row.channel, row.recipient
    channel = CHANNELS.get(channel_name)
    meta: dict[str, Any] = {}
    error: str | None = None
    if channel is None:
        error = f"no channel called {channel_name!r}"
    else:
        try:
            link = links.make_link(approval, recipient, delivery_id)
            meta = channel.send(approval, recipient, link)
        except ChannelError as err:
            error = str(err)
        except Exception as err:
            logger.exception("delivery %s (%s) failed unexpectedly", delivery_id, channel_name)
            error = f"{type(err).__name__}: {err}"
    outcome, retry_at, limit = _record_attempt(delivery_id, number, meta, error)
    approvals.record_event(
        approval.id,
        "delivery.attempt",
        {
            "delivery_id": delivery_id,
            "channel": channel_name,
            "recipient": channel.describe_recipient(recipient) if channel else recipient,
            "attempt": number,
            "max_attempts": limit,
            "outcome": outcome,
            "error": error,
            "next_retry_at": retry_at.isoformat() if retry_at else None,
        },
        source=channel.source if channel else channel_name,
    )
    if retry_at is not None:
        get_queue().enqueue_at(
            retry_at, DELIVER_JOB, delivery_id, number + 1, job_id=delivery_job_id(delivery_id, number + 1)
        )
    elif outcome == "failed":
        fall_back(delivery_id)
    return outcome


def _record_attempt(
    delivery_id: str, number: int, meta: dict[str, Any], error: str | None
) -> tuple[str, datetime | None, int]:
    now = utcnow()
    with session_scope() as session:
        row = session.get(Delivery, delivery_id)
        if row is None:
            return ("failed" if error else "sent"), None, number
        still_pending = row.status == DeliveryStatus.PENDING
        if error is None:
            row.meta = {**(row.meta or {}), **meta}
            row.last_error = None
            row.sent_at = now
            if still_pending:
                row.status = DeliveryStatus.SENT.value
            outcome, retry_at = "sent", None
        else:
            row.last_error = error
            if not still_pending:
                outcome, retry_at = str(row.status), None
            elif number >= row.max_attempts:
                row.status = DeliveryStatus.FAILED.value
                row.next_retry_at = None
                outcome, retry_at = "failed", None
            else:
                retry_at = now + backoff(number)
                row.next_retry_at = retry_at
                outcome = "retrying"
        session.add(row)
        return outcome, retry_at, row.max_attempts


def fall_back(delivery_id: str) -> str | None:
    """After a delivery failed for good: reach its approver on the next channel of the request.

    Takes the channels after the failed one in ``approval.channels`` order; the
    first that is configured, can reach the person and has not been tried for
    them gets a new delivery. Nothing is added when the person is already being
    reached on that channel, or the request is no longer pending.

    Returns:
        The new delivery's id, or None.
    """
    settings = get_settings()
    with session_scope() as session:
        failed = session.get(Delivery, delivery_id)
        if failed is None:
            return None
        approval = session.get(Approval, failed.approval_id)
        email = _user_of(failed)
        user = session.exec(select(User).where(User.email == email, col(User.active))).first() if email else None
        if approval is None or user is None or approval.status != ApprovalStatus.PENDING:
            return None
        order = list(approval.channels)
        later = order[order.index(failed.channel) + 1 :] if failed.channel in order else []
        rows = list(session.exec(select(Delivery).where(Delivery.approval_id == approval.id)))
        created: Delivery | None = None
        for name in later:
            channel = CHANNELS.get(name)
            if channel is None or not channel.configured(settings):
                continue
            address = channel.address(user)
            if not address:
                continue
            mine = [row for row in rows if row.channel == name and _user_of(row) == user.email]
            if any(row.status in LIVE for row in mine):
                return None  # already reached (or being reached) this way
            if mine:
                continue  # tried and failed: look further
            created = Delivery(
                approval_id=approval.id,
                channel=name,
                recipient=address,
                max_attempts=failed.max_attempts,
                meta={"user": user.email, "tier": approval.escalation_tier, "fallback_from": failed.id},
            )
            session.add(created)
            break
        if created is None:
            return None
        new_id, new_channel = created.id, created.channel
        source = CHANNELS[new_channel].source
    approvals.record_event(
        approval.id,
        "delivery.fallback",
        {
            "from_delivery_id": delivery_id,
            "from_channel": failed.channel,
            "to_channel": new_channel,
            "delivery_id": new_id,
            "user": user.email,
        },
        source=source,
    )
    _enqueue_first([new_id])
    return new_id


def _cancel_jobs(row: Delivery) -> None:
    try:
        get_queue().cancel(delivery_job_id(row.id, row.attempts + 1))
    except Exception:
        logger.exception("could not cancel the job of delivery %s; it will find the row cancelled", row.id)


def cancel_deliveries(approval: Approval) -> int:
    """Stop every delivery of a request that has not gone out yet; returns how many."""
    with session_scope() as session:
        rows = _pending(session, approval.id)
        for row in rows:
            row.status = DeliveryStatus.CANCELLED.value
            row.next_retry_at = None
            session.add(row)
    for row in rows:
        _cancel_jobs(row)
    return len(rows)


def _pending(session: Session, approval_id: str | None = None) -> list[Delivery]:
    query = select(Delivery).where(col(Delivery.status) == DeliveryStatus.PENDING.value)
    if approval_id is not None:
        query = query.where(Delivery.approval_id == approval_id)
    return list(session.exec(query))


def reschedule_deliveries() -> int:
    """For the reconciler: re-enqueue every pending delivery (the job ids make this a no-op if booked)."""
    with session_scope() as session:
        rows = _pending(session)
    now = utcnow()
    for row in rows:
        attempt = row.attempts + 1
        if row.next_retry_at is not None and row.next_retry_at > now:
            get_queue().enqueue_at(
                row.next_retry_at, DELIVER_JOB, row.id, attempt, job_id=delivery_job_id(row.id, attempt)
            )
        else:
            get_queue().enqueue(DELIVER_JOB, row.id, attempt, job_id=delivery_job_id(row.id, attempt))
    return len(rows)


def list_deliveries(approval_id: str) -> list[Delivery]:
    """A request's deliveries, oldest first (callers check the viewer may see the request)."""
    with session_scope() as session:
        return list(
            session.exec(
                select(Delivery)
                .where(Delivery.approval_id == approval_id)
                .order_by(col(Delivery.created_at), col(Delivery.id))
            )
        )


def _secrets(settings: Settings) -> list[str]:
    found = [
        settings.smtp.password,
        settings.sms.auth_token,
        settings.slack.bot_token,
        settings.slack.signing_secret,
        settings.secret_key,
        *settings.secret_key_previous,
    ]
    # Longest first, so a secret that contains another is masked whole.
    return sorted({secret for secret in found if secret and len(secret) >= 4}, key=len, reverse=True)


def redact(text: str | None, settings: Settings | None = None) -> str | None:
    """``text`` (a provider's error) with the studio's channel secrets and URL passwords masked."""
    if not text:
        return text
    for secret in _secrets(settings or get_settings()):
        text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(rf"\g<head>{MASK}@", text)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def delivery_report(approval_id: str, viewer: User) -> list[dict[str, Any]]:
    """Where a request went, for people who may see it: one entry per delivery, oldest first.

    ``decided_at`` / ``decision`` are the delivery's person's own vote, if they cast one.

    Raises:
        NotFound: No such request, or the viewer may not see it.
    """
    approval = approvals.get_approval(approval_id, viewer)
    votes = {str(vote.get("by")): vote for vote in approval.votes}
    settings = get_settings()
    report: list[dict[str, Any]] = []
    for row in list_deliveries(approval_id):
        meta = row.meta or {}
        channel = CHANNELS.get(row.channel)
        person = meta.get("user") or (row.recipient if row.channel == approvals.INBOX_CHANNEL else None)
        vote = votes.get(str(person)) if person else None
        link = meta.get("link") or {}
        report.append(
            {
                "id": row.id,
                "channel": row.channel,
                "recipient": channel.describe_recipient(row.recipient) if channel else row.recipient,
                "user": person,
                "tier": meta.get("tier", 0),
                "status": row.status,
                "attempts": row.attempts,
                "max_attempts": row.max_attempts,
                "last_error": redact(row.last_error, settings),
                "next_retry_at": _iso(row.next_retry_at),
                "fallback_from": meta.get("fallback_from"),
                "reminders": int(meta.get("reminders") or 0),
                "reminded_at": meta.get("reminded_at"),
                "reminder_error": redact(meta.get("reminder_error"), settings),
                "link_expires_at": link.get("expires_at"),
                "link_used_at": link.get("used_at"),
                "created_at": _iso(row.created_at),
                "sent_at": _iso(row.sent_at),
                "delivered_at": _iso(row.delivered_at),
                "decision": vote.get("decision") if vote else None,
                "decided_at": vote.get("at") if vote else None,
                "decided_via": vote.get("source") if vote else None,
            }
        )
    return report


def on_approval_event(approval: Approval, event_type: str) -> None:
    """The hook for ``approvals._announce``: deliver after creation/escalation, stop after an outcome.

    Never raises: a delivery problem must not undo or hide the approval change.
    """
    try:
        if event_type in SCHEDULE_EVENTS:
            schedule_deliveries(approval)
        elif event_type in STOP_EVENTS:
            cancel_deliveries(approval)
            if "slack" in approval.channels:
                # A job, so a Slack round trip never slows the decision itself.
                get_queue().enqueue("hitl_studio.channels.slack.update_messages", approval.id)
    except Exception:
        logger.exception("deliveries after %s of approval %s failed", event_type, approval.id)
