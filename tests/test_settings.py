"""Reading the environment into Settings: defaults, normalisation, one clear error per bad variable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hitl_studio.settings import SECRET_KEY_FILE, Settings, SettingsError

REPO_ROOT = Path(__file__).resolve().parent.parent

Configure = Callable[..., Settings]


def test_defaults_use_sqlite_in_the_data_dir_and_embedded_mode(configure: Configure, isolated_settings: Path) -> None:
    settings = configure()

    data_dir = isolated_settings.resolve()
    assert settings.data_dir == data_dir
    assert settings.database_url == f"sqlite:///{data_dir / 'hitl.db'}"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.embedded
    assert settings.backend_port == 8000
    assert settings.api_url == "http://localhost:8000"
    assert settings.log_level == "info"


def test_redis_url_switches_to_queue_mode(configure: Configure) -> None:
    settings = configure(REDIS_URL="redis://127.0.0.1:6379/0")

    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert not settings.embedded


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://ana:pw@db.example.com:5432/hitl", "postgresql+psycopg://ana:pw@db.example.com:5432/hitl"),
        ("postgresql://ana@db.example.com/hitl", "postgresql+psycopg://ana@db.example.com/hitl"),
        ("postgresql+psycopg://ana@db.example.com/hitl", "postgresql+psycopg://ana@db.example.com/hitl"),
    ],
)
def test_postgres_urls_are_pointed_at_psycopg(configure: Configure, given: str, expected: str) -> None:
    settings = configure(DATABASE_URL=given)

    assert settings.database_url == expected
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/hitl"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"HITL_BACKEND_PORT": "abc"}, "HITL_BACKEND_PORT"),
        ({"HITL_BACKEND_PORT": "0"}, "HITL_BACKEND_PORT"),
        ({"HITL_BACKEND_PORT": "70000"}, "HITL_BACKEND_PORT"),
        ({"HITL_SECRET_KEY": "too-short"}, "HITL_SECRET_KEY"),
        # A half-configured admin names the variable that is missing.
        ({"HITL_ADMIN_EMAIL": "root@example.com"}, "HITL_ADMIN_PASSWORD"),
        ({"HITL_ADMIN_PASSWORD": "long enough password"}, "HITL_ADMIN_EMAIL"),
        ({"HITL_LOG_LEVEL": "loud"}, "HITL_LOG_LEVEL"),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value,
)
def test_a_malformed_variable_is_named_first_in_the_error(
    configure: Configure, variables: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        configure(**variables)

    assert str(caught.value).startswith(f"{named}: ")
    assert caught.value.variable == named
    assert caught.value.problem


def test_a_secret_key_is_generated_once_and_kept_private(configure: Configure, isolated_settings: Path) -> None:
    key_file = isolated_settings / SECRET_KEY_FILE
    assert not key_file.exists()

    first = configure()

    assert key_file.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert configure().secret_key == first.secret_key


def test_an_explicit_secret_key_wins_and_writes_no_file(configure: Configure, isolated_settings: Path) -> None:
    key = "k" * 40

    assert configure(HITL_SECRET_KEY=key).secret_key == key
    assert not (isolated_settings / SECRET_KEY_FILE).exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("HITL_BACKEND_PORT", "abc"), ("DATABASE_URL", "mysql://root@localhost/hitl")],
)
def test_the_cli_reports_a_bad_variable_in_one_line_and_exits_2(tmp_path: Path, variable: str, value: str) -> None:
    env = {**os.environ, "HITL_DATA_DIR": str(tmp_path), variable: value}

    result = subprocess.run(
        [sys.executable, "-m", "hitl_studio", "migrate"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "hitl.db").exists()
