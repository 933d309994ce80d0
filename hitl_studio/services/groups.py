"""User groups: named sets of users that approvals address as ``group:<name>`` (admins manage them).

Approvals keep the group's *name* in their approvers (and escalation tiers) and
expand it when they notify or check a decider, so deleting or renaming a group
that a pending request still names would leave that request unanswerable: both
are refused with 409, naming the requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus
from hitl_studio.models.users import User, UserGroup, UserGroupMember
from hitl_studio.services import audit
from hitl_studio.services.errors import Conflict, InvalidInput, NotFound

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")
MAX_DESCRIPTION = 500
# How many blocking requests a 409 names; the count says how many there are in all.
NAMED_IN_CONFLICT = 5


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    name: str
    active: bool


def _clean_name(name: str) -> str:
    clean = name.strip()
    if not NAME_PATTERN.match(clean):
        problem = (
            "Use 1 to 100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit "
            "(approvals address it as group:<name>)."
        )
        raise InvalidInput(f"name: {problem}", field_errors={"name": problem})
    return clean


def _clean_description(description: str) -> str:
    clean = description.strip()
    if len(clean) > MAX_DESCRIPTION:
        problem = f"Keep it under {MAX_DESCRIPTION} characters."
        raise InvalidInput(f"description: {problem}", field_errors={"description": problem})
    return clean


def _load(session: Session, group_id: str) -> UserGroup:
    group = session.get(UserGroup, group_id)
    if group is None:
        raise NotFound(f"No group with id {group_id}.")
    return group


def _name_taken(session: Session, name: str, *, other_than: str | None = None) -> None:
    query = select(UserGroup.id).where(func.lower(UserGroup.name) == name.lower())
    if other_than is not None:
        query = query.where(UserGroup.id != other_than)
    if session.exec(query).first() is not None:
        message = f"A group named {name!r} already exists; pick another name."
        raise Conflict(message, field_errors={"name": "Already taken."})


def _pending_requests_naming(session: Session, name: str) -> list[tuple[str, str]]:
    """``(id, title)`` of pending requests whose approvers, now or in a later escalation tier, include the group."""
    entry = f"group:{name}"
    pending = session.exec(
        select(Approval.id, Approval.title, Approval.approvers, Approval.escalation)
        .where(Approval.status == ApprovalStatus.PENDING)
        .order_by(col(Approval.created_at))
    )
    return [
        (approval_id, title)
        for approval_id, title, approvers, escalation in pending
        if entry in approvers or any(entry in (tier.get("approvers") or []) for tier in escalation or [])
    ]


def _refuse_if_used(session: Session, group: UserGroup, doing: str) -> None:
    blocking = _pending_requests_naming(session, group.name)
    if not blocking:
        return
    named = ", ".join(f"{approval_id} ({title!r})" for approval_id, title in blocking[:NAMED_IN_CONFLICT])
    more = f" and {len(blocking) - NAMED_IN_CONFLICT} more" if len(blocking) > NAMED_IN_CONFLICT else ""
    raise Conflict(
        f"Cannot {doing} group {group.name!r}: {len(blocking)} pending approval request(s) are addressed to it: "
        f"{named}{more}. Wait until they are decided, or cancel them."
    )


def members(session: Session, group_id: str) -> list[Member]:
    rows = session.exec(
        select(User)
        .join(UserGroupMember, col(UserGroupMember.user_id) == col(User.id))
        .where(UserGroupMember.group_id == group_id)
        .order_by(col(User.email))
    )
    return [Member(user.id, user.email, user.name, user.active) for user in rows]


def public_fields(group: UserGroup, group_members: list[Member]) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "address": f"group:{group.name}",
        "description": group.description,
        "members": [
            {"id": member.id, "email": member.email, "name": member.name, "active": member.active}
            for member in group_members
        ],
        "created_at": group.created_at.isoformat(),
    }


def create_group(name: str, *, actor: User, description: str = "") -> dict[str, Any]:
    """Raises: InvalidInput (name, description), Conflict (the name is taken)."""
    clean = _clean_name(name)
    about = _clean_description(description)
    with session_scope() as session:
        _name_taken(session, clean)
        group = UserGroup(name=clean, description=about)
        session.add(group)
        session.flush()
        audit.record(
            session,
            "group.created",
            actor=actor,
            target_type="group",
            target_id=group.id,
            after={"name": clean, "description": about},
        )
        return public_fields(group, [])


def list_groups() -> list[dict[str, Any]]:
    with session_scope() as session:
        groups = list(session.exec(select(UserGroup).order_by(col(UserGroup.name))))
        return [public_fields(group, members(session, group.id)) for group in groups]


def get_group(group_id: str) -> dict[str, Any]:
    with session_scope() as session:
        group = _load(session, group_id)
        return public_fields(group, members(session, group.id))


def update_group(
    group_id: str, *, actor: User, name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Rename or re-describe a group.

    Raises:
        NotFound: No such group.
        InvalidInput: A bad name or description.
        Conflict: The name is taken, or pending requests address the group by its current name.
    """
    with session_scope() as session:
        group = _load(session, group_id)
        before = {"name": group.name, "description": group.description}
        if name is not None and _clean_name(name) != group.name:
            clean = _clean_name(name)
            _name_taken(session, clean, other_than=group.id)
            _refuse_if_used(session, group, "rename")
            group.name = clean
        if description is not None:
            group.description = _clean_description(description)
        after = {"name": group.name, "description": group.description}
        if after != before:
            session.add(group)
            audit.record(
                session,
                "group.updated",
                actor=actor,
                target_type="group",
                target_id=group.id,
                before=before,
                after=after,
            )
        return public_fields(group, members(session, group.id))


