"""Outgoing webhooks for approval events: subscriptions, signed deliveries, retries with backoff.

Every change to an approval calls :func:`notify`, which writes one
``webhook_delivery`` row per matching subscription (and one for the request's
``callback_url`` on a final outcome) and enqueues :func:`deliver` for each.
Delivery is at least once: a receiver should ignore a repeated
``X-HITL-Delivery`` id.

Signing: ``X-HITL-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
A subscription is signed with its own secret, shown once when it is created
and stored encrypted. A ``callback_url`` is signed with the callback secret of
the request's requester (:func:`callback_signing_secret`): derived from
``HITL_SECRET_KEY`` and the requester's id, so one user can never forge a
callback to another user's agent; it changes when ``HITL_SECRET_KEY`` does.
Receivers check a signature with :func:`hitl_studio.signing.verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets as secrets_module
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from hitl_studio import __version__
from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.credentials.crypto import DecryptionError, decrypt, encrypt
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.approvals import Approval, DeliveryStatus
from hitl_studio.models.users import User
from hitl_studio.models.webhooks import WebhookDelivery, WebhookSubscription
from hitl_studio.queue import get_queue
from hitl_studio.services import audit
from hitl_studio.services.approvals import is_addressed_to, snapshot
from hitl_studio.services.credentials import keyring
from hitl_studio.services.errors import Forbidden, InvalidInput, NotFound
from hitl_studio.settings import get_settings
from hitl_studio.signing import signature_header

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "approval.created",
    "vote.recorded",
    "decision.approved",
    "decision.rejected",
    "approval.timed_out",
    "approval.escalated",
    "approval.cancelled",
    "state.restored",
)
ALL_EVENTS = "*"
CALLBACK_EVENTS = frozenset({"decision.approved", "decision.rejected", "approval.timed_out", "approval.cancelled"})
"""The outcomes an agent's ``callback_url`` hears about (not creation, votes or escalations)."""

DELIVER_JOB = "hitl_studio.services.approval_notifications.deliver"
MAX_ATTEMPTS = 6
RETRY_BASE = timedelta(minutes=1)
"""The wait after the first failed attempt; it doubles after each further one (1, 2, 4, 8, 16 min)."""
TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-HITL-Signature"
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 200
MAX_URL_LENGTH = 2000
SECRET_PREFIX = "whsec_"
# Enough of a failing receiver's answer to say why, without reading a huge body.
ERROR_BODY_BYTES = 500
_CALLBACK_INFO = "hitl-studio callback signing v1"


@dataclass(frozen=True)
class CreatedSubscription:
    """A new subscription; ``secret`` exists only here and is stored encrypted."""

    subscription: WebhookSubscription
    secret: str


def callback_signing_secret(requester_id: str | None = None) -> str:
    """The secret that signs callbacks of the requests made by ``requester_id``.

    It is derived (not stored): HMAC-SHA256 of ``HITL_SECRET_KEY`` over the
    requester's id, so it is the same on every worker and each user's agents get
    their own. Requests without a requester (workflow nodes) share the secret of
    ``None``. Rotating ``HITL_SECRET_KEY`` changes every callback secret.
    """
    key = get_settings().secret_key.encode()
    message = f"{_CALLBACK_INFO}:{requester_id or '*'}".encode()
    return SECRET_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based) before the next one."""
    return RETRY_BASE * (2 ** max(attempt - 1, 0))


def delivery_job_id(delivery_id: str, attempt: int) -> str:
    return f"webhook-delivery-{delivery_id}-{attempt}"


def _wants(subscription: WebhookSubscription, event_type: str) -> bool:
    return ALL_EVENTS in subscription.events or event_type in subscription.events


def _may_see(session: Session, approval: Approval, owner: User | None, cache: dict[str, bool]) -> bool:
    """Whether a subscription's owner may see the request (the same rule as the approvals API)."""
    if owner is None:
        return True  # a studio-wide subscription, made without an owner
    if owner.id not in cache:
        cache[owner.id] = owner.active and (
            allowed(owner.role, Permission.MANAGE_USERS)
            or owner.id == approval.requested_by
            or is_addressed_to(session, approval, owner)
        )
    return cache[owner.id]


