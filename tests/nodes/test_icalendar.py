"""iCalendar (files.icalendar) run through the engine: events written per RFC 5545, then read back."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

TYPE = "files.icalendar"
MANUAL = node("Start", "trigger.manual")


def ical(
    items: list[Item], host: LocalHost | None = None, settings: dict[str, Any] | None = None, **parameters: Any
) -> tuple[RunResult, LocalHost]:
    host = host or LocalHost()
    data = workflow([MANUAL, node("ICS", TYPE, parameters, **(settings or {}))], [("Start", "ICS")])
    return run(data, host=host, pinned={"Start": items}), host


def created(result: RunResult, host: LocalHost, position: int = 0) -> bytes:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return host.read_binary(result.last_outputs["ICS"][0][position].binary["data"])


def read_back(content: bytes, **parameters: Any) -> list[dict[str, Any]]:
    host = LocalHost()
    reference = host.store_binary(content, file_name="cal.ics", mime_type="text/calendar")
    result, _ = ical([Item({}, binary={"data": reference})], host, operation="read", **parameters)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "ICS")


def test_a_full_event_is_written_with_crlf_utc_times_and_escaped_text_and_reads_back() -> None:
    description = "Agenda; budget, hiring\\plans\nBring: laptops"
    result, host = ical(
        [Item({"who": "alice@example.com", "id": 3})],
        operation="create",
        title="Planning, Q3; kick-off",
        start="2025-03-01T09:30",
        end="2025-03-01T11:00",
        timezone="Europe/Paris",
        description=description,
        location="Room 4, Floor 2",
        url="https://example.com/meet?id=1",
        organizer="Boss, The <boss@example.com>",
        attendees=["{{ $json.who }}", "Bob <bob@example.com>"],
        recurrence="RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=4",
        alarm_minutes=15,
        uid="planning-q3@example.com",
        file_name="planning.ics",
    )
    content = created(result, host)
    out = result.last_outputs["ICS"][0][0]

    assert out.json == {"who": "alice@example.com", "id": 3}
    assert out.binary["data"]["file_name"] == "planning.ics"
    assert out.binary["data"]["mime_type"] == "text/calendar"
    text = content.decode()
    assert text.endswith("END:VCALENDAR\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert "DTSTART:20250301T083000Z" in lines and "DTEND:20250301T100000Z" in lines
    assert "SUMMARY:Planning\\, Q3\\; kick-off" in lines
    assert "DESCRIPTION:Agenda\\; budget\\, hiring\\\\plans\\nBring: laptops" in lines
    assert 'ORGANIZER;CN="Boss, The":mailto:boss@example.com' in lines
    assert "RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=4" in lines
    assert "TRIGGER:-PT15M" in lines
    assert any(line.startswith("DTSTAMP:") and line.endswith("Z") for line in lines)

    (event,) = read_back(content)
    assert event == {
        "uid": "planning-q3@example.com",
        "start": "2025-03-01T08:30:00Z",
        "end": "2025-03-01T10:00:00Z",
        "all_day": False,
        "title": "Planning, Q3; kick-off",
        "description": description,
        "location": "Room 4, Floor 2",
        "url": "https://example.com/meet?id=1",
        "organizer": {"email": "boss@example.com", "name": "Boss, The"},
        "attendees": [{"email": "alice@example.com"}, {"email": "bob@example.com", "name": "Bob"}],
        "recurrence": "FREQ=WEEKLY;BYDAY=SA;COUNT=4",
    }


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    title = "Réunion " * 30 + "🎉 fin"
    result, host = ical([Item({})], operation="create", title=title, start="2025-06-01T10:00:00Z", uid="u1")
    content = created(result, host)
    physical = content.split(b"\r\n")

    summary_at = next(i for i, line in enumerate(physical) if line.startswith(b"SUMMARY:"))
    assert len(physical[summary_at]) <= 75 and physical[summary_at + 1].startswith(b" ")
    assert max(len(line) for line in physical) <= 75
    assert max(len(line) for line in physical) >= 73  # really folded close to the limit
    for line in physical:
        line.decode("utf-8")  # no character is cut in two
    assert read_back(content)[0]["title"] == title.strip()


def test_all_day_events_use_dates_with_an_exclusive_end_and_default_end() -> None:
    result, host = ical(
        [Item({"s": "2025-12-24", "e": "2025-12-26"}), Item({"s": "2025-12-31", "e": ""})],
        operation="create",
        title="Holiday",
        start="{{ $json.s }}",
        end="{{ $json.e }}",
        all_day=True,
        uid="{{ $json.s }}@example.com",
    )
    first, second = created(result, host, 0).decode(), created(result, host, 1).decode()

    assert "DTSTART;VALUE=DATE:20251224\r\nDTEND;VALUE=DATE:20251227\r\n" in first
    assert "DTSTART;VALUE=DATE:20251231\r\nDTEND;VALUE=DATE:20260101\r\n" in second
    event = read_back(second.encode())[0]
    assert (event["start"], event["end"], event["all_day"]) == ("2025-12-31", "2026-01-01", True)


def test_without_end_or_time_zone_the_event_lasts_an_hour_in_the_workflow_time_zone() -> None:
    result, host = ical([Item({})], operation="create", title="Call", start="2025-07-01T12:00:00+02:00", uid="x")
    lines = created(result, host).decode().split("\r\n")

    assert "DTSTART:20250701T100000Z" in lines and "DTEND:20250701T110000Z" in lines
    assert not any(line.startswith(("BEGIN:VALARM", "RRULE", "ATTENDEE")) for line in lines)


def test_a_new_uid_is_made_when_none_is_given() -> None:
    result, host = ical([Item({}), Item({})], operation="create", title="A", start="2025-01-01T00:00:00Z")
    uids = [read_back(created(result, host, position))[0]["uid"] for position in (0, 1)]

    assert uids[0] != uids[1] and all(uid.endswith("@hitl-studio") for uid in uids)


def test_reading_unfolds_lines_and_skips_alarms_and_other_components() -> None:
    content = (
        b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTODO\nSUMMARY:not an event\nEND:VTODO\n"
        b"BEGIN:VEVENT\nUID:one\nDTSTART;TZID=America/New_York:20250310T090000\nDTEND;TZID=America/New_York:2025"
        b"0310T100000\nSUMMARY:Long sum\r\n mary with\\, comma\r\n\tand tab fold\n"
        b"BEGIN:VALARM\nDESCRIPTION:alarm text\n"
        b"TRIGGER:-PT5M\nEND:VALARM\nSTATUS:CONFIRMED\nEND:VEVENT\n"
        b"BEGIN:VEVENT\nUID:two\nDTSTART:20250311T080000\nSUMMARY:Floating\nEND:VEVENT\nEND:VCALENDAR\n"
    )

    assert read_back(content) == [
        {
            "uid": "one",
            "start": "2025-03-10T09:00:00-04:00",
            "all_day": False,
            "timezone": "America/New_York",
            "end": "2025-03-10T10:00:00-04:00",
            "title": "Long summary with, commaand tab fold",
            "status": "CONFIRMED",
        },
        {"uid": "two", "start": "2025-03-11T08:00:00", "all_day": False, "title": "Floating"},
    ]


def test_reading_a_file_that_is_not_icalendar_fails_naming_it() -> None:
    host = LocalHost()
    reference = host.store_binary(b"name,city\n", file_name="people.csv", mime_type="text/csv")
    result, _ = ical([Item({}, binary={"data": reference})], host, operation="read")

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["message"] == "'people.csv' is not an iCalendar file (it does not start with BEGIN:VCALENDAR)"


def test_injection_and_invalid_values_are_refused_per_item() -> None:
    cases = [
        ({"url": "https://x.example\r\nATTENDEE:mailto:evil@example.com"}, "item 0: the URL contains a line break"),
        ({"recurrence": "WEEKLY"}, "item 0: the recurrence rule 'WEEKLY' has no FREQ"),
        ({"timezone": "Mars/Olympus"}, "item 0: unknown time zone 'Mars/Olympus'"),
        ({"start": "next tuesday"}, "item 0: the start 'next tuesday' is not an ISO date and time"),
        ({"end": "2024-01-01T00:00"}, "item 0: the event ends before it starts"),
        ({"attendees": ["not an address"]}, "item 0: the attendee 'not an address' is not an email address"),
        ({"title": " "}, "item 0: the event has no title"),
    ]
    for override, message in cases:
        parameters = {"operation": "create", "title": "T", "start": "2025-01-01T10:00", **override}
        result, _ = ical([Item({})], **parameters)
        assert result.status is RunStatus.FAILED
        assert result.error is not None and result.error["message"].startswith(message), result.error


def test_continue_on_fail_turns_a_bad_item_into_an_error_item() -> None:
    result, _ = ical([Item({})], settings={"on_error": "continue"}, operation="create", title="T", start="")

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "ICS") == [
        {"error": "item 0: the event has no start", "error_details": output_json(result, "ICS")[0]["error_details"]}
    ]
    assert output_json(result, "ICS")[0]["error_details"]["item_index"] == 0
