"""Run statistics for the Executions screen: how many runs started each day, by status.

One ``GROUP BY`` over ``execution`` (its ``created_at`` is indexed together
with ``workflow_id``), so the chart costs one query however many runs there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select

from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import Execution
from hitl_studio.services.errors import InvalidInput

MAX_DAYS = 90
STATUSES = tuple(status.value for status in RunStatus)
"""Every run status, in the order the chart stacks them."""


class UtcDay(FunctionElement[str]):
    """SQL: the ``YYYY-MM-DD`` (UTC) of a timestamp column, as text.

    The one expression here that differs by database: SQLite keeps our
    timestamps as naive UTC text, PostgreSQL as ``timestamptz``, whose
    ``date()`` would use the session's time zone instead of UTC.
    """

    type = String()
    name = "utc_day"
    inherit_cache = True


@compiles(UtcDay)
def _utc_day_sqlite(element: UtcDay, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d', {compiler.process(element.clauses, **kw)})"


@compiles(UtcDay, "postgresql")
def _utc_day_postgresql(element: UtcDay, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class DayCount:
    """Runs created on one UTC day; ``counts`` holds every status of :data:`STATUSES` (0 when none)."""

    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def runs_per_day(days: int = 14, *, workflow_id: str | None = None, now: datetime | None = None) -> list[DayCount]:
    """Runs per UTC day for the last ``days`` days (today included), oldest first, empty days too.

    Args:
        days: How many days, 1 to :data:`MAX_DAYS`.
        workflow_id: Only this workflow's runs.
        now: The current time, aware (defaults to now).

    Raises:
        InvalidInput: ``days`` is out of range (field ``days``).
    """
    if not 1 <= days <= MAX_DAYS:
        message = f"days must be between 1 and {MAX_DAYS}, not {days}."
        raise InvalidInput(message, field_errors={"days": message})
    today = (now or utcnow()).astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    day = UtcDay(col(Execution.created_at))
    query = (
        select(day, Execution.status, func.count())
        .where(
            col(Execution.created_at) >= datetime.combine(first, time.min, tzinfo=UTC),
            col(Execution.created_at) < datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC),
        )
        .group_by(day, col(Execution.status))
    )
    if workflow_id:
        query = query.where(col(Execution.workflow_id) == workflow_id)
    with session_scope() as session:
        rows = list(session.exec(query))
    found: dict[str, dict[str, int]] = {}
    for day_text, status, count in rows:
        found.setdefault(str(day_text), {})[str(status)] = int(count)
    result = []
    for offset in range(days):
        moment = first + timedelta(days=offset)
        counts = found.get(moment.isoformat(), {})
        result.append(DayCount(moment, {status: counts.get(status, 0) for status in STATUSES}))
    return result
