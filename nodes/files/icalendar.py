"""iCalendar: create an .ics event file (RFC 5545) on each item, or read an .ics file into one item per event."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nodes.files._common import decode_text, file_label, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

CREATE = {"operation": ["create"]}
PRODID = "-//HITL Studio//iCalendar node//EN"
LINE_OCTETS = 75
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ADDRESS = re.compile(r"^\s*(?:(?P<name>[^<]*?)\s*<(?P<angle>[^<>\s]+@[^<>\s]+)>|(?P<bare>[^<>\s]+@[^<>\s]+))\s*$")


class ICalendarParameters(Parameters):
    operation: Literal["create", "read"] = param(
        "create",
        title="Operation",
        description="create: an .ics event file on each item; read: an .ics file becomes one item per event.",
        no_expressions=True,
    )
    title: str = param("", title="Title", placeholder="Team meeting", show_if=CREATE)
    start: str = param(
        "",
        title="Start",
        description="An ISO date and time such as 2025-03-01T09:30; a date alone for all-day events.",
        placeholder="{{ $json.start }}",
        show_if=CREATE,
    )
    end: str = param(
        "",
        title="End",
        description="Empty: one hour after the start (all-day: the same day). All-day: the last day, inclusive.",
        show_if=CREATE,
    )
    all_day: bool = param(False, title="All day", show_if=CREATE)
    timezone: str = param(
        "",
        title="Time zone",
        description="Of start and end when they have no offset (IANA name, e.g. Europe/Paris); empty: the "
        "workflow's. Times are written in UTC.",
        show_if=CREATE,
    )
    description: str = param("", title="Description", widget="textarea", show_if=CREATE)
    location: str = param("", title="Location", show_if=CREATE)
    url: str = param("", title="URL", show_if=CREATE)
    organizer: str = param("", title="Organiser", description="An email address, or Name <email>.", show_if=CREATE)
    attendees: list[str] = param(
        default_factory=list,
        title="Attendees",
        description="Email addresses, or Name <email>.",
        show_if=CREATE,
    )
    recurrence: str = param(
        "",
        title="Recurrence (RRULE)",
        description="An RFC 5545 rule such as FREQ=WEEKLY;BYDAY=MO;COUNT=10.",
        advanced=True,
        show_if=CREATE,
    )
    alarm_minutes: int | None = param(
        None,
        title="Reminder (minutes before)",
        description="Empty for no reminder.",
        ge=0,
        le=40320,
        advanced=True,
        show_if=CREATE,
    )
    uid: str = param(
        "",
        title="UID",
        description="A permanent id of the event, so calendars update it instead of adding a copy; empty: a new one.",
        advanced=True,
        show_if=CREATE,
    )
    file_name: str = param("event.ics", title="File name", min_length=1, show_if=CREATE)
    binary_property: str = param(
        "data",
        title="Binary property",
        description="create: the property the file is put in; read: the property holding the file.",
        min_length=1,
    )


class ICalendarNode(Node):
    type = "files.icalendar"
    display_name = "iCalendar"
    category = Category.FILES
    description = "Creates an .ics calendar event file on each item, or reads an .ics file into one item per event."
    icon = "calendar"
    Parameters = ICalendarParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: ICalendarParameters = ctx.params(index)
            if params.operation == "read":
                data, reference = read_input(ctx, item, params.binary_property, index)
                label = file_label(reference, params.binary_property)
                text = decode_text(data, "utf-8", label, index)
                produced.extend(Item(event, paired_item=index) for event in read_events(text, label, index))
                continue
            content = build_event(params, ctx.timezone, datetime.now(UTC), index).encode("utf-8")
            reference = ctx.store_binary(content, file_name=params.file_name, mime_type="text/calendar")
            produced.append(Item(dict(item.json), {**item.binary, params.binary_property: reference}, index))
        return [produced]


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, newlines as ``\\n``."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def unescape_text(value: str) -> str:
    replacements = {"n": "\n", "N": "\n", "\\": "\\", ";": ";", ",": ","}
    return re.sub(r"\\(.)", lambda match: replacements.get(match.group(1), match.group(1)), value)


def fold(line: str) -> str:
    """``line`` split into lines of at most 75 octets, continuations starting with a space; never inside a character."""
    chunks: list[str] = []
    current, size, limit = [], 0, LINE_OCTETS
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > limit:
            chunks.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1
        current.append(char)
        size += octets
    chunks.append("".join(current))
    return "\r\n ".join(chunks)


def _param_value(value: str) -> str:
    """A property parameter value, quoted when it holds a separator (quotes themselves cannot be kept)."""
    value = CONTROL.sub(" ", value).replace('"', "'")
    return f'"{value}"' if any(char in value for char in ":;,") else value


def _fail(index: int, message: str, description: str) -> NodeError:
    return NodeError(f"item {index}: {message}", description=description, item_index=index)


def _plain(value: str, what: str, index: int) -> str:
    """A value written as is (URI, RRULE): a line break in it would inject properties, so it is refused."""
    value = value.strip()
    if CONTROL.search(value):
        raise _fail(index, f"the {what} contains a line break or control character", f"Remove it from the {what}.")
    return value


def _address(value: str, what: str, index: int) -> tuple[str, str]:
    match = ADDRESS.match(value)
    if not match:
        raise _fail(
            index,
            f"the {what} {value!r} is not an email address",
            "Use alice@example.com or Alice <alice@example.com>.",
        )
    return (match.group("name") or "").strip().strip('"'), match.group("angle") or match.group("bare")


def _zone(name: str, index: int) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise _fail(index, f"unknown time zone {name!r}", "Use an IANA name such as Europe/Paris or UTC.") from err


def _datetime(value: str, what: str, zone: ZoneInfo, index: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise _fail(
            index, f"the {what} {value!r} is not an ISO date and time", "Use a value such as 2025-03-01T09:30."
        ) from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _date(value: str, what: str, index: int) -> date:
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError as err:
        raise _fail(index, f"the {what} {value!r} is not an ISO date", "Use a value such as 2025-03-01.") from err


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def build_event(params: ICalendarParameters, default_zone: str, now: datetime, index: int) -> str:
    """The .ics text of one event: CRLF line ends, folded lines, escaped text, times in UTC."""
    if not params.title.strip():
        raise _fail(index, "the event has no title", "Enter a Title.")
    if not params.start.strip():
        raise _fail(index, "the event has no start", "Enter a Start date (and time).")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    uid = _plain(params.uid, "UID", index) or f"{uuid.uuid4()}@hitl-studio"
    lines += ["BEGIN:VEVENT", f"UID:{escape_text(uid)}", f"DTSTAMP:{_utc(now)}"]
    if params.all_day:
        first = _date(params.start, "start", index)
        last = _date(params.end, "end", index) if params.end.strip() else first
        if last < first:
            raise _fail(index, "the event ends before it starts", "Set End on or after Start.")
        lines += [f"DTSTART;VALUE=DATE:{first:%Y%m%d}", f"DTEND;VALUE=DATE:{last + timedelta(days=1):%Y%m%d}"]
    else:
        zone = _zone(params.timezone.strip() or default_zone, index)
        start = _datetime(params.start, "start", zone, index)
        end = _datetime(params.end, "end", zone, index) if params.end.strip() else start + timedelta(hours=1)
        if end < start:
            raise _fail(index, "the event ends before it starts", "Set End after Start.")
        lines += [f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}"]
    lines.append(f"SUMMARY:{escape_text(params.title.strip())}")
    if params.description:
        lines.append(f"DESCRIPTION:{escape_text(params.description)}")
    if params.location.strip():
        lines.append(f"LOCATION:{escape_text(params.location.strip())}")
    if params.url.strip():
        lines.append(f"URL:{_plain(params.url, 'URL', index)}")
    if params.organizer.strip():
        name, email = _address(params.organizer, "organiser", index)
        lines.append(f"ORGANIZER{f';CN={_param_value(name)}' if name else ''}:mailto:{email}")
    for attendee in params.attendees:
        if attendee.strip():
            name, email = _address(attendee, "attendee", index)
            cn = f";CN={_param_value(name)}" if name else ""
            lines.append(f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE{cn}:mailto:{email}")
    rule = _plain(params.recurrence, "recurrence rule", index).removeprefix("RRULE:")
    if rule:
        if "FREQ=" not in rule.upper():
            raise _fail(
                index, f"the recurrence rule {rule!r} has no FREQ", "Start it with FREQ=DAILY, WEEKLY, MONTHLY..."
            )
        lines.append(f"RRULE:{rule}")
    if params.alarm_minutes is not None:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(params.title.strip())}",
            f"TRIGGER:-PT{params.alarm_minutes}M",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


def unfold(text: str) -> list[str]:
    """Content lines with folding undone (a line break followed by a space or tab continues a line)."""
    joined = re.sub(r"\r?\n[ \t]", "", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [line for line in joined.split("\n") if line.strip()]


def content_line(line: str) -> tuple[str, dict[str, str], str]:
    """``NAME;PARAM=VALUE:value`` as its upper-case name, its parameters and its value."""
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:position], line[position + 1 :]
            break
    else:
        return line.strip().upper(), {}, ""
    name, *raw_params = re.findall(r'(?:[^;"]|"[^"]*")+', head)
    parameters: dict[str, str] = {}
    for raw in raw_params:
        key, _, param_value = raw.partition("=")
        parameters[key.strip().upper()] = param_value.strip('"')
    return name.strip().upper(), parameters, value


def _read_time(value: str, parameters: dict[str, str]) -> tuple[str, bool]:
    """An iCalendar date or date-time as ISO text, and whether it is a whole day."""
    value = value.strip()
    if parameters.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
        return datetime.strptime(value, "%Y%m%d").date().isoformat(), True
    utc = value.endswith("Z")
    moment = datetime.strptime(value.removesuffix("Z"), "%Y%m%dT%H%M%S")
    if utc:
        return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"), False
    if "TZID" in parameters:
        try:
            return moment.replace(tzinfo=ZoneInfo(parameters["TZID"])).isoformat(), False
        except (ZoneInfoNotFoundError, ValueError):
            pass  # A custom VTIMEZONE name: keep the local time as written.
    return moment.isoformat(), False


TEXT_PROPERTIES = {"SUMMARY": "title", "DESCRIPTION": "description", "LOCATION": "location", "STATUS": "status"}


def read_events(text: str, label: str, index: int) -> list[dict[str, Any]]:
    """One dict per VEVENT of ``text`` with its basic properties (nested components such as alarms are skipped)."""
    lines = unfold(text)
    if not lines or lines[0].strip().upper() != "BEGIN:VCALENDAR":
        raise NodeError(
            f"{label} is not an iCalendar file (it does not start with BEGIN:VCALENDAR)",
            description="Check that the binary property holds an .ics file.",
            item_index=index,
        )
    events: list[dict[str, Any]] = []
    event: dict[str, Any] | None = None
    depth = 0
    for number, line in enumerate(lines, start=1):
        name, parameters, value = content_line(line)
        if name == "BEGIN" and value.upper() == "VEVENT" and event is None:
            event, depth = {}, 0
            continue
        if event is None:
            continue
        if name == "BEGIN":
            depth += 1
        elif name == "END" and depth:
            depth -= 1
        elif name == "END" and value.upper() == "VEVENT":
            events.append(event)
            event = None
        elif depth == 0:
            try:
                _read_property(event, name, parameters, value)
            except ValueError as err:
                raise NodeError(
                    f"line {number} of {label} (unfolded) has an invalid {name} value {value!r}",
                    description="Check the file; dates look like 20250301 or 20250301T093000Z.",
                    item_index=index,
                ) from err
    return events


def _read_property(event: dict[str, Any], name: str, parameters: dict[str, str], value: str) -> None:
    if name in TEXT_PROPERTIES:
        event[TEXT_PROPERTIES[name]] = unescape_text(value)
    elif name == "UID":
        event["uid"] = unescape_text(value)
    elif name in ("DTSTART", "DTEND"):
        moment, whole_day = _read_time(value, parameters)
        event["start" if name == "DTSTART" else "end"] = moment
        if name == "DTSTART":
            event["all_day"] = whole_day
            if "TZID" in parameters:
                event["timezone"] = parameters["TZID"]
    elif name == "URL":
        event["url"] = value.strip()
    elif name == "RRULE":
        event["recurrence"] = value.strip()
    elif name == "ORGANIZER":
        event["organizer"] = _person(parameters, value)
    elif name == "ATTENDEE":
        event.setdefault("attendees", []).append(_person(parameters, value))


def _person(parameters: dict[str, str], value: str) -> dict[str, str]:
    address = value.strip()
    email = address[len("mailto:") :] if address.lower().startswith("mailto:") else address
    person = {"email": email}
    if parameters.get("CN"):
        person["name"] = parameters["CN"]
    return person
