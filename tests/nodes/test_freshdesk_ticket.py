"""Freshdesk Ticket (freshdesk.ticket) and the freshdesk_api credential, through the engine against a fake Freshdesk."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.freshdesk.credentials import FreshdeskApiCredential
from nodes.sdk import NodeError
from tests.fakes.freshdesk_server import AGENT, API_KEY, NOW, FakeFreshdesk, fake_freshdesk_server, stamp
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def freshdesk() -> Iterator[FakeFreshdesk]:
    with fake_freshdesk_server() as server:
        yield server


def ticket(
    freshdesk: FakeFreshdesk,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(freshdesk.credential(api_key))
    return run_node("freshdesk.ticket", parameters, items, credential_type="freshdesk_api", host=host, **settings)


def test_create_a_ticket_per_item_with_freshdesks_numbers(freshdesk: FakeFreshdesk) -> None:
    parameters = {
        "email": "{{ $json.email }}",
        "requester_name": "{{ $json.name }}",
        "subject": "Order {{ $json.order }} is late",
        "description": "<p>Where is order {{ $json.order }}?</p>",
        "priority": "high",
        "status": "pending",
        "source": "email",
        "ticket_type": "Question",
        "tags": "shipping, {{ $json.region }}",
        "custom_fields": {"cf_order_number": "{{ $json.order }}"},
        "cc_emails": "boss@example.com",
    }
    items = [
        {"email": "ada@example.com", "name": "Ada", "order": 1001, "region": "EU"},
        {"email": "bob@example.com", "name": "Bob", "order": 1002, "region": "US"},
    ]

    created = outputs(ticket(freshdesk, parameters, items))

    assert [entry["subject"] for entry in created] == ["Order 1001 is late", "Order 1002 is late"]
    assert [entry["tags"] for entry in created] == [["shipping", "EU"], ["shipping", "US"]]
    assert created[0]["requester_id"] == freshdesk.contacts["ada@example.com"]
    first = freshdesk.received("POST", "/tickets")[0]
    assert first.body == {
        "email": "ada@example.com",
        "name": "Ada",
        "source": 1,
        "priority": 3,
        "status": 3,
        "cc_emails": ["boss@example.com"],
        "subject": "Order 1001 is late",
        "description": "<p>Where is order 1001?</p>",
        "type": "Question",
        "tags": ["shipping", "EU"],
        "custom_fields": {"cf_order_number": 1001},
    }
    assert first.headers["authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()


def test_create_for_a_known_requester_with_the_defaults(freshdesk: FakeFreshdesk) -> None:
    (created,) = outputs(ticket(freshdesk, {"requester_id": 5077, "subject": "Hi", "description": "<p>Hello</p>"}))

    assert (created["requester_id"], created["priority"], created["status"], created["source"]) == (5077, 1, 2, 2)
    assert "email" not in freshdesk.received("POST", "/tickets")[0].body


def test_get_reads_the_ticket_numbered_by_an_expression(freshdesk: FakeFreshdesk) -> None:
    freshdesk.add_ticket("First")
    freshdesk.add_ticket("Second", priority=4)

    (found,) = outputs(ticket(freshdesk, {"operation": "get", "ticket_id": "{{ $json.n }}"}, [{"n": 2}]))

    assert (found["id"], found["subject"], found["priority"]) == (2, "Second", 4)


def test_get_many_follows_the_link_header_newest_first(freshdesk: FakeFreshdesk) -> None:
    for n in range(1, 231):
        freshdesk.add_ticket(f"T{n}")

    everything = outputs(ticket(freshdesk, {"operation": "get_many", "return_all": True}))
    oldest_three = outputs(ticket(freshdesk, {"operation": "get_many", "limit": 3, "order_type": "asc"}))

    assert [entry["id"] for entry in everything] == list(range(1, 231))
    assert [entry["id"] for entry in oldest_three] == [230, 229, 228]
    pages = freshdesk.received("GET", "/tickets")
    assert pages[0].query == {"order_by": "created_at", "order_type": "desc", "per_page": "100"}
    assert [request.query.get("page") for request in pages] == [None, "2", "3", None]
    assert pages[-1].query["per_page"] == "3"


def test_get_many_by_view_or_by_update_date(freshdesk: FakeFreshdesk) -> None:
    old = stamp(NOW - timedelta(days=90))
    freshdesk.add_ticket("Old but touched", created_at=old, updated_at=stamp(NOW - timedelta(days=2)))
    freshdesk.add_ticket("Old and quiet", created_at=old, updated_at=old)
    freshdesk.add_ticket("Junk", spam=True)
    freshdesk.add_ticket("Recent")

    spam = outputs(ticket(freshdesk, {"operation": "get_many", "list_filter": "spam", "updated_since": "2026-01-01"}))
    touched = outputs(
        ticket(
            freshdesk,
            {"operation": "get_many", "updated_since": "{{ $json.since }}", "return_all": True},
            [{"since": stamp(NOW - timedelta(days=7))}],
        )
    )
    recent = outputs(ticket(freshdesk, {"operation": "get_many"}))

    assert [entry["subject"] for entry in spam] == ["Junk"]
    assert freshdesk.received("GET", "/tickets")[0].query["filter"] == "spam"
    assert "updated_since" not in freshdesk.received("GET", "/tickets")[0].query
    assert sorted(entry["subject"] for entry in touched) == ["Old but touched", "Recent"]
    assert [entry["subject"] for entry in recent] == ["Recent"]


def test_update_sends_only_the_fields_given(freshdesk: FakeFreshdesk) -> None:
    made = freshdesk.add_ticket("Refund", tags=["billing"])

    (updated,) = outputs(
        ticket(
            freshdesk,
            {
                "operation": "update",
                "ticket_id": made["id"],
                "status": "resolved",
                "priority": "urgent",
                "responder_id": 43,
            },
        )
    )

    assert freshdesk.received("PUT", f"/tickets/{made['id']}")[0].body == {
        "priority": 4,
        "status": 4,
        "responder_id": 43,
    }
    assert (updated["status"], updated["priority"], updated["tags"], updated["subject"]) == (
        4,
        4,
        ["billing"],
        "Refund",
    )


def test_reply_and_notes(freshdesk: FakeFreshdesk) -> None:
    made = freshdesk.add_ticket("Question")

    (reply,) = outputs(
        ticket(
            freshdesk,
            {
                "operation": "reply",
                "ticket_id": made["id"],
                "body": "<p>Hi {{ $json.name }}</p>",
                "cc_emails": ["cc@example.com"],
            },
            [{"name": "Ada"}],
        )
    )
    (private,) = outputs(
        ticket(
            freshdesk,
            {
                "operation": "add_note",
                "ticket_id": made["id"],
                "body": "Checked stock",
                "notify_emails": "lead@acme.test",
            },
        )
    )
    (public,) = outputs(
        ticket(freshdesk, {"operation": "add_note", "ticket_id": made["id"], "body": "FYI", "private": False})
    )

    assert (reply["body"], reply["cc_emails"]) == ("<p>Hi Ada</p>", ["cc@example.com"])
    assert (private["private"], private["notified_to"]) == (True, ["lead@acme.test"])
    assert public["private"] is False
    assert [entry["kind"] for entry in freshdesk.conversations[made["id"]]] == ["reply", "note", "note"]
    assert freshdesk.received("POST", f"/tickets/{made['id']}/notes")[0].body == {
        "body": "Checked stock",
        "private": True,
        "notify_emails": ["lead@acme.test"],
    }


def test_delete_moves_the_ticket_to_the_trash(freshdesk: FakeFreshdesk) -> None:
    made = freshdesk.add_ticket("Spam-ish")

    (deleted,) = outputs(ticket(freshdesk, {"operation": "delete", "ticket_id": made["id"]}))

    assert deleted == {"id": made["id"], "deleted": True}
    assert freshdesk.tickets[made["id"]]["deleted"] is True


def test_a_wrong_key_says_so_without_showing_it(freshdesk: FakeFreshdesk) -> None:
    error = failure(ticket(freshdesk, {"operation": "get", "ticket_id": 1}, api_key="wrongKEY000"))

    assert error["message"] == (
        "item 0: Freshdesk refused getting ticket 1 (401 invalid_credentials): "
        "You have to be logged in to perform this action."
    )
    assert "View API key" in error["description"]
    assert "wrongKEY000" not in json.dumps(error)


def test_a_missing_ticket_names_the_item(freshdesk: FakeFreshdesk) -> None:
    freshdesk.add_ticket("Only")

    error = failure(ticket(freshdesk, {"operation": "get", "ticket_id": "{{ $json.n }}"}, [{"n": 1}, {"n": 9}]))

    assert error["message"] == "item 1: Freshdesk refused getting ticket 9 (404)"
    assert error["item_index"] == 1
    assert "Check the ticket id" in error["description"]


def test_validation_errors_name_each_field(freshdesk: FakeFreshdesk) -> None:
    error = failure(
        ticket(
            freshdesk,
            {"email": "ada@nowhere", "subject": "Hi", "description": "x", "custom_fields": '{"cf_colour": "red"}'},
        )
    )

    assert error["message"] == (
        "item 0: Freshdesk refused creating a ticket (400 invalid_value): Validation failed: "
        "email: It should be in the 'valid email address' format; cf_colour: Unexpected/invalid field in request"
    )
    assert error["description"] == "Change what Freshdesk named above, then retry."
    assert freshdesk.tickets == {}


def test_the_rate_limit_says_how_long_to_wait(freshdesk: FakeFreshdesk) -> None:
    freshdesk.rate_limited = 1

    error = failure(ticket(freshdesk, {"operation": "get", "ticket_id": 1}))

    assert error["message"] == (
        "item 0: Freshdesk is limiting requests and refused getting ticket 1 (429): "
        "You have exceeded the limit of requests per minute. Please try again after sometime."
    )
    assert error["description"].startswith("Wait 30 seconds and retry the node")


def test_a_next_page_on_another_host_is_refused(freshdesk: FakeFreshdesk) -> None:
    for n in range(1, 102):
        freshdesk.add_ticket(f"T{n}")
    freshdesk.link_base = "http://elsewhere.example"

    error = failure(ticket(freshdesk, {"operation": "get_many", "return_all": True}))

    assert error["message"].startswith(
        "item 0: listing tickets: Freshdesk's next page is outside the helpdesk's address (http://elsewhere.example/"
    )
    assert len(freshdesk.received("GET", "/tickets")) == 1


def test_continue_on_fail_turns_the_error_into_an_item(freshdesk: FakeFreshdesk) -> None:
    (entry,) = outputs(ticket(freshdesk, {"operation": "reply", "ticket_id": 5, "body": "Hi"}, on_error="continue"))

    assert entry["error"] == "item 0: Freshdesk refused replying to ticket 5 (404)"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_freshdesk(freshdesk: FakeFreshdesk) -> None:
    no_requester = failure(ticket(freshdesk, {"subject": "Hi", "description": "x"}))
    no_subject = failure(ticket(freshdesk, {"email": "ada@example.com", "description": "x"}))
    nothing = failure(ticket(freshdesk, {"operation": "update", "ticket_id": 3}))
    no_body = failure(ticket(freshdesk, {"operation": "add_note", "ticket_id": 3}))
    bad_date = failure(ticket(freshdesk, {"operation": "get_many", "updated_since": "last week"}))

    assert "create needs the requester's email or id" in no_requester["message"]
    assert "create needs a subject and a description" in no_subject["message"]
    assert "update needs a field to change" in nothing["message"]
    assert "add_note needs the message" in no_body["message"]
    assert "'Updated since' is not an ISO 8601 date and time" in bad_date["message"]
    assert freshdesk.received() == []


def test_the_credential_names_the_agent_and_reads_a_domain(freshdesk: FakeFreshdesk) -> None:
    connected = FreshdeskApiCredential.test_connection(freshdesk.credential())
    fields = FreshdeskApiCredential.parse({"domain": " Acme.freshdesk.com ", "api_key": API_KEY})

    with pytest.raises(NodeError) as refused:
        FreshdeskApiCredential.test_connection(freshdesk.credential("revoked"))
    with pytest.raises(NodeError) as bad_domain:
        FreshdeskApiCredential.parse({"domain": "acme support", "api_key": API_KEY})

    assert connected == f"Connected as Ada Agent ({AGENT['contact']['email']})"
    assert fields.base_url == "https://acme.freshdesk.com"
    assert refused.value.message.startswith("Freshdesk refused checking the API key (401 invalid_credentials)")
    assert "domain" in bad_domain.value.message