def notify(approval: Approval, event_type: str) -> None:
    """Queue the event for every subscription that wants it and may see it, and for the callback URL.

    Never raises: a failure here must not undo or hide the approval change that
    caused it, so it is logged. Rows that were written but not enqueued are
    picked up by :func:`reschedule_deliveries`.
    """
    try:
        created = _create_deliveries(approval, event_type)
    except Exception:
        logger.exception(
            "could not record webhook deliveries of %s for approval %s", event_type, getattr(approval, "id", "?")
        )
        return
    queue = None
    for delivery_id in created:
        try:
            queue = queue or get_queue()
            queue.enqueue(DELIVER_JOB, delivery_id, job_id=delivery_job_id(delivery_id, 1))
        except Exception:
            logger.exception("could not enqueue webhook delivery %s; the reconciler will retry", delivery_id)


def _create_deliveries(approval: Approval, event_type: str) -> list[str]:
    rows: list[WebhookDelivery] = []
    with session_scope() as session:
        matches = session.exec(
            select(WebhookSubscription, User)
            .join(User, col(User.id) == col(WebhookSubscription.owner_id), isouter=True)
            .where(col(WebhookSubscription.active))
            .order_by(col(WebhookSubscription.created_at))
        ).all()
        wanted = [(subscription, owner) for subscription, owner in matches if _wants(subscription, event_type)]
        callback = approval.callback_url if event_type in CALLBACK_EVENTS else None
        if not wanted and not callback:
            return []
        payload = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "created_at": utcnow().isoformat(),
            "approval": json.loads(json.dumps(snapshot(approval), default=str)),
        }
        cache: dict[str, bool] = {}
        for subscription, owner in wanted:
            if _may_see(session, approval, owner, cache):
                rows.append(
                    WebhookDelivery(
                        subscription_id=subscription.id, url=subscription.url, event_type=event_type, payload=payload
                    )
                )
        if callback:
            rows.append(WebhookDelivery(subscription_id=None, url=callback, event_type=event_type, payload=payload))
        session.add_all(rows)
    return [row.id for row in rows]


def _secret_for(session: Session, delivery: WebhookDelivery) -> str | None:
    """The signing secret, or None when the subscription is gone or switched off."""
    if delivery.subscription_id is None:
        requester = (delivery.payload.get("approval") or {}).get("requested_by")
        return callback_signing_secret(requester)
    subscription = session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or not subscription.active:
        return None
    return str(decrypt(keyring(), subscription.encrypted_secret)["secret"])


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """Send once; returns the status code (None if no answer) and the error (None on 2xx)."""
    try:
        with (
            httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            if 200 <= response.status_code < 300:
                return response.status_code, None
            text = b""
            for chunk in response.iter_bytes():
                text += chunk
                if len(text) >= ERROR_BODY_BYTES:
                    break
            detail = text[:ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
            return response.status_code, f"HTTP {response.status_code}" + (f": {detail}" if detail else "")
    except httpx.HTTPError as err:
        return None, f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def deliver(delivery_id: str) -> str:
    """The delivery job: one signed POST; on failure, book the next attempt or give up.

    Returns:
        The delivery's status afterwards: ``delivered``, ``pending`` (a retry is
        booked), ``failed`` (attempts exhausted, or the secret cannot be opened),
        ``cancelled`` (its subscription was switched off) or ``gone`` (deleted).
    """
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return "gone"
        if delivery.status != DeliveryStatus.PENDING:
            return delivery.status
        try:
            secret = _secret_for(session, delivery)
        except DecryptionError as err:
            delivery.status = DeliveryStatus.FAILED.value
            delivery.last_error = f"the subscription's secret cannot be decrypted: {err}"
            delivery.next_retry_at = None
            session.add(delivery)
            logger.error("webhook delivery %s failed: %s", delivery_id, delivery.last_error)
            return delivery.status
        if secret is None:
            delivery.status = DeliveryStatus.CANCELLED.value
            delivery.next_retry_at = None
            session.add(delivery)
            return delivery.status
        url, event_type, payload, previous = delivery.url, delivery.event_type, delivery.payload, delivery.attempts

    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"HITL-Studio-Webhooks/{__version__}",
        "X-HITL-Event": event_type,
        "X-HITL-Delivery": delivery_id,
        SIGNATURE_HEADER: signature_header(secret, body),
    }
    status_code, error = _post(url, body, headers)
    attempt = previous + 1
    now = utcnow()
    changes: dict[str, Any] = {"attempts": attempt, "status_code": status_code, "last_error": error}
    if error is None:
        changes.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now, next_retry_at=None)
    elif attempt >= MAX_ATTEMPTS:
        changes.update(status=DeliveryStatus.FAILED.value, next_retry_at=None)
    else:
        changes.update(next_retry_at=now + backoff(attempt))
    with session_scope() as session:
        # Compare-and-set on the attempt count: if another run of this job got here first, it books the retry.
        result = session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.attempts) == previous,
                col(WebhookDelivery.status) == DeliveryStatus.PENDING,
            )
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
        recorded = result.rowcount == 1  # type: ignore[attr-defined]
    logger.info(
        "webhook delivery %s (%s) attempt %d/%d to %s: %s",
        delivery_id,
        event_type,
        attempt,
        MAX_ATTEMPTS,
        url,
        "delivered" if error is None else error,
    )
    if not recorded:
        return "superseded"
    status = str(changes.get("status", DeliveryStatus.PENDING.value))
    if status == DeliveryStatus.PENDING:
        _book(delivery_id, attempt + 1, changes["next_retry_at"])
    return status


