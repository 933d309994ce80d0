"""Google Calendar (google.calendar) through the engine against the fake Google APIs on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Google
from tests.nodes.integrations import failure, host_for, outputs, run_node

ROBOT = "robot@fake-project.iam.gserviceaccount.com"
TEAM = "team@group.calendar.google.com"


def calendar(google: Google, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    host = host_for(google.credential)
    return run_node(
        "google.calendar", parameters, items, credential_type="google_service_account", host=host, **settings
    )


def seed(google: Google, calendar_id: str, count: int, day: int = 1) -> list[dict[str, Any]]:
    """``count`` one-hour events on May ``day``, 2024, an hour apart, added in reverse order."""
    return [
        google.server.add_event(
            calendar_id,
            summary=f"Slot {hour}",
            start={"dateTime": f"2024-05-{day:02}T{hour:02}:00:00Z"},
            end={"dateTime": f"2024-05-{day:02}T{hour:02}:30:00Z"},
        )
        for hour in reversed(range(count))
    ]


def test_create_a_timed_event_with_attendees_in_a_time_zone(google: Google) -> None:
    parameters = {
        "summary": "Review of {{ $json.project }}",
        "start": "{{ $json.at }}",
        "end": "2024-05-02T11:30:00",
        "timezone": "Europe/Paris",
        "description": "Bring the numbers.",
        "location": "Room 4",
        "attendees": "grace@example.com, {{ $json.owner }}",
        "send_updates": "all",
    }

    (created,) = outputs(
        calendar(google, parameters, [{"project": "Apollo", "at": "2024-05-02T10:00:00", "owner": "bob@example.com"}])
    )

    stored = google.server.calendars[ROBOT][created["id"]]
    assert created == stored and created["status"] == "confirmed"
    assert created["summary"] == "Review of Apollo" and created["location"] == "Room 4"
    assert created["start"] == {"dateTime": "2024-05-02T10:00:00", "timeZone": "Europe/Paris"}
    assert created["end"] == {"dateTime": "2024-05-02T11:30:00", "timeZone": "Europe/Paris"}
    assert [attendee["email"] for attendee in created["attendees"]] == ["grace@example.com", "bob@example.com"]
    (insert,) = google.server.received("/calendar/v3/calendars/primary/events")
    assert insert.method == "POST" and insert.query["sendUpdates"] == ["all"]


def test_an_empty_end_lasts_an_hour_or_a_day(google: Google) -> None:
    (timed,) = outputs(calendar(google, {"summary": "Call", "start": "2024-05-02T09:15:00+02:00"}))
    (all_day,) = outputs(calendar(google, {"summary": "Offsite", "start": "2024-05-10", "all_day": True}))

    assert timed["end"] == {"dateTime": "2024-05-02T10:15:00+02:00", "timeZone": "UTC"}
    assert all_day["start"] == {"date": "2024-05-10"} and all_day["end"] == {"date": "2024-05-11"}


def test_get_an_event_of_a_shared_calendar(google: Google) -> None:
    (event,) = seed(google, TEAM, 1)

    (found,) = outputs(
        calendar(google, {"operation": "get", "calendar_id": TEAM, "event_id": "{{ $json.id }}"}, [event])
    )

    assert found == event
    (request,) = google.server.received("/calendar/v3/calendars/")
    assert request.path == f"/calendar/v3/calendars/team%40group.calendar.google.com/events/{event['id']}"


def test_list_filters_a_window_by_words_in_start_order(google: Google) -> None:
    seed(google, TEAM, 6)
    google.server.add_event(
        TEAM, summary="Planning", start={"date": "2024-05-01"}, end={"date": "2024-05-02"}, location="Slot room"
    )
    parameters = {
        "operation": "list",
        "calendar_id": TEAM,
        "time_min": "2024-05-01T01:00:00Z",
        "time_max": "2024-05-01T06:00:00",
        "timezone": "Europe/Paris",
        "query": "slot",
    }

    found = outputs(calendar(google, parameters))

    assert [event["summary"] for event in found] == ["Planning", "Slot 1", "Slot 2", "Slot 3"]
    (request,) = google.server.received("/calendar/v3/calendars/")
    assert request.query["timeMin"] == ["2024-05-01T01:00:00+00:00"]
    assert request.query["timeMax"] == ["2024-05-01T06:00:00+02:00"]
    assert request.query["orderBy"] == ["startTime"] and request.query["singleEvents"] == ["true"]
    assert request.query["q"] == ["slot"] and request.query["maxResults"] == ["50"]


def test_list_return_all_follows_pages_and_limit_stops(google: Google) -> None:
    for number in range(2502):
        google.server.add_event(
            ROBOT, start={"date": "2024-06-01"}, end={"date": "2024-06-02"}, summary=f"Day {number}"
        )

    everything = outputs(calendar(google, {"operation": "list", "return_all": True, "order_by": "updated"}))
    first = outputs(calendar(google, {"operation": "list", "limit": 2}))

    assert len(everything) == 2502
    pages = google.server.received("/calendar/v3/calendars/primary/events")
    assert [page.query.get("pageToken") for page in pages[:2]] == [None, ["2500"]]
    assert pages[0].query["maxResults"] == ["2500"] and pages[0].query["orderBy"] == ["updated"]
    assert len(first) == 2 and pages[-1].query["maxResults"] == ["2"]


def test_update_patches_only_the_fields_given(google: Google) -> None:
    (event,) = seed(google, TEAM, 1)
    google.server.calendars[TEAM][event["id"]]["attendees"] = [{"email": "old@example.com"}]
    parameters = {
        "operation": "update",
        "calendar_id": TEAM,
        "event_id": event["id"],
        "summary": "Moved slot",
        "end": "2024-05-01T02:00:00Z",
        "attendees": ["new@example.com"],
    }

    (updated,) = outputs(calendar(google, parameters))

    assert updated["summary"] == "Moved slot" and updated["start"] == event["start"]
    assert updated["end"] == {"dateTime": "2024-05-01T02:00:00+00:00", "timeZone": "UTC"}
    assert updated["attendees"] == [{"email": "new@example.com", "responseStatus": "needsAction"}]
    assert updated["sequence"] == 1
    (patch,) = google.server.received("/calendar/v3/calendars/")
    assert patch.method == "PATCH" and patch.query["sendUpdates"] == ["none"]


def test_delete_cancels_the_event_and_a_second_delete_says_so(google: Google) -> None:
    (event,) = seed(google, TEAM, 1)
    parameters = {"operation": "delete", "calendar_id": TEAM, "event_id": event["id"]}

    (deleted,) = outputs(calendar(google, parameters))
    again = failure(calendar(google, parameters))

    assert deleted == {"calendar_id": TEAM, "event_id": event["id"], "deleted": True}
    assert google.server.calendars[TEAM][event["id"]]["status"] == "cancelled"
    assert again["message"] == f"item 0: Google refused deleting event {event['id']} (410): Resource has been deleted"
    assert again["description"] == "The event was deleted already."


def test_an_end_before_the_start_carries_googles_message(google: Google) -> None:
    error = failure(calendar(google, {"start": "2024-05-02T10:00:00Z", "end": "2024-05-02T09:00:00Z"}))

    assert error["message"] == (
        "item 0: Google refused creating an event in calendar primary (400): The specified time range is empty."
    )
    assert "the end after the start" in error["description"]


def test_an_unshared_calendar_says_to_share_it(google: Google) -> None:
    error = failure(
        calendar(google, {"operation": "list", "calendar_id": "{{ $json.calendar }}"}, [{"calendar": "x@y"}])
    )

    assert error["message"] == "item 0: Google refused listing the events of calendar x@y (404): Not Found"
    assert "client_email" in error["description"]


def test_a_rate_limit_403_is_explained_as_one(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("googleapiclient.http.random.random", lambda: 0.0)
    google.server.fail_next(403, "Rate Limit Exceeded", "PERMISSION_DENIED", reason="rateLimitExceeded", times=2)

    error = failure(calendar(google, {"operation": "get", "event_id": "abc"}))

    assert error["message"] == "item 0: Google refused reading event abc (403): Rate Limit Exceeded"
    assert "Google is limiting requests" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(google: Google) -> None:
    (entry,) = outputs(calendar(google, {"operation": "get", "event_id": "gone"}, on_error="continue"))

    assert entry["error"] == "item 0: Google refused reading event gone (404): Not Found"


def test_parameters_are_checked_before_calling_google(google: Google) -> None:
    no_start = failure(calendar(google, {"summary": "x"}))
    bad_time = failure(calendar(google, {"start": "{{ $json.when }}"}, [{"when": "next tuesday"}]))
    bad_zone = failure(calendar(google, {"start": "2024-05-01T10:00:00", "timezone": "Mars/Olympus"}))
    bad_order = failure(calendar(google, {"operation": "list", "single_events": False}))
    no_id = failure(calendar(google, {"operation": "delete"}))

    assert "create needs a start" in no_start["message"]
    assert "'next tuesday' is not a date-time" in bad_time["message"] and "item 0" in bad_time["message"]
    assert "unknown time zone 'Mars/Olympus'" in bad_zone["message"]
    assert "ordering by start time needs recurring events expanded" in bad_order["message"]
    assert "delete needs an event id" in no_id["message"]
    assert not google.server.received("/calendar/")
