"""Users, API keys and audit rows for tests, made and read through the services like the studio does."""

from __future__ import annotations

import uuid

from sqlmodel import select

from hitl_studio.db import session_scope
from hitl_studio.models.audit import AuditLog
from hitl_studio.models.users import Role, User
from hitl_studio.services import api_keys, users

DEFAULT_PASSWORD = "correct horse battery"


def make_user(
    role: Role | str = Role.VIEWER,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    name: str = "",
) -> User:
    """Create a user through :func:`users.create_user`; the email is unique unless given."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    return users.create_user(users.NewUser(email=email, name=name, role=str(role), password=password))


def make_api_key(owner: User, name: str = "test agent") -> str:
    """Create an API key for ``owner`` and return its secret (the only time it is available)."""
    return api_keys.create_api_key(owner, name).secret


def audit_rows(action: str) -> list[AuditLog]:
    """The audit rows recorded for ``action``, oldest first."""
    with session_scope() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
