"""What every studio process does before serving: the secret key check, the admin from HITL_ADMIN_EMAIL/PASSWORD."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from hitl_studio.credentials.crypto import Keyring
from hitl_studio.db import session_scope
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import Role
from hitl_studio.services import auth, secret_keys, users
from hitl_studio.services.approval_notifications import create_subscription
from hitl_studio.services.credentials import create_credential
from hitl_studio.settings import Settings
from hitl_studio.startup import bootstrap_admin, secret_key_or_exit
from tests.factories import audit_rows, make_user


def test_the_configured_admin_is_created_once_and_can_sign_in(
    sqlite_database: Settings, configure: Callable[..., Settings]
) -> None:
    settings = configure(HITL_ADMIN_EMAIL="Boss@Example.com", HITL_ADMIN_PASSWORD="boss-password")

    bootstrap_admin(settings)
    bootstrap_admin(settings)

    admin = users.find_user_by_email("boss@example.com")
    assert admin is not None and admin.role == Role.ADMIN and admin.active
    assert [row.actor_label for row in audit_rows("user.created")] == ["HITL_ADMIN_EMAIL"]
    assert auth.login("boss@example.com", "boss-password").user.id == admin.id


def test_without_the_variables_no_user_is_created(sqlite_database: Settings) -> None:
    bootstrap_admin(sqlite_database)

    assert not users.has_users()


OLD_KEY = "the-old-secret-key-written-before-0000000001"
NEW_KEY = "the-new-secret-key-configured-by-mistake-0002"


def _credential_sealed_with(configure: Callable[..., Settings], key: str) -> Credential:
    configure(HITL_SECRET_KEY=key)
    owner = make_user(Role.ADMIN)
    return create_credential("billing", "http_bearer_auth", {"token": "sk-never-shown-1234"}, actor=owner)


def test_a_wrong_key_stops_start_up_with_one_line_and_touches_nothing(
    sqlite_database: Settings, configure: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    credential = _credential_sealed_with(configure, OLD_KEY)
    settings = configure(HITL_SECRET_KEY=NEW_KEY, HITL_ADMIN_EMAIL="boss@example.com", HITL_ADMIN_PASSWORD="boss-pass")

    with pytest.raises(SystemExit) as stopped:
        bootstrap_admin(settings)

    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    old_id = Keyring.from_secrets(OLD_KEY).current_id
    assert line == (
        f"HITL_SECRET_KEY (key id {Keyring.from_secrets(NEW_KEY).current_id}) cannot decrypt credentials "
        f"encrypted with key id {old_id}: set the key they were written with, or list it in HITL_SECRET_KEY_PREVIOUS"
    )
    assert users.find_user_by_email("boss@example.com") is None
    with session_scope() as session:
        stored = session.get(Credential, credential.id)
    assert stored is not None and (stored.key_id, stored.encrypted_data) == (
        credential.key_id,
        credential.encrypted_data,
    )


def test_the_old_key_listed_as_previous_lets_start_up_go_on(
    sqlite_database: Settings, configure: Callable[..., Settings]
) -> None:
    _credential_sealed_with(configure, OLD_KEY)
    settings = configure(
        HITL_SECRET_KEY=NEW_KEY,
        HITL_SECRET_KEY_PREVIOUS=f"some-other-old-key-0000000000000000,{OLD_KEY}",
        HITL_ADMIN_EMAIL="boss@example.com",
        HITL_ADMIN_PASSWORD="boss-password",
    )

    assert secret_keys.check_keys().problem() is None
    secret_key_or_exit()  # returns: no SystemExit
    bootstrap_admin(settings)
    assert users.find_user_by_email("boss@example.com") is not None


def test_every_kind_of_sealed_value_is_checked_and_named(
    sqlite_database: Settings, configure: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    configure(HITL_SECRET_KEY=OLD_KEY)
    owner = make_user(Role.BUILDER)
    create_subscription(owner, "http://127.0.0.1:9/hook", ["approval.created"], "a-signing-secret-long-enough-1234")
    configure(HITL_SECRET_KEY=NEW_KEY)

    with pytest.raises(SystemExit):
        secret_key_or_exit()

    assert "cannot decrypt webhook signing secrets encrypted with key id" in capsys.readouterr().err


def test_a_tampered_value_is_logged_as_tampered_and_does_not_stop_start_up(
    sqlite_database: Settings, configure: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    credential = _credential_sealed_with(configure, OLD_KEY)
    with session_scope() as session:
        row = session.get(Credential, credential.id)
        assert row is not None
        head, body = row.encrypted_data.rsplit(":", 1)
        row.encrypted_data = f"{head}:{'A' * 8}{body[8:]}"
        session.add(row)

    with caplog.at_level(logging.WARNING):
        secret_key_or_exit()

    assert f"credentials: the value of row {credential.id} failed its integrity check: it was tampered with" in (
        caplog.text
    )
    assert "HITL_SECRET_KEY" not in caplog.text


def test_a_database_not_migrated_yet_holds_nothing_to_check(configure: Callable[..., Settings]) -> None:
    configure(HITL_SECRET_KEY=NEW_KEY)

    assert secret_key_or_exit() is None  # no SystemExit: nothing is stored under any key yet
