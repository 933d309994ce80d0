"""Users: creating them, changing their role or status, and the first admin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from hitl_studio.auth.passwords import hash_password, verify_password
from hitl_studio.auth.tokens import token_hash
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.users import Role, User, UserSession
from hitl_studio.services import audit
from hitl_studio.services.errors import Conflict, InvalidInput, NotFound

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class NewUser:
    """What a person types to create a user; :func:`validate_new_user` checks it."""

    email: str
    name: str
    role: str
    password: str


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_new_user(data: NewUser) -> dict[str, str]:
    """Field-by-field problems with ``data`` (empty when it is fine)."""
    errors: dict[str, str] = {}
    if not EMAIL_PATTERN.match(normalize_email(data.email)):
        errors["email"] = "Enter an email address such as ana@example.com."
    if len(data.name.strip()) > 200:
        errors["name"] = "Keep the name under 200 characters."
    if data.role not in {r.value for r in Role}:
        errors["role"] = f"Choose one of: {', '.join(r.value for r in Role)}."
    password_error = password_problem(data.password)
    if password_error:
        errors["password"] = password_error
    return errors


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    return None


def public_fields(user: User) -> dict[str, Any]:
    """What may be shown about a user (to the API, the UI and the audit log): no password hash."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def create_user(data: NewUser, *, actor: User | None = None, actor_label: str | None = None) -> User:
    """Create a user.

    Raises:
        InvalidInput: A field is wrong; ``field_errors`` says which.
        Conflict: The email is already taken.
    """
    errors = validate_new_user(data)
    if errors:
        raise InvalidInput("The user could not be created; correct the marked fields.", field_errors=errors)
    email = normalize_email(data.email)
    with session_scope() as session:
        if _find_by_email(session, email) is not None:
            raise Conflict(f"A user with the email {email} already exists.", field_errors={"email": "Already taken."})
        user = User(email=email, name=data.name.strip(), role=data.role, password_hash=hash_password(data.password))
        session.add(user)
        session.flush()
        audit.record(
            session,
            "user.created",
            actor=actor,
            actor_label=actor_label,
            target_type="user",
            target_id=user.id,
            after=public_fields(user),
        )
    return user


def has_users() -> bool:
    """Whether anyone can sign in yet; when not, the login page offers first-run setup."""
    with session_scope() as session:
        return session.exec(select(User.id).limit(1)).first() is not None


def create_first_admin(data: NewUser, *, ip: str | None = None) -> User:
    """Create the owner account of a brand-new studio (n8n's first-run setup).

    Works only while there are no users at all, so once anyone exists this is
    closed for good. Two people racing for it get one admin and one Conflict:
    on PostgreSQL an advisory lock serialises them; on SQLite the losing
    writer's snapshot is stale and its insert fails.

    Raises:
        InvalidInput: A field is wrong.
        Conflict: The studio already has users.
    """
    errors = validate_new_user(NewUser(data.email, data.name, Role.ADMIN, data.password))
    if errors:
        raise InvalidInput("The account could not be created; correct the marked fields.", field_errors=errors)
    taken = Conflict("This studio is already set up; sign in instead.")
    try:
        with session_scope() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.exec(text("SELECT pg_advisory_xact_lock(7215)"))  # type: ignore[call-overload]
            if session.exec(select(User.id).limit(1)).first() is not None:
                raise taken
            user = User(
                email=normalize_email(data.email),
                name=data.name.strip(),
                role=Role.ADMIN,
                password_hash=hash_password(data.password),
            )
            session.add(user)
            session.flush()
            audit.record(
                session,
                "user.created",
                actor_label="first-run setup",
                target_type="user",
                target_id=user.id,
                after=public_fields(user),
                ip=ip,
            )
    except OperationalError as err:
        raise taken from err
    return user


def list_users() -> list[User]:
    with session_scope() as session:
        return list(session.exec(select(User).order_by(User.created_at)))


def get_user(user_id: str) -> User:
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.")
        return user


def find_user_by_email(email: str) -> User | None:
    with session_scope() as session:
        return _find_by_email(session, normalize_email(email))


