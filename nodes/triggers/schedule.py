"""Schedule Trigger: runs on a cron expression in a time zone (croniter does the maths)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from pydantic import field_validator

from nodes.sdk import Category, Context, Item, NodeOutput, Parameters, TriggerKind, TriggerNode, param


class ScheduleParameters(Parameters):
    cron: str = param(
        title="Cron expression",
        description="Five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5' for 9:00 on weekdays.",
        widget="cron",
        placeholder="*/15 * * * *",
        no_expressions=True,
    )
    timezone: str = param("UTC", title="Time zone", placeholder="Europe/Paris", no_expressions=True)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        # croniter also reads a sixth field, as seconds: "0 0 9 * * 1-5" would fire five times at 00:00 on the 9th.
        if not croniter.is_valid(value) or (not value.startswith("@") and len(value.split()) != 5):
            raise ValueError(f"{value!r} is not a valid cron expression: use five fields, e.g. '0 9 * * 1-5'")
        try:
            croniter(value).get_next(datetime)
        except CroniterBadDateError as err:
            raise ValueError(f"{value!r} never fires; check its day of month and month") from err
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}; use a name like 'Europe/Paris'") from err
        return value


def next_fire_times(cron: str, timezone: str, count: int = 5, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` times the schedule fires, as aware UTC datetimes (shown in the node panel)."""
    zone = ZoneInfo(timezone)
    start = (after or datetime.now(UTC)).astimezone(zone)
    iterator = croniter(cron, start)
    return [iterator.get_next(datetime).astimezone(UTC) for _ in range(count)]


class ScheduleTrigger(TriggerNode):
    type = "trigger.schedule"
    display_name = "Schedule Trigger"
    category = Category.TRIGGER
    description = "Starts the workflow on a schedule (cron), in the time zone you choose."
    icon = "clock"
    Parameters = ScheduleParameters
    trigger_kind: ClassVar[TriggerKind] = TriggerKind.SCHEDULE
    subtitle = "cron"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params = ctx.params()
        fired = [item.json.get("scheduled_at") for item in items if item.json.get("scheduled_at")]
        moment = datetime.fromisoformat(fired[0]) if fired else datetime.now(UTC)
        local = moment.astimezone(ZoneInfo(params.timezone))
        return [
            [
                Item(
                    {
                        "timestamp": local.isoformat(),
                        "timezone": params.timezone,
                        "cron": params.cron,
                        "day_of_week": local.strftime("%A"),
                        "hour": local.hour,
                        "minute": local.minute,
                    }
                )
            ]
        ]
