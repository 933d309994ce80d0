"""SQLite writers of one process take turns at a gate instead of polling for the file's lock.

A connection takes the gate before its first write and gives it back when it
returns to the pool; reads never take it; a writer that cannot get it in time
goes on and lets SQLite decide, so a mistake in a caller fails as before
instead of hanging.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from hitl_studio import db
from hitl_studio.settings import Settings


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = create_engine(
        f"sqlite:///{tmp_path / 'gate.db'}", connect_args={"check_same_thread": False, "timeout": 0.2}
    )
    with built.begin() as connection:
        connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield built
    built.dispose()


def _gate(engine: Engine, timeout: float = 5.0) -> db.SQLiteWriteGate:
    gate = db.SQLiteWriteGate(timeout=timeout)
    gate.attach(engine)
    return gate


def test_a_write_holds_the_gate_until_its_connection_goes_back_to_the_pool(engine: Engine) -> None:
    gate = _gate(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM note"))
        assert not gate.busy  # reading takes no turn
        connection.execute(text("INSERT INTO note (body) VALUES ('first')"))
        assert gate.busy
        connection.execute(text("UPDATE note SET body = 'second'"))  # the same turn, not a second one
        connection.commit()
    assert not gate.busy


def test_a_rolled_back_write_gives_the_gate_back(engine: Engine) -> None:
    gate = _gate(engine)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO note (body) VALUES ('lost')"))
        assert gate.busy
        raise RuntimeError("the caller failed half way")
    assert not gate.busy
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM note")).scalar_one() == 0


def test_many_threads_writing_at_once_all_land_and_leave_the_gate_free(engine: Engine) -> None:
    gate = _gate(engine)
    failures: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for index in range(20):
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO note (body) VALUES (:body)"), {"body": f"{thread}-{index}"})
        except BaseException as err:  # reported to the test's thread below
            failures.append(err)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM note")).scalar_one() == 160
    assert not gate.busy


def test_a_nested_write_while_the_caller_holds_the_gate_fails_as_sqlite_would_instead_of_hanging(
    engine: Engine,
) -> None:
    gate = _gate(engine, timeout=0.1)
    with engine.connect() as outer:
        outer.execute(text("INSERT INTO note (body) VALUES ('outer')"))
        with engine.connect() as inner, pytest.raises(OperationalError, match="database is locked"):
            inner.execute(text("INSERT INTO note (body) VALUES ('inner')"))
        assert gate.busy  # the inner connection never had the turn, so it gave nothing back
        outer.commit()
    assert not gate.busy


def test_the_studio_engine_on_sqlite_writes_through_the_gate(sqlite_database: Settings) -> None:
    with db.session_scope() as session:
        session.execute(text("SELECT 1"))
        assert not session.connection().info.get("write_gate")
        session.execute(text("DELETE FROM oauth_state WHERE 1 = 0"))
        assert session.connection().info.get("write_gate") is True
