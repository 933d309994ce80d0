"""Database engine and sessions; every SQLite/PostgreSQL difference lives here.

SQLite is the zero-setup default (embedded mode) and PostgreSQL the production
database; code elsewhere uses :func:`session_scope` and the column types below
and never asks which one it is talking to.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from hitl_studio.settings import get_settings

JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON everywhere, JSONB on PostgreSQL so that later issues can index into it."""

BigIntId = BigInteger().with_variant(Integer(), "sqlite")
"""Auto-increment ids for append-only logs: SQLite only auto-increments ``INTEGER``."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no zone and hands back naive values; PostgreSQL converts to
    the session zone. Normalising here means comparisons never mix naive and
    aware datetimes anywhere else in the code.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column; use hitl_studio.db.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC (the only kind the database stores)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A time-ordered UUID (version 7) as a string.

    Ordered ids keep PostgreSQL's B-tree inserts local and make "newest first"
    a primary-key scan; they are still unguessable enough to show in URLs.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


SQLITE_BUSY_SECONDS = 10
"""How long a SQLite write waits for another to finish before it fails with "database is locked"."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the studio read while a worker thread writes; foreign keys are off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.close()


_WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class SQLiteWriteGate:
    """Lets this process's SQLite writers take turns in a queue instead of polling for the lock.

    SQLite allows one writer at a time. A connection that finds the file locked
    sleeps and retries (1, 2, 5 … 100 ms apart), and a steady stream of other
    writers can keep winning the lock meanwhile: under load some webhook calls
    waited a whole second. Here a connection takes the gate before its first
    INSERT, UPDATE or DELETE (when SQLite takes its write lock) and gives it back
    when it returns to the pool, after its commit or rollback; waiting writers
    are woken in turn the moment it is free. Reads never wait for it. SQLite's
    own lock still guards against other processes (the CLI, a second studio).
    """

    def __init__(self, timeout: float = SQLITE_BUSY_SECONDS) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout

    @property
    def busy(self) -> bool:
        """Whether a connection holds the gate now."""
        return self._lock.locked()

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        for name in ("checkin", "close", "invalidate"):
            event.listen(engine, name, self._give_back)

    def _before_execute(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        held = connection.info  # the pooled connection's own dict, also handed to the pool's events
        if held.get("write_gate") or not _WRITE_STATEMENT.match(statement):
            return
        # Past the timeout the write goes ahead and SQLite's own busy wait decides (a nested
        # session writing while its caller holds the gate fails as it would without the gate).
        if self._lock.acquire(timeout=self._timeout):
            held["write_gate"] = True

    def _give_back(self, _dbapi_connection: Any, record: Any, *_args: Any) -> None:
        if record is not None and record.info.pop("write_gate", False):
            self._lock.release()


def build_engine(database_url: str) -> Engine:
    """Create an engine configured for the database ``database_url`` names."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
        event.listen(engine, "connect", _sqlite_pragmas)
        SQLiteWriteGate().attach(engine)
        return engine
    engine = create_engine(database_url, pool_size=10, max_overflow=20)
    event.listen(engine, "checkin", _note_idle_since)
    event.listen(engine, "checkout", _idle_ping(engine.dialect))
    return engine


PING_AFTER_IDLE_SECONDS = 5.0
"""A pooled connection that sat unused longer than this is pinged before it is handed out.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip to
PostgreSQL for each of a run's three transactions. A connection that went back
to the pool milliseconds ago is as alive as a ping would show; one that sat idle
may have been closed by a server restart or an idle timeout, and is replaced.
"""


def _note_idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _idle_ping(dialect: Any) -> Callable[[Any, Any, Any], None]:
    """The pool's checkout hook: ping a connection that was idle too long, and have a closed one replaced."""

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or back in the pool a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                # The pool drops this connection and checks out (or opens) another.
                raise DisconnectionError(f"the pooled database connection was closed: {err}") from err
            raise

    return ping_if_idle


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine for the configured ``DATABASE_URL``."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = build_engine(get_settings().database_url)
    return _engine


def reset_engine() -> None:
    """Dispose of the engine (tests switch databases between cases)."""
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def check_database() -> None:
    """Run a trivial query; raises the driver's error when the database is unreachable."""
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
