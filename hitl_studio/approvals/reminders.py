"""When to remind approvers: a request's reminders are offsets in seconds before its current deadline.

Pure arithmetic, so the service, the reminder job and the reconciler agree on
the same times: a request keeps one pointer, ``next_reminder_at``, and each
reminder moves it to the next offset of the same deadline (an escalation
starts again from the new tier's deadline).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

MAX_REMINDERS = 10


def normalize(offsets: Iterable[int]) -> list[int]:
    """The offsets each once, largest (earliest reminder) first."""
    return sorted(set(offsets), reverse=True)


def next_reminder(expires_at: datetime | None, offsets: Iterable[int], after: datetime) -> datetime | None:
    """The first reminder time of this deadline that is later than ``after`` and before the deadline.

    Reminders already in the past (``after`` is usually now) are skipped: a
    request made 5 minutes before its deadline gets no "1 hour left" reminder,
    and a studio that was down does not send a burst of stale ones.
    """
    if expires_at is None:
        return None
    times = sorted(expires_at - timedelta(seconds=offset) for offset in set(offsets) if offset > 0)
    return next((moment for moment in times if moment > after), None)


def offset_of(expires_at: datetime, due: datetime) -> int:
    """How many seconds before the deadline the reminder due at ``due`` is (for the timeline)."""
    return round((expires_at - due).total_seconds())
