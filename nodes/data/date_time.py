"""Date & Time: the current time, and formatting, shifting, comparing, splitting and rounding dates."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from nodes.data._fields import set_path
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["now", "format", "add", "subtract", "difference", "extract", "round"]
Unit = Literal["seconds", "minutes", "hours", "days", "weeks", "months", "years"]
Part = Literal["year", "quarter", "month", "week", "day", "day_of_year", "weekday", "hour", "minute", "second"]

PRESETS: dict[str, str] = {"date": "%Y-%m-%d", "time": "%H:%M:%S", "datetime": "%Y-%m-%d %H:%M:%S"}
"""Named formats besides ``iso``, ``unix`` (seconds) and ``unix_ms``."""
EXACT_UNITS: dict[str, float] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
MILLISECONDS_FROM = 1e11
"""Epoch numbers at least this large are milliseconds (1e11 seconds is the year 5138)."""

_DATE_OPERATIONS = ["format", "add", "subtract", "difference", "extract", "round"]


class DateTimeParameters(Parameters):
    operation: Operation = param(
        "format",
        title="Operation",
        description="now: the current time; format: write a date as text; add / subtract: shift a date; "
        "difference: time between two dates; extract: one part (year, weekday...); round: to a unit.",
        no_expressions=True,
    )
    value: Any = param(
        None,
        title="Date",
        description="ISO 8601 text (2024-05-01T09:30:00+02:00), an e-mail style date, or a Unix timestamp.",
        placeholder="{{ $json.created_at }}",
        show_if={"operation": _DATE_OPERATIONS},
    )
    end_value: Any = param(
        None, title="End date", placeholder="{{ $json.closed_at }}", show_if={"operation": ["difference"]}
    )
    format: str = param(
        "iso",
        title="Format",
        description="iso, date, time, datetime, unix, unix_ms, or a strftime pattern such as %d/%m/%Y %H:%M.",
        show_if={"operation": ["now", "format"]},
        min_length=1,
    )
    amount: float = param(1, title="Amount", show_if={"operation": ["add", "subtract"]})
    unit: Unit = param("days", title="Unit", show_if={"operation": ["add", "subtract", "difference", "round"]})
    part: Part = param(
        "year",
        title="Part",
        description="weekday: 1 (Monday) to 7 (Sunday); week: the ISO week number.",
        show_if={"operation": ["extract"]},
    )
    rounding: Literal["down", "up", "nearest"] = param(
        "down",
        title="Round",
        description="down truncates (start of the day, month...); up goes to the next one unless already on it.",
        show_if={"operation": ["round"]},
    )
    timezone: str = param(
        "UTC",
        title="Timezone",
        description="IANA name (Europe/Paris). Dates without an offset are read in it; results are given in it.",
        placeholder="Europe/Paris",
        min_length=1,
    )
    from_format: str = param(
        "",
        title="Input format",
        description="A strptime pattern for dates that are not ISO 8601, e.g. %d/%m/%Y.",
        show_if={"operation": _DATE_OPERATIONS},
        advanced=True,
    )
    output_field: str = param(
        "date", title="Output field", description="Dots make nested fields.", no_expressions=True, min_length=1
    )


class DateTimeNode(Node):
    type = "data.date_time"
    display_name = "Date & Time"
    category = Category.DATA
    description = "Gets the current time, or formats, shifts, compares, splits or rounds dates on each item."
    icon = "calendar-clock"
    Parameters = DateTimeParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: DateTimeParameters = ctx.params(index)
            try:
                result = _compute(params)
            except ValueError as err:
                raise NodeError(
                    f"item {index}: {err}",
                    description="Fix the date or the node's settings (or what their expressions produce).",
                    item_index=index,
                ) from err
            data = dict(item.json)
            set_path(data, params.output_field.strip(), result)
            produced.append(Item(data, item.binary, index))
        return [produced]


def _compute(params: DateTimeParameters) -> Any:
    """The operation's result for one item.

    Raises:
        ValueError: A date, timezone or format is not usable; the message says which.
    """
    zone = _zone(params.timezone)
    if params.operation == "now":
        return _format(datetime.now(UTC).astimezone(zone), params.format)
    moment = parse_date(params.value, zone, params.from_format, "date")
    match params.operation:
        case "format":
            return _format(moment, params.format)
        case "add" | "subtract":
            amount = params.amount if params.operation == "add" else -params.amount
            return shift(moment, amount, params.unit).isoformat()
        case "difference":
            end = parse_date(params.end_value, zone, params.from_format, "end date")
            return difference(moment, end, params.unit)
        case "extract":
            return extract(moment, params.part)
        case "round":
            return round_to(moment, params.unit, params.rounding).isoformat()
    raise ValueError(f"unknown operation {params.operation!r}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as Europe/Paris or UTC") from err


def parse_date(value: Any, zone: tzinfo, from_format: str = "", label: str = "date") -> datetime:
    """Read a date the way people and APIs write them; a date without an offset is in ``zone``.

    Raises:
        ValueError: ``value`` is not a date.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, bool) or value is None or value == "":
        raise ValueError(f"the {label} is empty" if value in (None, "") else f"the {label} {value!r} is not a date")
    elif isinstance(value, int | float):
        moment = _from_timestamp(value, label)
    elif isinstance(value, str):
        moment = _from_text(value.strip(), from_format, label)
    else:
        raise ValueError(f"the {label} {value!r} is not a date")
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _from_timestamp(value: float, label: str) -> datetime:
    seconds = value / 1000 if abs(value) >= MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise ValueError(f"the {label} {value!r} is out of range as a Unix timestamp") from err


