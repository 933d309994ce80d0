"""Fixtures every test can use: an isolated studio configuration and a migrated database.

Each test gets its own data directory, settings, engine and queue; tests that
name ``database`` run once on SQLite and once on a throw-away PostgreSQL
database (see tests/servers.py for how a missing server is handled).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hitl_studio import events, migrations
from hitl_studio.db import reset_engine
from hitl_studio.queue import reset_queue
from hitl_studio.services import run_results, triggers
from hitl_studio.settings import Settings, get_settings, reset_settings
from tests.servers import temporary_postgres_database

# Variables a developer's shell may export that would leak into tests' settings.
_STUDIO_VARIABLES = [
    name
    for name in os.environ
    if name.startswith(("HITL_", "SMTP_", "SLACK_", "SMS_")) and not name.startswith("HITL_TEST_")
] + ["DATABASE_URL", "REDIS_URL"]


def _reset_process_state() -> None:
    reset_queue()
    reset_engine()
    reset_settings()
    events.reset_bus()
    run_results.reset()
    triggers.route_cache.clear()


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Give every test a fresh data directory and no inherited configuration."""
    for name in _STUDIO_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("HITL_DATA_DIR", str(data_dir))
    _reset_process_state()
    yield data_dir
    _reset_process_state()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Set environment variables and return the settings they produce."""

    def apply(**variables: str | None) -> Settings:
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        _reset_process_state()
        return get_settings()

    return apply


def _migrated(monkeypatch: pytest.MonkeyPatch, url: str | None) -> Iterator[Settings]:
    if url is not None:
        monkeypatch.setenv("DATABASE_URL", url)
    _reset_process_state()
    migrations.upgrade()
    yield get_settings()
    _reset_process_state()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A migrated database, once per kind; yields the settings pointing at it."""
    if request.param == "sqlite":
        yield from _migrated(monkeypatch, None)
        return
    with temporary_postgres_database() as url:
        yield from _migrated(monkeypatch, url)


@pytest.fixture
def sqlite_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A migrated SQLite database, for tests whose subject does not depend on the database kind."""
    yield from _migrated(monkeypatch, None)
