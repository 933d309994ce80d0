"""Signing in and out: password checks with throttling, browser sessions, API-key look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from hitl_studio.auth.passwords import hash_password, needs_rehash, verify_password
from hitl_studio.auth.tokens import new_token, token_hash
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.audit import AuditLog
from hitl_studio.models.users import ApiKey, User, UserSession
from hitl_studio.services import audit
from hitl_studio.services.errors import NotAuthenticated, Throttled
from hitl_studio.services.users import normalize_email
from hitl_studio.settings import get_settings

LOGIN_FAILED = "auth.login_failed"
LOGIN_SUCCEEDED = "auth.login"
# An address may fail this many times more than one account before it is slowed
# down too: enough for an office behind one NAT, not for password spraying.
IP_FAILURE_FACTOR = 4
# Touch last_seen_at/last_used_at at most this often, so reads stay reads.
TOUCH_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the user and the session token to hand to the browser once."""

    user: User
    token: str
    expires_at: datetime


def login(email: str, password: str, *, ip: str | None = None, user_agent: str | None = None) -> SignedIn:
    """Check a password and open a session.

    Raises:
        Throttled: Too many recent failures for this email or address.
        NotAuthenticated: Wrong email or password, or the user is deactivated;
            the message never says which, so it reveals no accounts.
    """
    settings = get_settings()
    email = normalize_email(email)
    with session_scope() as session:
        _check_throttle(session, email, ip)
        user = session.exec(select(User).where(User.email == email)).first()
        password_ok = verify_password(user.password_hash if user else None, password)
        if user is None or not password_ok or not user.active:
            audit.record(
                session,
                LOGIN_FAILED,
                actor=user,
                actor_label=email,
                target_type="user",
                target_id=email,
                after={"reason": "inactive" if user is not None and password_ok else "bad_credentials"},
                ip=ip,
            )
            failure = NotAuthenticated("Wrong email or password.")
        else:
            failure = None
    # Outside the block so the failed attempt is committed before we raise.
    if failure is not None:
        raise failure
    token = new_token()
    now = utcnow()
    expires_at = now + timedelta(hours=settings.session_ttl_hours)
    with session_scope() as session:
        user = session.get(User, user.id)  # type: ignore[union-attr]
        if user is None:
            raise NotAuthenticated("Wrong email or password.")
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = now
        session.add(user)
        session.add(
            UserSession(
                token_hash=token_hash(token),
                user_id=user.id,
                expires_at=expires_at,
                ip=ip,
                user_agent=(user_agent or "")[:500] or None,
            )
        )
        audit.record(session, LOGIN_SUCCEEDED, actor=user, target_type="user", target_id=email, ip=ip)
    return SignedIn(user=user, token=token, expires_at=expires_at)


def _check_throttle(session: Session, email: str, ip: str | None) -> None:
    """Refuse a login attempt after too many recent failures.

    Failures are the ``auth.login_failed`` rows of the audit log, so the
    throttle needs no state of its own and works across studio processes. A
    success resets the count for that email.
    """
    settings = get_settings()
    window_start = utcnow() - timedelta(seconds=settings.login_lockout_seconds)
    last_success = session.exec(
        select(func.max(AuditLog.created_at)).where(AuditLog.action == LOGIN_SUCCEEDED, AuditLog.target_id == email)
    ).one()
    since = max(window_start, last_success) if last_success else window_start
    email_failures = session.exec(
        select(func.count(), func.max(AuditLog.created_at)).where(
            AuditLog.action == LOGIN_FAILED, AuditLog.target_id == email, AuditLog.created_at > since
        )
    ).one()
    if email_failures[0] >= settings.login_max_failures:
        raise _throttled(email_failures[1], settings.login_lockout_seconds)
    if ip is None:
        return
    ip_failures = session.exec(
        select(func.count(), func.max(AuditLog.created_at)).where(
            AuditLog.action == LOGIN_FAILED, AuditLog.ip == ip, AuditLog.created_at > window_start
        )
    ).one()
    if ip_failures[0] >= settings.login_max_failures * IP_FAILURE_FACTOR:
        raise _throttled(ip_failures[1], settings.login_lockout_seconds)


def _throttled(last_failure: datetime, lockout_seconds: int) -> Throttled:
    retry_after = max(1, int((last_failure + timedelta(seconds=lockout_seconds) - utcnow()).total_seconds()) + 1)
    minutes = max(1, round(retry_after / 60))
    return Throttled(
        f"Too many failed sign-ins. Try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after=retry_after,
    )


def user_for_session(token: str) -> User | None:
    """The active user a browser session token belongs to, or ``None`` when it is not valid now."""
    return _token_owner(UserSession, token, "last_seen_at")


def logout(token: str) -> None:
    """End a browser session; an unknown or already ended token is ignored."""
    if not token:
        return
    with session_scope() as session:
        user_session = session.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).first()
        if user_session is None or user_session.revoked_at is not None:
            return
        user_session.revoked_at = utcnow()
        session.add(user_session)
        user = session.get(User, user_session.user_id)
        audit.record(session, "auth.logout", actor=user, target_type="user", target_id=user_session.user_id)


def user_for_api_key(key: str) -> User | None:
    """The active user an API key belongs to, or ``None`` when the key is unknown, revoked or expired."""
    return _token_owner(ApiKey, key, "last_used_at")


def _token_owner(model: type[UserSession] | type[ApiKey], token: str, touched: str) -> User | None:
    """Look a bearer token up by its hash; check it is live and its user active; note the use.

    Args:
        model: The table the token lives in (sessions and API keys share these columns).
        token: The token as the client sent it.
        touched: The column that records the last use, updated at most every TOUCH_INTERVAL.
    """
    if not token:
        return None
    now = utcnow()
    with session_scope() as session:
        row = session.exec(
            select(model, User)
            .join(User, User.id == model.user_id)  # type: ignore[arg-type]
            .where(model.token_hash == token_hash(token))
        ).first()
        if row is None:
            return None
        credential, user = row
        expired = credential.expires_at is not None and credential.expires_at <= now
        if credential.revoked_at is not None or expired or not user.active:
            return None
        last_use = getattr(credential, touched)
        if last_use is None or now - last_use > TOUCH_INTERVAL:
            setattr(credential, touched, now)
            session.add(credential)
        return user
