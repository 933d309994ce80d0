"""Counting the work one webhook run costs: SQL statements, commits, Redis round trips, Python calls.

On a shared machine wall-clock figures say more about the neighbours than
about the code; these counts do not move with load, so they are what the
throughput work is measured by (``python -m bench.engine counts``).

- SQL: SQLAlchemy ``before_cursor_execute`` and ``commit`` events on the
  studio's engine (every thread; ``executemany`` is one statement).
- Redis: every command or pipeline sent on a connection is one round trip
  (``Connection.send_packed_command``), for every client in the process (the
  studio's, RQ's, rq-scheduler's).
"""

from __future__ import annotations

import cProfile
import pstats
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class Tally:
    """Counts since the tally started (or was last reset); safe to bump from any thread."""

    statements: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    redis: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def statement(self, sql: str) -> None:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
        with self._lock:
            self.statements[verb] += 1

    def commit(self) -> None:
        with self._lock:
            self.commits += 1

    def round_trip(self, command: str) -> None:
        with self._lock:
            self.redis[command] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"statements": dict(self.statements), "commits": self.commits, "redis": dict(self.redis)}

    def reset(self) -> None:
        with self._lock:
            self.statements.clear()
            self.redis.clear()
            self.commits = 0


def per_run(snapshot: dict[str, Any], runs: int) -> dict[str, Any]:
    """A snapshot divided by the number of runs, rounded to two decimals, with totals."""

    def divide(counts: dict[str, int]) -> dict[str, float]:
        return {key: round(value / runs, 2) for key, value in sorted(counts.items())}

    return {
        "sql_statements": round(sum(snapshot["statements"].values()) / runs, 2),
        "sql_by_verb": divide(snapshot["statements"]),
        "commits": round(snapshot["commits"] / runs, 2),
        "redis_round_trips": round(sum(snapshot["redis"].values()) / runs, 2),
        "redis_by_command": divide(snapshot["redis"]),
    }


@contextmanager
def counting(engine: Engine) -> Iterator[Tally]:
    """Count SQL on ``engine`` and Redis round trips in this process while the block runs."""
    import redis.connection

    tally = Tally()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        tally.statement(statement)

    def on_commit(_conn: Any) -> None:
        tally.commit()

    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        tally.round_trip(_command_name(command))
        original(self, command, check_health)

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    redis.connection.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    try:
        yield tally
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def _command_name(packed: Any) -> str:
    """The first command's name in a packed request (``PIPELINE`` when several go at once)."""
    chunks = packed if isinstance(packed, list | tuple) else [packed]
    data = b"".join(bytes(chunk) for chunk in chunks[:2])
    parts = data.split(b"\r\n")
    # RESP: *<n>, $<len>, NAME, ...; a pipeline holds several '*' headers.
    name = parts[2].decode(errors="replace").upper() if len(parts) > 2 else "?"
    if sum(bytes(chunk).count(b"\r\n*") for chunk in chunks) > 0:
        return f"PIPELINE({name}...)"
    return name


def profile_calls(work: Callable[[], None], runs: int, top: int = 20) -> dict[str, Any]:
    """Run ``work`` ``runs`` times under cProfile (this thread only): calls per run, and the most called functions."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        for _ in range(runs):
            work()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((calls, f"{_short(filename)}:{line}({name})", cumulative))
    rows.sort(reverse=True)
    return {
        "python_calls_per_run": round(stats.total_calls / runs, 1),  # type: ignore[attr-defined]
        "most_called": [{"calls_per_run": round(calls / runs, 1), "function": where} for calls, where, _ in rows[:top]],
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", f"{_ROOT}/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


_ROOT = str(Path(__file__).resolve().parent.parent)