def _book(delivery_id: str, attempt: int, when: datetime) -> None:
    get_queue().enqueue_at(when, DELIVER_JOB, delivery_id, job_id=delivery_job_id(delivery_id, attempt))


def reschedule_deliveries() -> int:
    """Re-book every pending delivery (the reconciler calls this; a booked one is left alone).

    Returns:
        How many pending deliveries there are.
    """
    with session_scope() as session:
        pending = list(
            session.exec(select(WebhookDelivery).where(col(WebhookDelivery.status) == DeliveryStatus.PENDING))
        )
    now = utcnow()
    for delivery in pending:
        _book(delivery.id, delivery.attempts + 1, max(delivery.next_retry_at or now, now))
    return len(pending)


def _check_url(url: str) -> str:
    url = (url or "").strip()
    problem = None
    if not url.startswith(("http://", "https://")):
        problem = "Give an http:// or https:// URL."
    elif len(url) > MAX_URL_LENGTH:
        problem = f"Keep the URL under {MAX_URL_LENGTH} characters."
    else:
        try:
            host = httpx.URL(url).host
        except (httpx.InvalidURL, ValueError):
            host = ""
        if not host or any(char.isspace() for char in url):
            problem = "This is not a valid URL; give one such as https://example.com/hooks/hitl."
    if problem:
        raise InvalidInput(f"url: {problem}", field_errors={"url": problem})
    return url


def _check_events(events: list[str]) -> list[str]:
    if not events:
        problem = f"Name at least one event, or '{ALL_EVENTS}' for all of them."
        raise InvalidInput(f"events: {problem}", field_errors={"events": problem})
    unknown = [event for event in events if event != ALL_EVENTS and event not in EVENT_TYPES]
    if unknown:
        problem = f"Unknown event(s): {', '.join(unknown)}. Use {', '.join(EVENT_TYPES)} or '{ALL_EVENTS}'."
        raise InvalidInput(f"events: {problem}", field_errors={"events": problem})
    return list(dict.fromkeys(events))


def _check_secret(secret: str | None) -> str:
    if secret is None:
        return SECRET_PREFIX + secrets_module.token_urlsafe(32)
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH or secret != secret.strip():
        problem = (
            f"Use {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters without surrounding spaces, "
            "or leave it out to get a generated one."
        )
        raise InvalidInput(f"secret: {problem}", field_errors={"secret": problem})
    return secret


def public_fields(subscription: WebhookSubscription) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": subscription.id,
        "url": subscription.url,
        "events": subscription.events,
        "active": subscription.active,
        "owner_id": subscription.owner_id,
        "created_at": subscription.created_at.isoformat(),
    }


