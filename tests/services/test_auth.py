"""hitl_studio.services.auth and api_keys on SQLite and PostgreSQL: sign-in, throttling, sessions, API keys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.users import ApiKey, Role, UserSession
from hitl_studio.services import api_keys, auth, users
from hitl_studio.services.errors import InvalidInput, NotAuthenticated, NotFound, Throttled
from hitl_studio.settings import Settings
from tests.factories import DEFAULT_PASSWORD, audit_rows, make_api_key, make_user

Configure = Callable[..., Settings]


def test_login_opens_a_session_the_token_resolves_to(database: Settings) -> None:
    user = make_user(Role.BUILDER, email="ana@example.com")

    signed_in = auth.login(" Ana@Example.com", DEFAULT_PASSWORD, ip="10.0.0.1", user_agent="pytest")

    assert signed_in.user.id == user.id
    assert signed_in.expires_at > utcnow() + timedelta(hours=database.session_ttl_hours - 1)
    resolved = auth.user_for_session(signed_in.token)
    assert resolved is not None and resolved.id == user.id
    assert users.get_user(user.id).last_login_at is not None
    with session_scope() as session:
        [stored] = session.exec(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert stored.token_hash == hashlib.sha256(signed_in.token.encode()).hexdigest()
    [row] = audit_rows("auth.login")
    assert (row.actor_id, row.target_id, row.ip) == (user.id, "ana@example.com", "10.0.0.1")


def test_unknown_tokens_resolve_to_nobody(database: Settings) -> None:
    assert auth.user_for_session("") is None
    assert auth.user_for_session("no-such-token") is None
    assert auth.user_for_api_key("") is None
    assert auth.user_for_api_key("hitl_no-such-key") is None


def test_wrong_password_and_unknown_email_look_the_same(database: Settings) -> None:
    make_user(email="ana@example.com")

    with pytest.raises(NotAuthenticated) as wrong_password:
        auth.login("ana@example.com", "not the password")
    with pytest.raises(NotAuthenticated) as unknown_email:
        auth.login("nobody@example.com", DEFAULT_PASSWORD)

    assert wrong_password.value.message == unknown_email.value.message
    rows = audit_rows("auth.login_failed")
    assert [(row.target_id, row.after) for row in rows] == [
        ("ana@example.com", {"reason": "bad_credentials"}),
        ("nobody@example.com", {"reason": "bad_credentials"}),
    ]
    assert audit_rows("auth.login") == []


def test_an_inactive_user_cannot_sign_in(database: Settings) -> None:
    admin = make_user(Role.ADMIN)
    viewer = make_user(email="vic@example.com")
    users.update_user(viewer.id, actor=admin, active=False)

    with pytest.raises(NotAuthenticated) as caught:
        auth.login("vic@example.com", DEFAULT_PASSWORD)

    assert caught.value.message == "Wrong email or password."
    [row] = audit_rows("auth.login_failed")
    assert row.after == {"reason": "inactive"}


def test_repeated_failures_throttle_that_email_only(database: Settings, configure: Configure) -> None:
    settings = configure(HITL_LOGIN_MAX_FAILURES="3")
    make_user(email="ana@example.com")
    make_user(email="bob@example.com")
    for _ in range(settings.login_max_failures):
        with pytest.raises(NotAuthenticated):
            auth.login("ana@example.com", "not the password")

    with pytest.raises(Throttled) as caught:
        auth.login("ana@example.com", DEFAULT_PASSWORD)

    assert 0 < caught.value.retry_after <= settings.login_lockout_seconds + 1
    assert auth.login("bob@example.com", DEFAULT_PASSWORD).user.email == "bob@example.com"
    # A throttled attempt is refused before the password is checked, so it adds no failure.
    assert len(audit_rows("auth.login_failed")) == settings.login_max_failures


def test_a_successful_login_resets_the_failure_count(database: Settings, configure: Configure) -> None:
    configure(HITL_LOGIN_MAX_FAILURES="3")
    user = make_user(email="ana@example.com")

    def fail(times: int) -> None:
        for _ in range(times):
            with pytest.raises(NotAuthenticated):
                auth.login("ana@example.com", "not the password")

    fail(2)
    auth.login("ana@example.com", DEFAULT_PASSWORD)
    fail(2)

    # Four failures inside the window, but only two since the success.
    assert auth.login("ana@example.com", DEFAULT_PASSWORD).user.id == user.id


def test_many_failures_from_one_address_throttle_every_email_from_it(database: Settings, configure: Configure) -> None:
    configure(HITL_LOGIN_MAX_FAILURES="1")
    user = make_user(email="ana@example.com")
    for index in range(auth.IP_FAILURE_FACTOR):
        with pytest.raises(NotAuthenticated):
            auth.login(f"guess{index}@example.com", "not the password", ip="10.0.0.9")

    with pytest.raises(Throttled):
        auth.login("ana@example.com", DEFAULT_PASSWORD, ip="10.0.0.9")
    assert auth.login("ana@example.com", DEFAULT_PASSWORD, ip="10.0.0.10").user.id == user.id


def test_logout_ends_the_session(database: Settings) -> None:
    user = make_user()
    token = auth.login(user.email, DEFAULT_PASSWORD).token
    other = auth.login(user.email, DEFAULT_PASSWORD).token

    auth.logout(token)
    auth.logout(token)  # ending it twice is harmless

    assert auth.user_for_session(token) is None
    assert auth.user_for_session(other) is not None
    assert [row.target_id for row in audit_rows("auth.logout")] == [user.id]


def test_an_api_key_is_shown_once_and_stored_as_its_hash(database: Settings) -> None:
    user = make_user(Role.BUILDER)

    created = api_keys.create_api_key(user, "  deploy bot ")

    secret = created.secret
    assert secret.startswith("hitl_")
    with session_scope() as session:
        stored = session.get(ApiKey, created.api_key.id)
    assert stored is not None
    assert stored.name == "deploy bot"
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(stored.prefix)
    for column in ApiKey.__table__.columns:  # type: ignore[attr-defined]
        assert secret not in str(getattr(stored, column.key)), column.key
    [row] = audit_rows("api_key.created")
    assert (row.actor_id, row.target_id) == (user.id, stored.id)
    assert secret not in str(row.after)


def test_an_api_key_resolves_to_its_owner_until_revoked(database: Settings) -> None:
    user = make_user(Role.BUILDER)
    created = api_keys.create_api_key(user, "agent")

    resolved = auth.user_for_api_key(created.secret)

    assert resolved is not None and resolved.id == user.id
    [listed] = api_keys.list_api_keys(user)
    assert listed.last_used_at is not None

    revoked = api_keys.revoke_api_key(created.api_key.id, actor=user)

    assert revoked.revoked_at is not None
    assert auth.user_for_api_key(created.secret) is None
    [row] = audit_rows("api_key.revoked")
    assert (row.actor_id, row.target_id) == (user.id, created.api_key.id)


def test_an_api_key_needs_a_name(database: Settings) -> None:
    with pytest.raises(InvalidInput) as caught:
        api_keys.create_api_key(make_user(), "   ")

    assert "name" in caught.value.field_errors


def test_only_the_owner_or_an_admin_can_revoke_a_key(database: Settings) -> None:
    owner = make_user(Role.BUILDER)
    stranger = make_user(Role.BUILDER)
    admin = make_user(Role.ADMIN)
    created = api_keys.create_api_key(owner, "agent")

    with pytest.raises(NotFound):
        api_keys.revoke_api_key(created.api_key.id, actor=stranger)
    assert auth.user_for_api_key(created.secret) is not None

    api_keys.revoke_api_key(created.api_key.id, actor=admin)

    assert auth.user_for_api_key(created.secret) is None
    [row] = audit_rows("api_key.revoked")
    assert row.actor_id == admin.id


def test_a_deactivated_users_key_stops_working(database: Settings) -> None:
    admin = make_user(Role.ADMIN)
    user = make_user(Role.BUILDER)
    secret = make_api_key(user)

    users.update_user(user.id, actor=admin, active=False)

    assert auth.user_for_api_key(secret) is None


def test_admins_may_list_everyones_keys(database: Settings) -> None:
    admin = make_user(Role.ADMIN)
    builder = make_user(Role.BUILDER)
    make_api_key(admin, "admin's")
    make_api_key(builder, "builder's")

    assert [key.name for key in api_keys.list_api_keys(builder, include_all=True)] == ["builder's"]
    assert {key.name for key in api_keys.list_api_keys(admin, include_all=True)} == {"admin's", "builder's"}
    assert [key.name for key in api_keys.list_api_keys(admin)] == ["admin's"]
