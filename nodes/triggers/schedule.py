"""Schedule Trigger: runs on a cron expression in a time zone (croniter does the maths), or every N seconds.

The ``cron`` parameter takes a five-field cron expression or an interval,
``@every <N>s`` (``m`` and ``h`` work too; the notation of Go's robfig/cron,
which no five-field cron can be mistaken for). Keeping both in the one field
keeps the node's fixed contract (``cron``, ``timezone``) and the ``schedule``
row as they are: :func:`next_fire_times` and :func:`following_fire` read both.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from pydantic import field_validator

from nodes.sdk import Category, Context, Item, NodeOutput, Parameters, TriggerKind, TriggerNode, param

INTERVAL = re.compile(r"@every\s+(\d+)\s*([smh])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
MAX_INTERVAL_SECONDS = 366 * 24 * 3600


class ScheduleParameters(Parameters):
    cron: str = param(
        title="Cron expression or interval",
        description="Five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5' for 9:00 on "
        "weekdays; or an interval, e.g. '@every 30s' (seconds, 1 or more; also m, h).",
        widget="cron",
        placeholder="*/15 * * * *",
        no_expressions=True,
    )
    timezone: str = param("UTC", title="Time zone", placeholder="Europe/Paris", no_expressions=True)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return checked_rule(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return checked_timezone(value)


def checked_rule(value: str) -> str:
    """``value`` if it is a five-field cron expression that fires, or an ``@every`` interval.

    Raises:
        ValueError: With the fix, for the parameter form.
    """
    if value.startswith("@every"):
        seconds = interval_of(value)
        if seconds is None or not 1 <= seconds <= MAX_INTERVAL_SECONDS:
            raise ValueError(
                f"{value!r} is not a valid interval: use '@every <N>s' with N from 1, e.g. '@every 30s' "
                "(or minutes and hours: '@every 5m', '@every 2h'), at most a year"
            )
        return value
    # croniter also reads a sixth field, as seconds: "0 0 9 * * 1-5" would fire five times at 00:00 on the 9th.
    if not croniter.is_valid(value) or (not value.startswith("@") and len(value.split()) != 5):
        raise ValueError(f"{value!r} is not a valid cron expression: use five fields, e.g. '0 9 * * 1-5'")
    try:
        croniter(value).get_next(datetime)
    except CroniterBadDateError as err:
        raise ValueError(f"{value!r} never fires; check its day of month and month") from err
    return value


def checked_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone.

    Raises:
        ValueError: For the parameter form.
    """
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {value!r}; use a name like 'Europe/Paris'") from err
    return value


def interval_of(rule: str) -> int | None:
    """The seconds of an ``@every <N>s|m|h`` rule, or ``None`` for a cron expression."""
    matched = INTERVAL.fullmatch(rule.strip())
    if matched is None:
        return None
    return int(matched.group(1)) * UNIT_SECONDS[matched.group(2)]


def next_fire_times(rule: str, timezone: str, count: int = 5, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` times the schedule fires after ``after`` (default now), as aware UTC datetimes."""
    start = after or datetime.now(UTC)
    seconds = interval_of(rule)
    if seconds is not None:
        return [(start + timedelta(seconds=seconds * step)).astimezone(UTC) for step in range(1, count + 1)]
    iterator = croniter(rule, start.astimezone(ZoneInfo(timezone)))
    return [iterator.get_next(datetime).astimezone(UTC) for _ in range(count)]


def following_fire(rule: str, timezone: str, *, due: datetime, now: datetime) -> datetime:
    """The fire time to book once the one ``due`` has fired at ``now``: the first one after ``now``.

    Fire times missed meanwhile are skipped, so a schedule that was down runs
    once when it comes back, not once per missed slot. Intervals keep their
    phase (``due`` + k * N), so a fire that ran a little late does not push
    every later one back.
    """
    seconds = interval_of(rule)
    if seconds is None:
        return next_fire_times(rule, timezone, 1, after=now)[0]
    missed = max(0, int((now - due).total_seconds() // seconds))
    return due + timedelta(seconds=seconds * (missed + 1))


class ScheduleTrigger(TriggerNode):
    type = "trigger.schedule"
    display_name = "Schedule Trigger"
    category = Category.TRIGGER
    description = "Starts the workflow on a schedule (cron in the time zone you choose, or every N seconds)."
    icon = "clock"
    Parameters = ScheduleParameters
    trigger_kind: ClassVar[TriggerKind] = TriggerKind.SCHEDULE
    subtitle = "cron"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params = ctx.params()
        fired = [item.json.get("scheduled_at") for item in items if item.json.get("scheduled_at")]
        moment = datetime.fromisoformat(fired[0]) if fired else datetime.now(UTC)
        local = moment.astimezone(ZoneInfo(params.timezone))
        seconds = interval_of(params.cron)
        return [
            [
                Item(
                    {
                        "timestamp": local.isoformat(),
                        "timezone": params.timezone,
                        "cron": params.cron,
                        **({"interval_seconds": seconds} if seconds is not None else {}),
                        "day_of_week": local.strftime("%A"),
                        "hour": local.hour,
                        "minute": local.minute,
                    }
                )
            ]
        ]
