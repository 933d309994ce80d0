"""Google Calendar: create, get, list, update (patch) and delete the events of a calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator

from nodes.google._api import execute, listed
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "list", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
MAX_PAGE = 2500
"""The most events Calendar lists per page."""
ORDER = {"start_time": "startTime", "updated": "updated"}
HINTS = {
    400: "Check the event's start and end (the end after the start; all-day events use dates) and the time zone.",
    403: "Share the calendar with the service account's client_email (Settings and sharing → Share with specific "
    "people, 'Make changes to events'), and enable the Calendar API in its Cloud project.",
    404: "Check the calendar id and the event id, and that the calendar is shared with the service account's "
    "client_email.",
    410: "The event was deleted already.",
}


def _moment(value: str) -> datetime:
    """``2024-05-01T10:00:00``, with or without an offset (``Z``, ``+02:00``).

    Raises:
        ValueError: It is not an ISO 8601 date-time.
    """
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise ValueError(f"{value!r} is not a date-time like 2024-05-01T10:00:00 or 2024-05-01T10:00:00+02:00") from err


def _day(value: str) -> date:
    """The date of ``2024-05-01`` (or of a date-time, for all-day events given a time).

    Raises:
        ValueError: It is not an ISO 8601 date.
    """
    try:
        return _moment(value).date()
    except ValueError as err:
        raise ValueError(f"{value!r} is not a date like 2024-05-01") from err


class CalendarParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an event per item; get one; list: one item per event; update the fields given; delete one.",
        no_expressions=True,
    )
    calendar_id: str = param(
        "primary",
        title="Calendar id",
        description="primary: the calendar of the service account (or of the user it acts as); otherwise the id "
        "under the calendar's Settings → Integrate calendar, shared with the service account's client_email.",
        placeholder="team@group.calendar.google.com",
        min_length=1,
    )
    event_id: str = param("", title="Event id", placeholder="{{ $json.id }}", show_if={"operation": list(BY_ID)})
    summary: str = param(
        "", title="Title", description="update: empty keeps the title.", show_if={"operation": list(WRITES)}
    )
    all_day: bool = param(
        False,
        title="All day",
        description="Start and end are dates, not times.",
        show_if={"operation": list(WRITES)},
    )
    start: str = param(
        "",
        title="Start",
        description="2024-05-01T10:00:00 (in the time zone below) or with an offset; all day: 2024-05-01. "
        "update: empty keeps it.",
        placeholder="{{ $json.starts_at }}",
        show_if={"operation": list(WRITES)},
    )
    end: str = param(
        "",
        title="End",
        description="create: empty means an hour after the start, or the day after for all-day events (Google "
        "counts an all-day event's end as the day after its last day). update: empty keeps it.",
        show_if={"operation": list(WRITES)},
    )
    timezone: str = param(
        "",
        title="Time zone",
        description="An IANA name such as Europe/Paris, for times without an offset; empty: the workflow's.",
        show_if={"operation": ["create", "update", "list"]},
        advanced=True,
    )
    description: str = param(
        "",
        title="Description",
        description="update: empty keeps it.",
        widget="textarea",
        show_if={"operation": list(WRITES)},
    )
    location: str = param(
        "", title="Location", description="update: empty keeps it.", show_if={"operation": list(WRITES)}
    )
    attendees: list[str] = param(
        default_factory=list,
        title="Attendees",
        description="Email addresses (a list, or text separated by commas); update: empty keeps them, otherwise "
        "they replace them.",
        show_if={"operation": list(WRITES)},
    )
    send_updates: Literal["none", "all", "external_only"] = param(
        "none",
        title="Notify attendees",
        description="Whether Google emails the attendees about the change.",
        show_if={"operation": ["create", "update", "delete"]},
        advanced=True,
        no_expressions=True,
    )
    time_min: str = param(
        "",
        title="Ending after",
        description="Only events that end after this date-time; empty: no bound.",
        placeholder="{{ $now }}",
        show_if={"operation": ["list"]},
    )
    time_max: str = param(
        "",
        title="Starting before",
        description="Only events that start before this date-time; empty: no bound.",
        show_if={"operation": ["list"]},
    )
    query: str = param(
        "",
        title="Search",
        description="Words to find in the title, description, location or attendees.",
        show_if={"operation": ["list"]},
    )
    single_events: bool = param(
        True,
        title="Expand recurring events",
        description="One item per occurrence; otherwise one per series.",
        show_if={"operation": ["list"]},
        advanced=True,
    )
    order_by: Literal["start_time", "updated", "unspecified"] = param(
        "start_time",
        title="Order by",
        description="start_time needs recurring events expanded.",
        show_if={"operation": ["list"]},
        advanced=True,
        no_expressions=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' events.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many events per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )

    @field_validator("attendees", mode="before")
    @classmethod
    def _attendee_list(cls, value: Any) -> Any:
        return listed(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> CalendarParameters:
        if self.operation in BY_ID and not self.event_id.strip():
            raise ValueError(f"{self.operation} needs an event id")
        if self.operation == "create" and not self.start.strip():
            raise ValueError("create needs a start")
        if self.operation == "list" and self.order_by == "start_time" and not self.single_events:
            raise ValueError("ordering by start time needs recurring events expanded")
        for name in ("start", "end", "time_min", "time_max"):
            value = getattr(self, name)
            check = _day if self.all_day and name in ("start", "end") else _moment
            if value.strip():
                check(value)
        return self


class CalendarNode(Node):
    type = "google.calendar"
    display_name = "Google Calendar"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes events in a Google Calendar, per item."
    icon = "calendar"
    Parameters = CalendarParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "calendar", "v3")
        events = service.events()
        produced: list[Item] = []
        for index in range(len(items)):
            params: CalendarParameters = ctx.params(index)
            zone = params.timezone or ctx.timezone
            produced.extend(Item(entry, paired_item=index) for entry in _run(events, fields, params, zone, index))
        return [produced]


def _run(
    events: Any, fields: GoogleServiceAccountFields, params: CalendarParameters, zone: str, index: int
) -> list[dict[str, Any]]:
    calendar = params.calendar_id.strip()
    event_id = params.event_id.strip()
    notify = {"sendUpdates": "externalOnly" if params.send_updates == "external_only" else params.send_updates}
    match params.operation:
        case "create":
            request = events.insert(calendarId=calendar, body=_event(params, zone, creating=True), **notify)
            return [execute(request, fields, f"creating an event in calendar {calendar}", index, HINTS)]
        case "get":
            request = events.get(calendarId=calendar, eventId=event_id)
            return [execute(request, fields, f"reading event {event_id}", index, HINTS)]
        case "list":
            return _list(events, fields, params, zone, index)
        case "update":
            request = events.patch(
                calendarId=calendar, eventId=event_id, body=_event(params, zone, creating=False), **notify
            )
            return [execute(request, fields, f"updating event {event_id}", index, HINTS)]
        case "delete":
            request = events.delete(calendarId=calendar, eventId=event_id, **notify)
            execute(request, fields, f"deleting event {event_id}", index, HINTS)
            return [{"calendar_id": calendar, "event_id": event_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _event(params: CalendarParameters, zone: str, *, creating: bool) -> dict[str, Any]:
    """The event resource to insert, or the changes to patch (only the fields given)."""
    body: dict[str, Any] = {}
    for key, value in (("summary", params.summary), ("description", params.description), ("location", params.location)):
        if value.strip():
            body[key] = value
    if params.start.strip():
        body["start"] = _when(params.start, params.all_day, zone)
    if params.end.strip():
        body["end"] = _when(params.end, params.all_day, zone)
    elif creating and params.all_day:
        body["end"] = {"date": (_day(params.start) + timedelta(days=1)).isoformat()}
    elif creating:
        body["end"] = {"dateTime": (_moment(params.start) + timedelta(hours=1)).isoformat(), "timeZone": zone}
    if params.attendees:
        body["attendees"] = [{"email": address} for address in params.attendees]
    return body


def _when(value: str, all_day: bool, zone: str) -> dict[str, str]:
    """A start or end: a date for all-day events, else a date-time with the zone Google reads offset-less times in."""
    if all_day:
        return {"date": _day(value).isoformat()}
    return {"dateTime": _moment(value).isoformat(), "timeZone": zone}


def _bound(value: str, zone: str) -> str | None:
    """A list bound as RFC 3339 with an offset, which Calendar requires; times without one are in ``zone``."""
    if not value.strip():
        return None
    moment = _moment(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.isoformat()


def _list(
    events: Any, fields: GoogleServiceAccountFields, params: CalendarParameters, zone: str, index: int
) -> list[dict[str, Any]]:
    calendar = params.calendar_id.strip()
    limit = None if params.return_all else params.limit
    options: dict[str, Any] = {
        "calendarId": calendar,
        "timeMin": _bound(params.time_min, zone),
        "timeMax": _bound(params.time_max, zone),
        "q": params.query.strip() or None,
        "singleEvents": params.single_events,
        "orderBy": ORDER.get(params.order_by),
        "timeZone": zone,
    }
    found: list[dict[str, Any]] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        size = MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found))
        request = events.list(maxResults=size, pageToken=token, **options)
        answer = execute(request, fields, f"listing the events of calendar {calendar}", index, HINTS)
        found.extend(answer.get("items", []))
        token = answer.get("nextPageToken")
        if not token:
            break
    return found if limit is None else found[:limit]
