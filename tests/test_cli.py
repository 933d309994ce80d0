"""``python -m hitl_studio`` commands, run in-process through :func:`hitl_studio.cli.main`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from hitl_studio import migrations
from hitl_studio.cli import main
from hitl_studio.credentials.crypto import Keyring
from hitl_studio.db import get_engine, session_scope
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import Role
from hitl_studio.services import auth, credentials, users
from hitl_studio.services.credentials import create_credential
from hitl_studio.settings import Settings
from tests.factories import DEFAULT_PASSWORD, audit_rows, make_user


def test_migrate_is_idempotent(sqlite_database: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    migrations.downgrade()

    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0

    assert capsys.readouterr().out.splitlines() == ["database is at the latest schema"] * 2
    assert "user" in inspect(get_engine()).get_table_names()


def test_create_admin_reads_the_password_from_stdin(
    sqlite_database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(DEFAULT_PASSWORD + "\n"))

    assert main(["create-admin", "--email", "Root@Example.com", "--password-stdin"]) == 0

    assert capsys.readouterr().out == "admin root@example.com created\n"
    admin = users.find_user_by_email("root@example.com")
    assert admin is not None and (admin.role, admin.active) == (Role.ADMIN, True)
    assert auth.login("root@example.com", DEFAULT_PASSWORD).user.id == admin.id


def test_create_admin_promotes_an_existing_user(
    sqlite_database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer = make_user(Role.VIEWER, email="vic@example.com")
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))

    assert main(["create-admin", "--email", "vic@example.com", "--password-stdin"]) == 0

    assert "already existed" in capsys.readouterr().out
    assert users.get_user(viewer.id).role == Role.ADMIN
    # Without --reset-password the user keeps their own password.
    assert auth.login("vic@example.com", DEFAULT_PASSWORD).user.id == viewer.id


def test_create_admin_refuses_a_short_password(
    sqlite_database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))

    assert main(["create-admin", "--email", "root@example.com", "--password-stdin"]) == 1

    assert capsys.readouterr().err == "error: password: Use at least 8 characters.\n"
    assert users.list_users() == []


def test_create_admin_without_a_password_source_says_how_to_give_one(
    sqlite_database: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    assert main(["create-admin", "--email", "root@example.com"]) == 1

    assert "--password-stdin" in capsys.readouterr().err
    assert users.list_users() == []


def test_create_api_key_prints_a_working_key(sqlite_database: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    user = make_user(Role.BUILDER)

    assert main(["create-api-key", "--email", user.email.upper(), "--name", "deploy bot"]) == 0

    captured = capsys.readouterr()
    key = captured.out.strip()
    assert key.startswith("hitl_")
    assert "\n" not in key
    resolved = auth.user_for_api_key(key)
    assert resolved is not None and resolved.id == user.id
    assert "shown once" in captured.err
    assert key not in captured.err


def test_create_api_key_for_an_unknown_email_fails(
    sqlite_database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-api-key", "--email", "nobody@example.com", "--name", "bot"]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: No user with the email nobody@example.com")


def test_create_api_key_for_a_deactivated_user_fails(
    sqlite_database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = make_user(Role.ADMIN)
    user = make_user(Role.BUILDER)
    users.update_user(user.id, actor=admin, active=False)

    assert main(["create-api-key", "--email", user.email, "--name", "bot"]) == 1

    assert "deactivated" in capsys.readouterr().err


OLD_KEY = "rotate-me-old-secret-key-000000000000000001"
NEW_KEY = "rotate-me-new-secret-key-000000000000000002"


def _seal_three_credentials(configure: Callable[..., Settings]) -> list[Credential]:
    configure(HITL_SECRET_KEY=OLD_KEY)
    owner = make_user(Role.BUILDER)
    return [
        create_credential(f"api {n}", "http_bearer_auth", {"token": f"sk-rotate-{n}-secret"}, actor=owner)
        for n in range(3)
    ]


def _stored() -> dict[str, tuple[str, str]]:
    with session_scope() as session:
        return {row.id: (row.key_id, row.encrypted_data) for row in session.exec(select(Credential))}


def test_rotate_key_re_encrypts_every_credential_and_is_idempotent(
    sqlite_database: Settings, configure: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    made = _seal_three_credentials(configure)
    configure(HITL_SECRET_KEY=NEW_KEY, HITL_SECRET_KEY_PREVIOUS=OLD_KEY)
    new_id = Keyring.from_secrets(NEW_KEY).current_id

    assert main(["rotate-key", "--batch-size", "2"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert f"credentials: 3 re-encrypted, 0 already on key {new_id}" in out
    assert out[-1] == f"done: every secret is sealed with key {new_id}; the old key can leave HITL_SECRET_KEY_PREVIOUS"
    assert {key for key, _ in _stored().values()} == {new_id}
    assert main(["rotate-key"]) == 0
    assert f"credentials: 0 re-encrypted, 3 already on key {new_id}" in capsys.readouterr().out
    (rotated, _again) = audit_rows("secret_key.rotated")
    assert rotated.actor_label == "cli" and rotated.after == {
        label: {"re_encrypted": 3 if label == "credentials" else 0, "failed": 0, "remaining": 0}
        for label in ("credentials", "OAuth tokens", "webhook signing secrets", "OAuth sign-ins in progress")
    }

    configure(HITL_SECRET_KEY=NEW_KEY, HITL_SECRET_KEY_PREVIOUS=None)
    admin = make_user(Role.ADMIN)
    assert [credentials.open_data(credentials.get_credential(row.id, admin)) for row in made] == [
        {"token": f"sk-rotate-{n}-secret"} for n in range(3)
    ]


def test_rotate_key_leaves_a_tampered_row_and_says_so(
    sqlite_database: Settings, configure: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    first, *_ = _seal_three_credentials(configure)
    with session_scope() as session:
        row = session.get(Credential, first.id)
        assert row is not None
        row.encrypted_data = row.encrypted_data[:-8] + "AAAAAAAA"
        session.add(row)
    configure(HITL_SECRET_KEY=NEW_KEY, HITL_SECRET_KEY_PREVIOUS=OLD_KEY)

    assert main(["rotate-key"]) == 1

    captured = capsys.readouterr()
    assert f"credentials: 2 re-encrypted, 0 already on key {Keyring.from_secrets(NEW_KEY).current_id}, " in captured.out
    assert f"1 cannot be decrypted (rows {first.id})" in captured.out
    assert "tampered with: re-enter those secrets" in captured.err
    assert _stored()[first.id][0] == Keyring.from_secrets(OLD_KEY).current_id


@pytest.mark.parametrize("command", [["rotate-key"], ["worker"], ["scheduler"]])
def test_commands_that_use_secrets_refuse_a_wrong_key_before_doing_anything(
    sqlite_database: Settings,
    configure: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    _seal_three_credentials(configure)
    before = _stored()
    configure(HITL_SECRET_KEY=NEW_KEY)

    with pytest.raises(SystemExit) as stopped:
        main(command)

    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("HITL_SECRET_KEY (key id ") and "list it in HITL_SECRET_KEY_PREVIOUS" in line
    assert Keyring.from_secrets(OLD_KEY).current_id in line
    assert _stored() == before
    assert audit_rows("secret_key.rotated") == []


def test_a_worker_process_with_a_wrong_key_exits_2_with_one_line(
    sqlite_database: Settings, configure: Callable[..., Settings]
) -> None:
    _seal_three_credentials(configure)
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("HITL_")},
        "HITL_DATA_DIR": str(sqlite_database.data_dir),
        "HITL_SECRET_KEY": NEW_KEY,
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }

    finished = subprocess.run(
        [sys.executable, "-m", "hitl_studio", "worker"], env=env, capture_output=True, text=True, timeout=60
    )

    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines()[-1].startswith("HITL_SECRET_KEY (key id ")


def test_rotate_key_refuses_a_batch_size_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["rotate-key", "--batch-size", "0"])

    assert stopped.value.code == 2
    assert "--batch-size: must be at least 1, got 0" in capsys.readouterr().err
