"""Zendesk Ticket (zendesk.ticket) and the zendesk_api credential, through the engine against the fake Zendesk."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.zendesk.credentials import ZendeskApiCredential
from tests.fakes.zendesk_server import AGENT, API_TOKEN, EMAIL, FakeZendesk, fake_zendesk_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    with fake_zendesk_server() as server:
        yield server


def ticket(
    zendesk: FakeZendesk,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_token: str = API_TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(zendesk.credential(api_token))
    return run_node("zendesk.ticket", parameters, items, credential_type="zendesk_api", host=host, **settings)


def test_create_a_ticket_per_item_for_its_requester(zendesk: FakeZendesk) -> None:
    parameters = {
        "subject": "Order {{ $json.order }} is late",
        "comment": "Where is order {{ $json.order }}?",
        "requester_email": "{{ $json.email }}",
        "priority": "high",
        "ticket_type": "question",
        "tags": "shipping, {{ $json.region }}",
        "custom_fields": "{{ $json.fields }}",
    }
    items = [
        {"order": 7, "email": "ada@example.com", "region": "EU", "fields": {"360001": "7"}},
        {"order": 8, "email": "bob@example.com", "region": "US", "fields": {}},
    ]

    created = outputs(ticket(zendesk, parameters, items))

    assert [entry["subject"] for entry in created] == ["Order 7 is late", "Order 8 is late"]
    assert [entry["tags"] for entry in created] == [["shipping", "eu"], ["shipping", "us"]]
    assert created[0]["requester_id"] == zendesk.users["ada@example.com"]["id"]
    assert zendesk.comments[created[0]["id"]][0]["body"] == "Where is order 7?"
    first = zendesk.received("POST", "/api/v2/tickets.json")[0]
    assert first.body == {
        "ticket": {
            "subject": "Order 7 is late",
            "comment": {"body": "Where is order 7?", "public": True},
            "priority": "high",
            "type": "question",
            "tags": ["shipping", "EU"],
            "custom_fields": [{"id": 360001, "value": "7"}],
            "requester": {"email": "ada@example.com", "name": "ada"},
        }
    }
    expected = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {expected}"


def test_get_reads_the_ticket_numbered_by_an_expression(zendesk: FakeZendesk) -> None:
    zendesk.add_ticket("First")
    zendesk.add_ticket("Second", priority="urgent")

    (found,) = outputs(ticket(zendesk, {"operation": "get", "ticket_id": "{{ $json.n }}"}, [{"n": 2}]))

    assert (found["id"], found["subject"], found["priority"]) == (2, "Second", "urgent")


def test_update_adds_an_internal_note_and_edits_tags(zendesk: FakeZendesk) -> None:
    made = zendesk.add_ticket("Refund", tags=["billing", "vip"])

    (updated,) = outputs(
        ticket(
            zendesk,
            {
                "operation": "update",
                "ticket_id": made["id"],
                "comment": "Customer called again.",
                "public_comment": False,
                "status": "pending",
                "add_tags": ["callback"],
                "remove_tags": "vip",
            },
        )
    )

    assert (updated["status"], updated["tags"]) == ("pending", ["billing", "callback"])
    assert zendesk.comments[made["id"]][-1] == {
        "id": zendesk.comments[made["id"]][-1]["id"],
        "body": "Customer called again.",
        "public": False,
        "author_id": AGENT["id"],
    }
    assert zendesk.received("PUT", f"/api/v2/tickets/{made['id']}.json")[0].body == {
        "ticket": {
            "comment": {"body": "Customer called again.", "public": False},
            "status": "pending",
            "additional_tags": ["callback"],
            "remove_tags": ["vip"],
        }
    }


def test_delete_answers_with_the_id(zendesk: FakeZendesk) -> None:
    made = zendesk.add_ticket("Spam")

    (deleted,) = outputs(ticket(zendesk, {"operation": "delete", "ticket_id": made["id"]}))

    assert deleted == {"id": made["id"], "deleted": True}
    assert zendesk.tickets == {}


def test_get_many_follows_links_next_while_has_more(zendesk: FakeZendesk) -> None:
    for n in range(1, 231):
        zendesk.add_ticket(f"T{n}")

    everything = outputs(ticket(zendesk, {"operation": "get_many", "return_all": True}))
    some = outputs(ticket(zendesk, {"operation": "get_many", "limit": 5}))

    assert [entry["id"] for entry in everything] == list(range(1, 231))
    assert [entry["id"] for entry in some] == [1, 2, 3, 4, 5]
    pages = zendesk.received("GET", "/api/v2/tickets.json")
    assert [request.query.get("page[size]") for request in pages] == ["100", "100", "100", "5"]
    assert pages[1].query["page[after]"] and "page[after]" not in pages[0].query


def test_get_many_by_status_uses_the_search_export(zendesk: FakeZendesk) -> None:
    for n in range(1, 151):
        zendesk.add_ticket(f"T{n}", status="solved" if n % 3 == 0 else "open")

    solved = outputs(ticket(zendesk, {"operation": "get_many", "status_filter": "solved", "return_all": True}))

    assert [entry["id"] for entry in solved] == list(range(3, 151, 3))
    assert all(entry["result_type"] == "ticket" for entry in solved)
    (request,) = zendesk.received("GET", "/api/v2/search/export.json")
    assert request.query == {"query": "status:solved", "filter[type]": "ticket", "page[size]": "100"}


def test_a_next_page_on_another_host_is_refused(zendesk: FakeZendesk) -> None:
    for n in range(1, 102):
        zendesk.add_ticket(f"T{n}")
    zendesk.link_base = "http://elsewhere.example"

    error = failure(ticket(zendesk, {"operation": "get_many", "return_all": True}))

    assert error["message"].startswith(
        "item 0: listing tickets: Zendesk's next page is outside the account's address (http://elsewhere.example/"
    )
    assert len(zendesk.received("GET", "/api/v2/tickets.json")) == 1


def test_a_wrong_token_says_so_without_showing_it(zendesk: FakeZendesk) -> None:
    error = failure(ticket(zendesk, {"operation": "get", "ticket_id": 1}, api_token="wrong-token-000"))

    assert error["message"] == "item 0: Zendesk refused getting ticket 1 (401): Couldn't authenticate you"
    assert "Check the agent's email and the API token" in error["description"]
    assert "wrong-token-000" not in json.dumps(error)


def test_a_missing_ticket_names_the_item(zendesk: FakeZendesk) -> None:
    zendesk.add_ticket("Only")

    error = failure(ticket(zendesk, {"operation": "get", "ticket_id": "{{ $json.n }}"}, [{"n": 1}, {"n": 9}]))

    assert error["message"] == "item 1: Zendesk refused getting ticket 9 (404 RecordNotFound): Not found"
    assert error["item_index"] == 1
    assert "Check the ticket id" in error["description"]


def test_validation_errors_carry_zendesks_details(zendesk: FakeZendesk) -> None:
    closed = zendesk.add_ticket("Old", status="closed")

    bad_requester = failure(ticket(zendesk, {"comment": "Hi", "requester_email": "ada@nowhere"}))
    closed_update = failure(ticket(zendesk, {"operation": "update", "ticket_id": closed["id"], "comment": "Again"}))

    assert bad_requester["message"] == (
        "item 0: Zendesk refused creating a ticket (422 RecordInvalid): Record validation errors: "
        "Requester: Email ada@nowhere is not properly formatted"
    )
    assert closed_update["message"] == (
        f"item 0: Zendesk refused updating ticket {closed['id']} (422 RecordInvalid): Record validation errors: "
        "Status: closed prevents ticket update"
    )
    assert closed_update["description"] == "Change what Zendesk named above, then retry."


def test_the_rate_limit_says_how_long_to_wait(zendesk: FakeZendesk) -> None:
    zendesk.rate_limited = 1

    error = failure(ticket(zendesk, {"comment": "Hi"}))

    assert error["message"] == (
        "item 0: Zendesk is limiting requests and refused creating a ticket (429 APIRateLimitExceeded): "
        "Number of allowed API requests per minute exceeded"
    )
    assert error["description"].startswith("Wait 7 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(zendesk: FakeZendesk) -> None:
    (entry,) = outputs(ticket(zendesk, {"operation": "delete", "ticket_id": 5}, on_error="continue"))

    assert entry["error"] == "item 0: Zendesk refused deleting ticket 5 (404 RecordNotFound): Not found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_zendesk(zendesk: FakeZendesk) -> None:
    no_comment = failure(ticket(zendesk, {"subject": "Hi"}))
    no_id = failure(ticket(zendesk, {"operation": "update", "comment": "x"}))
    nothing = failure(ticket(zendesk, {"operation": "update", "ticket_id": 3}))
    bad_fields = failure(ticket(zendesk, {"comment": "x", "custom_fields": "{not json"}))

    assert "create needs a comment" in no_comment["message"]
    assert "update needs the ticket id" in no_id["message"]
    assert "update needs a field to change or a comment to add" in nothing["message"]
    assert "the custom fields are not valid JSON" in bad_fields["message"]
    assert zendesk.received() == []


def test_the_credential_test_names_the_agent_and_reads_a_subdomain(zendesk: FakeZendesk) -> None:
    assert ZendeskApiCredential.test_connection(zendesk.credential()) == "Connected as Ada Agent (admin)"
    fields = ZendeskApiCredential.parse({"subdomain": " Acme.zendesk.com ", "email": EMAIL, "api_token": API_TOKEN})
    assert fields.base_url == "https://acme.zendesk.com"

    with pytest.raises(NodeError) as refused:
        ZendeskApiCredential.test_connection(zendesk.credential("revoked-token"))
    with pytest.raises(NodeError) as bad_subdomain:
        ZendeskApiCredential.parse({"subdomain": "acme corp", "email": EMAIL, "api_token": API_TOKEN})

    assert refused.value.message == "Zendesk refused checking the email and token (401): Couldn't authenticate you"
    assert "subdomain" in bad_subdomain.value.message
