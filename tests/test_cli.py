"""``python -m hitl_studio`` commands, run in-process through :func:`hitl_studio.cli.main`."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import inspect

from hitl_studio import migrations
from hitl_studio.cli import main
from hitl_studio.db import get_engine
from hitl_studio.models.users import Role
from hitl_studio.services import auth, users
from hitl_studio.settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user


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
