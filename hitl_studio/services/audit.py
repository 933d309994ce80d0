"""The audit log: writing rows, and reading them back with filters.

Rows are only ever inserted; nothing in the app updates or deletes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_
from sqlmodel import Session, col, select

from hitl_studio.db import session_scope
from hitl_studio.models.audit import AuditLog
from hitl_studio.models.users import User
from hitl_studio.services.errors import InvalidInput


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


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to list; every field left ``None`` matches everything.

    Attributes:
        actor: Part of who did it (the email or label shown), or a user id exactly.
        action: One action exactly (``credential.created``).
        target_type: One kind of target exactly (``credential``, ``user``...).
        target_id: One target's id exactly (for a failed login: the email tried).
        since: From this moment on (inclusive); a naive time means UTC.
        until: Before this moment (exclusive); a naive time means UTC.
        search: Text anywhere in the actor, action, target or recorded fields, any case.
        limit: At most this many rows.
        offset: Skip this many rows first (paging).
    """

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class AuditFacets:
    """The distinct values the audit screen offers as filter choices."""

    actions: list[str]
    target_types: list[str]


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _conditions(filters: AuditFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.actor and filters.actor.strip():
        actor = filters.actor.strip()
        conditions.append(
            or_(col(AuditLog.actor_id) == actor, col(AuditLog.actor_label).icontains(actor, autoescape=True))
        )
    if filters.action:
        conditions.append(col(AuditLog.action) == filters.action)
    if filters.target_type:
        conditions.append(col(AuditLog.target_type) == filters.target_type)
    if filters.target_id:
        conditions.append(col(AuditLog.target_id) == filters.target_id)
    if filters.since:
        conditions.append(col(AuditLog.created_at) >= _as_utc(filters.since))
    if filters.until:
        conditions.append(col(AuditLog.created_at) < _as_utc(filters.until))
    if filters.search and filters.search.strip():
        text = filters.search.strip()
        # The recorded fields hold what a person searches for (a credential's or user's name).
        conditions.append(
            or_(
                *(
                    column.icontains(text, autoescape=True)
                    for column in (
                        col(AuditLog.actor_label),
                        col(AuditLog.action),
                        col(AuditLog.target_type),
                        col(AuditLog.target_id),
                        cast(col(AuditLog.before), String),
                        cast(col(AuditLog.after), String),
                    )
                )
            )
        )
    return conditions


def list_entries(filters: AuditFilter) -> tuple[list[AuditLog], int]:
    """Audit rows matching ``filters``, newest first, and how many match in all.

    Raises:
        InvalidInput: ``until`` is not after ``since``.
    """
    if filters.since and filters.until and _as_utc(filters.until) <= _as_utc(filters.since):
        problem = "Must be later than since."
        raise InvalidInput(f"until: {problem}", field_errors={"until": problem})
    query = select(AuditLog)
    count = select(func.count()).select_from(AuditLog)
    for condition in _conditions(filters):
        query = query.where(condition)
        count = count.where(condition)
    # Ids grow with inserts, so this is newest first even for rows written in the same instant.
    query = query.order_by(col(AuditLog.id).desc()).offset(filters.offset).limit(filters.limit)
    with session_scope() as session:
        return list(session.exec(query)), int(session.exec(count).one())


def facets() -> AuditFacets:
    """Every action and target type recorded so far, sorted, for the screen's filter menus."""
    with session_scope() as session:
        actions = session.exec(select(AuditLog.action).distinct().order_by(col(AuditLog.action)))
        target_types = session.exec(
            select(AuditLog.target_type)
            .where(col(AuditLog.target_type) != "")
            .distinct()
            .order_by(col(AuditLog.target_type))
        )
        return AuditFacets(actions=list(actions), target_types=list(target_types))


def public_fields(entry: AuditLog) -> dict[str, Any]:
    """An audit row as the API and the audit screen show it (rows never hold secrets)."""
    return {
        "id": entry.id,
        "at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor_label,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before,
        "after": entry.after,
        "ip": entry.ip,
    }