def delivery_fields(delivery: WebhookDelivery) -> dict[str, Any]:
    """A delivery's outcome so far (the payload is left out; its event id is kept)."""
    return {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "event_id": delivery.payload.get("id"),
        "event_type": delivery.event_type,
        "approval_id": (delivery.payload.get("approval") or {}).get("id"),
        "url": delivery.url,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "max_attempts": MAX_ATTEMPTS,
        "status_code": delivery.status_code,
        "last_error": delivery.last_error,
        "next_retry_at": delivery.next_retry_at.isoformat() if delivery.next_retry_at else None,
        "created_at": delivery.created_at.isoformat(),
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
    }


def create_subscription(owner: User, url: str, events: list[str], secret: str | None = None) -> CreatedSubscription:
    """Subscribe ``url`` to ``events`` (or ``"*"``) of the requests ``owner`` may see.

    Args:
        owner: Who subscribes; needs the permission to request approvals.
        url: Where to POST events (http or https).
        events: Event types from :data:`EVENT_TYPES`, or ``"*"``.
        secret: The signing secret; one is generated when left out.

    Returns:
        The subscription and its secret (the only time the secret is available).

    Raises:
        Forbidden: ``owner``'s role may not request approvals.
        InvalidInput: ``url``, ``events`` or ``secret`` is wrong (named in ``field_errors``).
    """
    if not allowed(owner.role, Permission.REQUEST_APPROVALS):
        raise Forbidden(f"Your role ({owner.role}) cannot subscribe to approval events; ask an admin.")
    clean_url = _check_url(url)
    clean_events = _check_events(events)
    clean_secret = _check_secret(secret)
    ring = keyring()
    subscription = WebhookSubscription(
        owner_id=owner.id,
        url=clean_url,
        events=clean_events,
        encrypted_secret=encrypt(ring, {"secret": clean_secret}),
        key_id=ring.current_id,
    )
    with session_scope() as session:
        session.add(subscription)
        session.flush()
        audit.record(
            session,
            "webhook.created",
            actor=owner,
            target_type="webhook_subscription",
            target_id=subscription.id,
            after={"url": clean_url, "events": clean_events},
        )
    return CreatedSubscription(subscription=subscription, secret=clean_secret)


def _load(session: Session, subscription_id: str, viewer: User) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or not (
        subscription.owner_id == viewer.id or allowed(viewer.role, Permission.MANAGE_USERS)
    ):
        raise NotFound(f"No webhook subscription with id {subscription_id}.")
    return subscription


def list_subscriptions(viewer: User) -> list[WebhookSubscription]:
    """The viewer's subscriptions, oldest first (admins: everyone's)."""
    query = select(WebhookSubscription).order_by(col(WebhookSubscription.created_at))
    if not allowed(viewer.role, Permission.MANAGE_USERS):
        query = query.where(WebhookSubscription.owner_id == viewer.id)
    with session_scope() as session:
        return list(session.exec(query))


def get_subscription(subscription_id: str, viewer: User) -> WebhookSubscription:
    """Raises NotFound unless the viewer owns the subscription or is an admin."""
    with session_scope() as session:
        return _load(session, subscription_id, viewer)


def delete_subscription(subscription_id: str, actor: User) -> None:
    """Delete a subscription and its delivery history; deliveries still booked find nothing and stop.

    Raises:
        NotFound: No such subscription, or it is someone else's and ``actor`` is not an admin.
    """
    with session_scope() as session:
        subscription = _load(session, subscription_id, actor)
        before = {"url": subscription.url, "events": subscription.events, "owner_id": subscription.owner_id}
        session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id))
        session.delete(subscription)
        audit.record(
            session,
            "webhook.deleted",
            actor=actor,
            target_type="webhook_subscription",
            target_id=subscription_id,
            before=before,
        )


def list_deliveries(subscription_id: str, viewer: User, *, limit: int = 100) -> list[WebhookDelivery]:
    """A subscription's deliveries, newest first.

    Raises:
        NotFound: As :func:`get_subscription`.
    """
    with session_scope() as session:
        _load(session, subscription_id, viewer)
        return list(
            session.exec(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == subscription_id)
                .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
                .limit(limit)
            )
        )