def _from_text(text: str, from_format: str, label: str) -> datetime:
    if from_format:
        try:
            return datetime.strptime(text, from_format)
        except ValueError as err:
            raise ValueError(f"the {label} {text!r} does not match the input format {from_format!r}") from err
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return _from_timestamp(float(text), label)
    except ValueError:
        pass
    raise ValueError(f"the {label} {text!r} is not a date; use ISO 8601 (2024-05-01T09:30:00) or set an input format")


def _format(moment: datetime, pattern: str) -> str | int:
    pattern = pattern.strip()
    if pattern == "iso":
        return moment.isoformat()
    if pattern == "unix":
        return math.floor(moment.timestamp())
    if pattern == "unix_ms":
        return math.floor(moment.timestamp() * 1000)
    if pattern in PRESETS:
        return moment.strftime(PRESETS[pattern])
    if "%" not in pattern:
        raise ValueError(
            f"the format {pattern!r} is neither a preset (iso, date, time, datetime, unix, unix_ms) "
            "nor a strftime pattern such as %Y-%m-%d"
        )
    return moment.strftime(pattern)


def _settle(moment: datetime) -> datetime:
    """Map a wall-clock time that a DST change skipped or repeated onto a real instant."""
    zone = moment.tzinfo
    return moment.astimezone(UTC).astimezone(zone)


def shift(moment: datetime, amount: float, unit: str) -> datetime:
    """``moment`` plus ``amount`` units: elapsed time for seconds to hours, the calendar for days and up.

    Raises:
        ValueError: A fraction of a month or year (its length is ambiguous).
    """
    zone = moment.tzinfo
    if unit in ("seconds", "minutes", "hours"):
        return (moment.astimezone(UTC) + timedelta(**{unit: amount})).astimezone(zone)
    if unit in ("months", "years"):
        if not float(amount).is_integer():
            raise ValueError(f"cannot add {amount:g} {unit}: use whole months and years, or a smaller unit")
        return _settle(moment + relativedelta(**{unit: int(amount)}))
    return _settle(moment + timedelta(**{unit: amount}))


def difference(start: datetime, end: datetime, unit: str) -> int | float:
    """``end - start`` in ``unit``: exact for seconds to weeks, whole calendar months and years."""
    if unit in EXACT_UNITS:
        amount = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / EXACT_UNITS[unit]
        return int(amount) if amount.is_integer() else amount
    # relativedelta compares wall-clock fields, so read both dates in one timezone.
    delta = relativedelta(end.astimezone(start.tzinfo), start)
    months = delta.years * 12 + delta.months
    return months if unit == "months" else int(months / 12)


def extract(moment: datetime, part: str) -> int:
    """One calendar part of ``moment`` (in its timezone)."""
    match part:
        case "quarter":
            return (moment.month - 1) // 3 + 1
        case "week":
            return moment.isocalendar().week
        case "day_of_year":
            return moment.timetuple().tm_yday
        case "weekday":
            return moment.isoweekday()
    return int(getattr(moment, part))


def round_to(moment: datetime, unit: str, rounding: str) -> datetime:
    """``moment`` rounded down, up or to the nearest ``unit`` boundary on its timezone's calendar."""
    floor = moment.replace(microsecond=0)
    fields = ("second", "minute", "hour")
    steps = {"seconds": 0, "minutes": 1, "hours": 2, "days": 3, "weeks": 3, "months": 3, "years": 3}[unit]
    floor = floor.replace(**{name: 0 for name in fields[:steps]})
    if unit == "weeks":
        floor -= timedelta(days=floor.weekday())
    elif unit in ("months", "years"):
        floor = floor.replace(day=1, month=1 if unit == "years" else floor.month)
    floor = _settle(floor)
    if rounding == "down" or floor == moment:
        return floor
    ceiling = shift(floor, 1, unit)
    if rounding == "up":
        return ceiling
    # Elapsed time, not wall-clock time, decides which boundary is nearer.
    instant = moment.astimezone(UTC)
    return ceiling if instant - floor.astimezone(UTC) >= ceiling.astimezone(UTC) - instant else floor
