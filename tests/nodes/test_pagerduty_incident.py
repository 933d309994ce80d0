"""PagerDuty Incident (pagerduty.incident) and the pagerduty_api credential, through the engine against a fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.pagerduty.credentials import PagerdutyApiCredential
from nodes.sdk import NodeError
from tests.fakes.pagerduty_server import FROM_EMAIL, TOKEN, FakePagerDuty, fake_pagerduty_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with fake_pagerduty_server() as server:
        yield server


def incident(
    pagerduty: FakePagerDuty,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    from_email: str = FROM_EMAIL,
    **settings: Any,
) -> RunResult:
    host = host_for(pagerduty.credential(token, from_email))
    return run_node("pagerduty.incident", parameters, items, credential_type="pagerduty_api", host=host, **settings)


def test_create_opens_an_incident_per_item_as_the_from_user(pagerduty: FakePagerDuty) -> None:
    parameters = {
        "title": "Checkout errors on {{ $json.region }}",
        "service_id": "PSVC001",
        "urgency": "high",
        "details": "Error rate {{ $json.rate }}%",
        "incident_key": "checkout-{{ $json.region }}",
    }

    created = outputs(incident(pagerduty, parameters, [{"region": "eu", "rate": 12}, {"region": "us", "rate": 7}]))

    assert [entry["title"] for entry in created] == ["Checkout errors on eu", "Checkout errors on us"]
    assert [entry["incident_key"] for entry in created] == ["checkout-eu", "checkout-us"]
    assert created[0]["last_status_change_by"]["summary"] == "Ada Lovelace"
    first = pagerduty.received("POST", "/incidents")[0]
    assert first.body == {
        "incident": {
            "type": "incident",
            "title": "Checkout errors on eu",
            "service": {"id": "PSVC001", "type": "service_reference"},
            "urgency": "high",
            "body": {"type": "incident_body", "details": "Error rate 12%"},
            "incident_key": "checkout-eu",
        }
    }
    assert first.headers["authorization"] == f"Token token={TOKEN}"
    assert first.headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert first.headers["from"] == FROM_EMAIL


def test_create_with_an_escalation_policy_or_assignees(pagerduty: FakePagerDuty) -> None:
    (escalated,) = outputs(
        incident(pagerduty, {"title": "Disk full", "service_id": "PSVC002", "escalation_policy_id": "PEP0002"})
    )
    (assigned,) = outputs(
        incident(pagerduty, {"title": "Slow search", "service_id": "PSVC002", "assignee_ids": "PBOB002, PADA001"})
    )

    assert escalated["escalation_policy"]["id"] == "PEP0002" and escalated["urgency"] == "high"
    assert [a["assignee"]["id"] for a in assigned["assignments"]] == ["PBOB002", "PADA001"]
    assert pagerduty.received("POST", "/incidents")[1].body["incident"]["assignments"] == [
        {"assignee": {"id": "PBOB002", "type": "user_reference"}},
        {"assignee": {"id": "PADA001", "type": "user_reference"}},
    ]


def test_a_duplicate_incident_key_is_refused_with_pagerdutys_reason(pagerduty: FakePagerDuty) -> None:
    pagerduty.add_incident("Already open", incident_key="db-down")

    error = failure(incident(pagerduty, {"title": "Again", "service_id": "PSVC001", "incident_key": "db-down"}))

    assert error["message"] == (
        "item 0: PagerDuty refused creating an incident on service PSVC001 (400): "
        "Invalid Input Provided (code 2001): Open incident with key 'db-down' already exists."
    )
    assert error["description"] == "Change what PagerDuty named above, then retry."
    assert len(pagerduty.incidents) == 1


def test_get_reads_the_incident_named_by_an_expression(pagerduty: FakePagerDuty) -> None:
    pagerduty.add_incident("First")
    second = pagerduty.add_incident("Second", urgency="low")

    (found,) = outputs(incident(pagerduty, {"operation": "get", "incident_id": "{{ $json.id }}"}, [second]))

    assert (found["id"], found["title"], found["urgency"]) == (second["id"], "Second", "low")
    assert "from" not in pagerduty.received("GET")[0].headers


def seed(pagerduty: FakePagerDuty, count: int) -> None:
    for n in range(1, count + 1):
        status = "resolved" if n % 5 == 0 else "triggered"
        service = "PSVC002" if n % 2 == 0 else "PSVC001"
        pagerduty.add_incident(f"Incident {n}", status=status, service={"id": service})


def test_get_many_return_all_pages_with_offset_until_more_is_false(pagerduty: FakePagerDuty) -> None:
    seed(pagerduty, 230)

    listed = outputs(incident(pagerduty, {"operation": "get_many", "return_all": True}))

    assert len(listed) == 230
    assert [entry["incident_number"] for entry in listed[:2]] == [1, 2]
    pages = pagerduty.received("GET", "/incidents")
    assert [(r.values("offset"), r.values("limit")) for r in pages] == [
        (["0"], ["100"]),
        (["100"], ["100"]),
        (["200"], ["100"]),
    ]


def test_get_many_filters_by_status_service_and_dates_and_stops_at_the_limit(pagerduty: FakePagerDuty) -> None:
    seed(pagerduty, 40)

    limited = outputs(
        incident(
            pagerduty,
            {
                "operation": "get_many",
                "statuses": ["triggered"],
                "service_ids": "PSVC002",
                "since": "2026-01-03T00:00:00Z",
                "until": "2026-01-20T00:00:00Z",
                "limit": 3,
            },
        )
    )

    assert [entry["title"] for entry in limited] == ["Incident 4", "Incident 6", "Incident 8"]
    (request,) = pagerduty.received("GET", "/incidents")
    assert request.values("statuses[]") == ["triggered"] and request.values("service_ids[]") == ["PSVC002"]
    assert request.values("since") == ["2026-01-03T00:00:00Z"] and request.values("limit") == ["3"]


def test_update_acknowledges_resolves_and_reassigns(pagerduty: FakePagerDuty) -> None:
    open_one = pagerduty.add_incident("Page me")

    (acknowledged,) = outputs(
        incident(pagerduty, {"operation": "update", "incident_id": open_one["id"], "status": "acknowledged"})
    )
    (reassigned,) = outputs(
        incident(
            pagerduty,
            {
                "operation": "update",
                "incident_id": open_one["id"],
                "assignee_ids": ["PBOB002"],
                "title": "Page Bob",
                "urgency": "low",
            },
        )
    )
    (resolved,) = outputs(
        incident(pagerduty, {"operation": "update", "incident_id": open_one["id"], "status": "resolved"})
    )

    assert acknowledged["status"] == "acknowledged"
    assert (reassigned["title"], reassigned["urgency"]) == ("Page Bob", "low")
    assert reassigned["assignments"][0]["assignee"]["id"] == "PBOB002"
    assert resolved["status"] == "resolved"
    (first, second, _) = pagerduty.received("PUT")
    assert first.body == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    assert second.body == {
        "incident": {
            "type": "incident_reference",
            "title": "Page Bob",
            "urgency": "low",
            "assignments": [{"assignee": {"id": "PBOB002", "type": "user_reference"}}],
        }
    }
    assert first.headers["from"] == FROM_EMAIL


def test_resolving_a_resolved_incident_carries_pagerdutys_error(pagerduty: FakePagerDuty) -> None:
    done = pagerduty.add_incident("Done", status="resolved")

    error = failure(incident(pagerduty, {"operation": "update", "incident_id": done["id"], "status": "resolved"}))

    assert error["message"] == (
        f"item 0: PagerDuty refused resolving incident {done['id']} (400): "
        "Arguments Caused Error (code 2002): Incident Already Resolved"
    )


def test_add_note_posts_on_the_incidents_timeline(pagerduty: FakePagerDuty) -> None:
    target = pagerduty.add_incident("Noisy")

    (note,) = outputs(
        incident(
            pagerduty,
            {"operation": "add_note", "incident_id": target["id"], "note": "Rolled back {{ $json.v }}"},
            [{"v": "v2.3"}],
        )
    )

    assert note["content"] == "Rolled back v2.3" and note["incident_id"] == target["id"]
    assert note["user"]["id"] == "PADA001"
    assert pagerduty.notes[target["id"]][0]["content"] == "Rolled back v2.3"
    assert pagerduty.received("POST", f"/incidents/{target['id']}/notes")[0].body == {
        "note": {"content": "Rolled back v2.3"}
    }


def test_a_wrong_token_says_so_without_showing_it(pagerduty: FakePagerDuty) -> None:
    error = failure(incident(pagerduty, {"operation": "get", "incident_id": "PINC001"}, token="wrongTOKEN123"))

    assert error["message"] == (
        "item 0: PagerDuty did not accept the credential's token while getting incident PINC001 (401): "
        "Authentication failed (code 2006)"
    )
    assert "API Access Keys" in error["description"]
    assert "wrongTOKEN123" not in json.dumps(error)


def test_a_from_email_of_no_user_is_refused_on_writes(pagerduty: FakePagerDuty) -> None:
    error = failure(incident(pagerduty, {"title": "x", "service_id": "PSVC001"}, from_email="nobody@acme.test"))

    assert error["message"] == (
        "item 0: PagerDuty refused creating an incident on service PSVC001 (400): "
        "Invalid Input Provided (code 2001): Requester User Not Found."
    )


def test_a_missing_incident_names_the_item(pagerduty: FakePagerDuty) -> None:
    known = pagerduty.add_incident("Known")

    error = failure(
        incident(pagerduty, {"operation": "get", "incident_id": "{{ $json.id }}"}, [{"id": known["id"]}, {"id": "PX"}])
    )

    assert error["message"] == "item 1: PagerDuty refused getting incident PX (404): Not Found (code 2100)"
    assert error["item_index"] == 1
    assert "Check the incident id" in error["description"]


def test_the_rate_limit_says_when_to_retry(pagerduty: FakePagerDuty) -> None:
    pagerduty.rate_limited = 1

    error = failure(incident(pagerduty, {"operation": "get_many"}))

    assert error["message"] == (
        "item 0: PagerDuty's rate limit stopped listing incidents (429): Rate Limit Exceeded (code 2020)"
    )
    assert error["description"].startswith("Wait 12 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(pagerduty: FakePagerDuty) -> None:
    (entry,) = outputs(incident(pagerduty, {"operation": "get", "incident_id": "PNONE"}, on_error="continue"))

    assert entry["error"] == "item 0: PagerDuty refused getting incident PNONE (404): Not Found (code 2100)"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_pagerduty(pagerduty: FakePagerDuty) -> None:
    no_service = failure(incident(pagerduty, {"title": "x"}))
    both = failure(
        incident(
            pagerduty, {"title": "x", "service_id": "PSVC001", "assignee_ids": "PADA001", "escalation_policy_id": "P"}
        )
    )
    nothing = failure(incident(pagerduty, {"operation": "update", "incident_id": "PINC001"}))
    bad_date = failure(incident(pagerduty, {"operation": "get_many", "since": "yesterday"}))

    assert "create needs a title and the service id" in no_service["message"]
    assert "assignees or an escalation policy, not both" in both["message"]
    assert "update needs a status, title, urgency or assignees to change" in nothing["message"]
    assert "'yesterday' is not an ISO 8601 date" in bad_date["message"]
    assert pagerduty.received() == []


def test_the_credential_test_checks_the_token_and_the_from_user(pagerduty: FakePagerDuty) -> None:
    assert PagerdutyApiCredential.test_connection(pagerduty.credential()) == (
        "Connected; changes are made as Ada Lovelace"
    )

    with pytest.raises(NodeError) as stranger:
        PagerdutyApiCredential.test_connection(pagerduty.credential(from_email="eve@acme.test"))
    with pytest.raises(NodeError) as refused:
        PagerdutyApiCredential.test_connection(pagerduty.credential("revoked000"))

    assert "no user in the account has the email eve@acme.test" in stranger.value.message
    assert "did not accept the credential's token" in refused.value.message
    assert pagerduty.received("GET", "/users")[0].values("query") == [FROM_EMAIL]
