"""Personal signed decision links: one per delivery, expiring, usable once.

A token is ``<delivery id>.<expiry, unix seconds in base 36>.<nonce>.<signature>``,
all URL-safe. The signature is HMAC-SHA256, with a key derived from
``HITL_SECRET_KEY``, over the approval id, the recipient, the delivery id, the
expiry and the nonce, so a token cannot be moved to another request or person.
Only the SHA-256 of the newest token of a delivery is stored (in
``delivery.meta["link"]``) with a ``used`` flag: a link works once, and a
resent message's new link replaces the old one.

Opening a link never decides anything (mail scanners fetch links); see
:mod:`hitl_studio.api.respond_page`.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from hitl_studio.auth.tokens import decode_expiry, encode_expiry, new_nonce, sign_fields, signature_matches, token_hash
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.approvals import Approval, Delivery
from hitl_studio.settings import get_settings

RESPOND_PATH = "/approvals/respond"
DEFAULT_TTL = timedelta(days=7)
"""How long a link works when its request has no deadline."""
_PURPOSE = b"hitl-studio approval link v1"


class LinkError(Exception):
    """A link that cannot be used; ``status_code`` is the HTTP answer, the message says why in plain words."""

    status_code = 400
    reason = "invalid"

    def __init__(self, message: str, *, approval_id: str | None = None, channel: str | None = None) -> None:
        super().__init__(message)
        self.approval_id = approval_id
        self.channel = channel


class InvalidLink(LinkError):
    """Malformed, forged, or made for a message that has since been resent."""

    status_code = 404
    reason = "invalid link"


class ExpiredLink(LinkError):
    status_code = 410
    reason = "expired link"


class UsedLink(LinkError):
    status_code = 410
    reason = "link already used"


def link_expiry(approval: Approval, now: datetime | None = None) -> datetime:
    """The request's deadline, or :data:`DEFAULT_TTL` from now when it has none."""
    return approval.expires_at or (now or utcnow()) + DEFAULT_TTL


def new_token(approval: Approval, recipient: str, delivery_id: str, *, expires_at: datetime | None = None) -> str:
    """A fresh signed token (not stored; :func:`make_link` stores its hash)."""
    expiry_text = encode_expiry(expires_at or link_expiry(approval))
    nonce = new_nonce()
    signature = sign_fields(_PURPOSE, approval.id, recipient, delivery_id, expiry_text, nonce)
    return f"{delivery_id}.{expiry_text}.{nonce}.{signature}"


def make_link(approval: Approval, recipient: str, delivery_id: str, *, expires_at: datetime | None = None) -> str:
    """A personal link for ``recipient``, stored on the delivery (replacing its previous link).

    Args:
        approval: The request.
        recipient: The address the link is sent to (as on the delivery row).
        delivery_id: The delivery row the link belongs to.
        expires_at: When the link stops working; the request's deadline (or a week) by default.
    """
    expiry = expires_at or link_expiry(approval)
    token = new_token(approval, recipient, delivery_id, expires_at=expiry)
    with session_scope() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise InvalidLink(f"No delivery {delivery_id}.")
        meta = dict(delivery.meta or {})
        meta["link"] = {
            "token_hash": token_hash(token),
            "expires_at": expiry.astimezone(UTC).isoformat(),
            "used": False,
            "used_at": None,
        }
        delivery.meta = meta
        session.add(delivery)
    return f"{get_settings().api_url}{RESPOND_PATH}/{token}"


def _load(session: Session, token: str, *, lock: bool) -> tuple[Delivery, Approval]:
    parts = token.split(".")
    if len(parts) != 4 or not all(parts) or len(token) > 200:
        raise InvalidLink("This link is not valid: it is incomplete or was changed.")
    delivery_id, expiry_text, nonce, signature = parts
    query = select(Delivery).where(Delivery.id == delivery_id)
    delivery = session.exec(query.with_for_update() if lock else query).first()
    approval = session.get(Approval, delivery.approval_id) if delivery is not None else None
    if delivery is None or approval is None:
        raise InvalidLink("This link is not valid: it is incomplete or was changed.")
    if not signature_matches(_PURPOSE, signature, approval.id, delivery.recipient, delivery.id, expiry_text, nonce):
        raise InvalidLink(
            "This link is not valid: its signature does not match.", approval_id=approval.id, channel=delivery.channel
        )
    link: dict[str, Any] = (delivery.meta or {}).get("link") or {}
    if not hmac.compare_digest(str(link.get("token_hash", "")), token_hash(token)):
        raise InvalidLink(
            "This link was replaced by a newer message; use the link in the latest one.",
            approval_id=approval.id,
            channel=delivery.channel,
        )
    try:
        expiry = decode_expiry(expiry_text)
    except ValueError as err:
        raise InvalidLink("This link is not valid.", approval_id=approval.id, channel=delivery.channel) from err
    if expiry is None or expiry <= utcnow():
        raise ExpiredLink(
            "This link has expired. Open the request in the studio instead.",
            approval_id=approval.id,
            channel=delivery.channel,
        )
    if link.get("used"):
        raise UsedLink(
            "This link has already been used. Open the request in the studio instead.",
            approval_id=approval.id,
            channel=delivery.channel,
        )
    return delivery, approval


def check(token: str) -> tuple[Delivery, Approval, str]:
    """The delivery, request and recipient of a valid, unused, unexpired token.

    Raises:
        InvalidLink: Malformed, forged, or replaced by a newer message's link (404).
        ExpiredLink: Past its expiry (410).
        UsedLink: Already used for a decision (410).
    """
    with session_scope() as session:
        delivery, approval = _load(session, token, lock=False)
        return delivery, approval, delivery.recipient


def redeem(token: str) -> tuple[Delivery, Approval, str]:
    """Like :func:`check`, and mark the link used in the same transaction (row-locked), so it works once.

    Raises:
        LinkError: As :func:`check`.
    """
    with session_scope() as session:
        delivery, approval = _load(session, token, lock=True)
        meta = dict(delivery.meta or {})
        meta["link"] = {**meta["link"], "used": True, "used_at": utcnow().isoformat()}
        delivery.meta = meta
        session.add(delivery)
        return delivery, approval, delivery.recipient
