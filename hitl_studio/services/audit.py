"""Writing the audit log. Rows are only ever inserted; nothing in the app updates or deletes them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from hitl_studio.models.audit import AuditLog
from hitl_studio.models.users import User


def record(
    session: Session,
    action: str,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    target_type: str = "",
    target_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Add an audit row to ``session``; it commits with the change it describes.

    Args:
        session: The session of the change being audited, so both commit or neither does.
        action: A dotted verb such as ``user.created`` or ``auth.login_failed``.
        actor: Who did it; ``None`` for the system or an anonymous caller.
        actor_label: What to show when there is no user (an email typed at login, "cli").
        target_type: The kind of thing acted on (``user``, ``api_key``...).
        target_id: Its id (or, for failed logins, the email tried).
        before: Its relevant fields before the change; never secrets.
        after: Its relevant fields after the change; never secrets.
        ip: The caller's address when known.
    """
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else (actor_label or "system"),
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        ip=ip,
    )
    session.add(entry)
    return entry
