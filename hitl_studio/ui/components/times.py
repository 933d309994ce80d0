"""Times as the screens show them: exact stamps, "5 min ago" / "in 2 h", and durations.

Plain functions of Python datetimes, computed when a page loads its rows (the
live pages reload often enough that a relative time never goes stale for long).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hitl_studio.db import utcnow


def stamp(moment: datetime | None) -> str:
    """``2026-03-14 12:05 UTC``, or an empty string for no time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86_400)} d"


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """How far ``moment`` is from now: ``just now``, ``5 min ago``, ``in 2 h``; empty for no time."""
    if moment is None:
        return ""
    seconds = (moment - (now or utcnow())).total_seconds()
    if abs(seconds) < 10:
        return "just now"
    return f"in {_span(seconds)}" if seconds > 0 else f"{_span(seconds)} ago"


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long from ``start`` to ``end``: ``340 ms``, ``12.5 s``, ``3 min 4 s``; empty if either is missing."""
    if start is None or end is None:
        return ""
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def clock(moment: datetime | None) -> str:
    """``12:05:03`` (UTC), for times within one run; empty for no time."""
    return moment.astimezone(UTC).strftime("%H:%M:%S") if moment else ""
