"""The PostgreSQL connection pool: connections idle too long are checked, busy ones are not.

The pool pings a connection before handing it out only when it sat unused for
``PING_AFTER_IDLE_SECONDS``; a connection the server closed meanwhile is then
replaced instead of failing the request that drew it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import text

from hitl_studio import db
from hitl_studio.settings import Settings
from tests.servers import POSTGRES_ADMIN_URL, temporary_postgres_database


@pytest.fixture
def postgres(configure: Callable[..., Settings]) -> Iterator[str]:
    with temporary_postgres_database() as url:
        configure(DATABASE_URL=url)
        yield url


def _backend_pid() -> int:
    with db.session_scope() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _count_pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    dialect = db.get_engine().dialect
    pings: list[int] = []
    original = dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


def test_a_connection_back_in_the_pool_a_moment_ago_is_reused_without_a_ping(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    pings = _count_pings(monkeypatch)
    first = _backend_pid()
    assert _backend_pid() == first
    assert _backend_pid() == first
    assert pings == []


def test_an_idle_connection_is_pinged_and_one_the_server_closed_is_replaced(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    pings = _count_pings(monkeypatch)
    first = _backend_pid()
    assert pings == []  # a new connection needs no ping
    assert _backend_pid() == first
    assert len(pings) == 1

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))

    replaced = _backend_pid()
    assert replaced != first
    assert len(pings) == 2