def delete_group(group_id: str, *, actor: User) -> None:
    """Raises: NotFound; Conflict naming the pending requests addressed to the group."""
    with session_scope() as session:
        group = _load(session, group_id)
        _refuse_if_used(session, group, "delete")
        former = [member.email for member in members(session, group.id)]
        session.execute(delete(UserGroupMember).where(col(UserGroupMember.group_id) == group.id))
        session.delete(group)
        audit.record(
            session,
            "group.deleted",
            actor=actor,
            target_type="group",
            target_id=group_id,
            before={"name": group.name, "description": group.description, "members": former},
        )


def add_member(group_id: str, user_id: str, *, actor: User) -> dict[str, Any]:
    """Put a user in a group; adding someone already in it changes nothing. Raises: NotFound (group or user)."""
    with session_scope() as session:
        group = _load(session, group_id)
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.")
        existing = session.exec(
            select(UserGroupMember.id).where(UserGroupMember.group_id == group.id, UserGroupMember.user_id == user.id)
        ).first()
        if existing is None:
            session.add(UserGroupMember(group_id=group.id, user_id=user.id))
            session.flush()
            audit.record(
                session,
                "group.member_added",
                actor=actor,
                target_type="group",
                target_id=group.id,
                after={"group": group.name, "user_id": user.id, "email": user.email},
            )
        return public_fields(group, members(session, group.id))


def remove_member(group_id: str, user_id: str, *, actor: User) -> dict[str, Any]:
    """Take a user out of a group. Raises: NotFound (the group, or the user is not in it)."""
    with session_scope() as session:
        group = _load(session, group_id)
        removed = session.execute(
            delete(UserGroupMember).where(
                col(UserGroupMember.group_id) == group.id, col(UserGroupMember.user_id) == user_id
            )
        )
        if removed.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"User {user_id} is not a member of group {group.name!r}.")
        user = session.get(User, user_id)
        audit.record(
            session,
            "group.member_removed",
            actor=actor,
            target_type="group",
            target_id=group.id,
            before={"group": group.name, "user_id": user_id, "email": user.email if user else None},
        )
        return public_fields(group, members(session, group.id))