def _find_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def update_user(
    user_id: str,
    *,
    actor: User,
    role: str | None = None,
    active: bool | None = None,
    name: str | None = None,
) -> User:
    """Change a user's role, active flag or name.

    Deactivating a user also ends their browser sessions. The last active
    admin can neither be demoted nor deactivated, so the studio is never left
    without someone who can manage it.

    Raises:
        NotFound: No such user.
        InvalidInput: An unknown role, or the change would leave no active admin.
    """
    if role is not None and role not in {r.value for r in Role}:
        raise InvalidInput(
            f"Unknown role {role!r}.", field_errors={"role": "Choose admin, builder, approver or viewer."}
        )
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.")
        before = public_fields(user)
        loses_admin = user.role == Role.ADMIN and user.active and (role not in (None, Role.ADMIN) or active is False)
        if loses_admin and _active_admin_count(session) <= 1:
            raise InvalidInput(
                "This is the last active admin; make another user admin first.",
                field_errors={"role": "The studio needs at least one active admin."},
            )
        if role is not None:
            user.role = role
        if name is not None:
            user.name = name.strip()[:200]
        if active is not None:
            user.active = active
            if not active:
                _end_sessions(session, user.id)
        user.updated_at = utcnow()
        session.add(user)
        action = "user.role_changed" if role is not None and role != before["role"] else "user.updated"
        audit.record(
            session,
            action,
            actor=actor,
            target_type="user",
            target_id=user.id,
            before=before,
            after=public_fields(user),
        )
    return user


def set_password(user_id: str, password: str, *, actor: User | None = None, actor_label: str | None = None) -> None:
    """Replace a user's password and sign them out everywhere."""
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, field_errors={"password": problem})
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.")
        user.password_hash = hash_password(password)
        user.updated_at = utcnow()
        session.add(user)
        _end_sessions(session, user.id)
        audit.record(
            session, "user.password_set", actor=actor, actor_label=actor_label, target_type="user", target_id=user.id
        )


def change_password(user_id: str, current_password: str, new_password: str, *, keep_session: str | None = None) -> None:
    """A signed-in user replaces their own password, proving they know the current one.

    Their other sessions end (whoever else may know the old password is signed
    out); the session ``keep_session`` (the token of the browser asking) stays.
    A wrong current password is audited, like a failed sign-in.

    Raises:
        NotFound: No such user.
        InvalidInput: ``current_password`` is wrong, or ``new_password`` is too short or too long
            (``field_errors`` names which).
    """
    problem = password_problem(new_password)
    if problem:
        raise InvalidInput(problem, field_errors={"new_password": problem})
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user with id {user_id}.")
        if not verify_password(user.password_hash, current_password):
            audit.record(session, "user.password_change_failed", actor=user, target_type="user", target_id=user.id)
            wrong = InvalidInput(
                "Your current password is not right; type it again.",
                field_errors={"current_password": "This is not your current password."},
            )
        else:
            wrong = None
            user.password_hash = hash_password(new_password)
            user.updated_at = utcnow()
            session.add(user)
            _end_sessions(session, user.id, keep=keep_session)
            audit.record(session, "user.password_changed", actor=user, target_type="user", target_id=user.id)
    # Raised after the block, so the failed attempt's audit row is committed.
    if wrong is not None:
        raise wrong


def _active_admin_count(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return int(session.exec(query).one())


def _end_sessions(session: Session, user_id: str, *, keep: str | None = None) -> None:
    """Revoke the user's open sessions, except the one whose token is ``keep``."""
    now = utcnow()
    kept_hash = token_hash(keep) if keep else None
    for user_session in session.exec(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))  # type: ignore[union-attr]
    ):
        if user_session.token_hash == kept_hash:
            continue
        user_session.revoked_at = now
        session.add(user_session)


def ensure_admin(email: str, password: str, *, actor_label: str) -> tuple[User, bool]:
    """Make sure an active admin with ``email`` exists; create it when missing.

    Used for ``HITL_ADMIN_EMAIL``/``HITL_ADMIN_PASSWORD`` at start-up and by
    ``create-admin``. An existing user with that email is promoted to admin and
    re-activated, but keeps their password unless they have none.

    Returns:
        The admin and whether it was created just now.
    """
    existing = find_user_by_email(email)
    if existing is None:
        user = create_user(NewUser(email=email, name="", role=Role.ADMIN, password=password), actor_label=actor_label)
        return user, True
    with session_scope() as session:
        user = session.get(User, existing.id)
        if user is None:
            raise NotFound(f"The user {email} was deleted while being promoted; run the command again.")
        before = public_fields(user)
        if user.role != Role.ADMIN or not user.active or user.password_hash is None:
            user.role = Role.ADMIN
            user.active = True
            if user.password_hash is None:
                user.password_hash = hash_password(password)
            user.updated_at = utcnow()
            session.add(user)
            audit.record(
                session,
                "user.promoted_to_admin",
                actor_label=actor_label,
                target_type="user",
                target_id=user.id,
                before=before,
                after=public_fields(user),
            )
    return user, False
