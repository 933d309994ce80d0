"""SendGrid Contact (sendgrid.contact) through the engine against a fake SendGrid Marketing Campaigns API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.sendgrid_server import API_KEY, MAIL_ONLY_KEY, FakeSendgrid, fake_sendgrid_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

CONTACTS = "/v3/marketing/contacts"


@pytest.fixture
def sendgrid() -> Iterator[FakeSendgrid]:
    with fake_sendgrid_server() as server:
        yield server


def contact(
    sendgrid: FakeSendgrid,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for({"api_key": key, "api_url": sendgrid.api_url})
    return run_node("sendgrid.contact", parameters, items, credential_type="sendgrid_api", host=host, **settings)


def test_upsert_creates_then_updates_by_email_and_answers_the_job_id(sendgrid: FakeSendgrid) -> None:
    created = outputs(
        contact(
            sendgrid,
            {
                "email": "{{ $json.email }}",
                "first_name": "{{ $json.first }}",
                "list_ids": "list-1, list-2",
                "custom_fields": {"e1_T": "Gold"},
                "more_fields": '{"city": "Paris", "country": "France"}',
            },
            [{"email": "ada@example.com", "first": "Ada"}],
        )
    )
    (updated,) = outputs(contact(sendgrid, {"email": "ada@example.com", "last_name": "Lovelace"}))

    assert created[0]["email"] == "ada@example.com" and created[0]["job_id"]
    assert updated["job_id"] != created[0]["job_id"]
    assert sendgrid.received("PUT", CONTACTS)[0].body == {
        "contacts": [
            {
                "email": "ada@example.com",
                "city": "Paris",
                "country": "France",
                "first_name": "Ada",
                "custom_fields": {"e1_T": "Gold"},
            }
        ],
        "list_ids": ["list-1", "list-2"],
    }
    (saved,) = sendgrid.contacts.values()
    assert (saved["first_name"], saved["last_name"], saved["city"]) == ("Ada", "Lovelace", "Paris")
    assert saved["list_ids"] == ["list-1", "list-2"] and saved["custom_fields"] == {"e1_T": "Gold"}


def test_get_by_id_and_delete(sendgrid: FakeSendgrid) -> None:
    ada = sendgrid.add_contact("ada@example.com", first_name="Ada")

    (got,) = outputs(contact(sendgrid, {"operation": "get", "contact_id": "{{ $json.id }}"}, [{"id": ada["id"]}]))
    (deleted,) = outputs(contact(sendgrid, {"operation": "delete", "contact_id": ada["id"]}))

    assert got == ada
    assert deleted["id"] == ada["id"] and deleted["deleted"] is True and deleted["job_id"]
    assert sendgrid.received("DELETE", CONTACTS)[0].query == {"ids": ada["id"]}
    assert sendgrid.contacts == {}


def test_search_by_email_outputs_the_contacts_found_and_nothing_when_none_is(sendgrid: FakeSendgrid) -> None:
    ada = sendgrid.add_contact("ada@example.com")
    grace = sendgrid.add_contact("grace@example.com")

    found = outputs(
        contact(
            sendgrid,
            {"operation": "search_by_email", "emails": "Grace@example.com, nobody@example.com, ada@example.com"},
        )
    )
    none = outputs(contact(sendgrid, {"operation": "search_by_email", "emails": "nobody@example.com"}))

    assert [entry["id"] for entry in found] == [grace["id"], ada["id"]]
    assert sendgrid.received("POST", f"{CONTACTS}/search/emails")[0].body == {
        "emails": ["grace@example.com", "nobody@example.com", "ada@example.com"]
    }
    assert none == []


def test_get_many_returns_all_pages_by_the_next_link(sendgrid: FakeSendgrid) -> None:
    sendgrid.page_size = 2
    for n in range(5):
        sendgrid.add_contact(f"c{n}@example.com")

    found = outputs(contact(sendgrid, {"operation": "get_many", "return_all": True}))

    assert [entry["email"] for entry in found] == [f"c{n}@example.com" for n in (4, 3, 2, 1, 0)]
    pages = sendgrid.received("GET", CONTACTS)
    assert [r.query.get("page_token") for r in pages] == [None, "2", "4"]


def test_get_many_with_a_limit_stops_early_and_a_query_searches(sendgrid: FakeSendgrid) -> None:
    sendgrid.page_size = 2
    for n in range(5):
        sendgrid.add_contact(f"c{n}@example.com", first_name="Ada" if n % 2 else "Grace")

    limited = outputs(contact(sendgrid, {"operation": "get_many", "limit": 3}))
    searched = outputs(
        contact(sendgrid, {"operation": "get_many", "query": "email LIKE '%@example.com' AND first_name = 'Ada'"})
    )

    assert [entry["email"] for entry in limited] == ["c4@example.com", "c3@example.com", "c2@example.com"]
    assert len(sendgrid.received("GET", CONTACTS)) == 2
    assert [entry["email"] for entry in searched] == ["c3@example.com", "c1@example.com"]
    assert sendgrid.received("POST", f"{CONTACTS}/search")[0].body == {
        "query": "email LIKE '%@example.com' AND first_name = 'Ada'"
    }


def test_refusals_name_the_item_and_what_to_do(sendgrid: FakeSendgrid) -> None:
    missing = failure(contact(sendgrid, {"operation": "get", "contact_id": "nope"}))
    forbidden = failure(contact(sendgrid, {"email": "ada@example.com"}, key=MAIL_ONLY_KEY))
    bad_query = failure(contact(sendgrid, {"operation": "get_many", "query": "email CONTAINS 'x'"}))
    wrong_key = failure(contact(sendgrid, {"email": "ada@example.com"}, key="SG.wrong-123"))

    assert missing["message"] == "item 0: SendGrid refused getting contact nope (404): Contact not found"
    assert "does not exist" in missing["description"]
    assert forbidden["message"] == "item 0: SendGrid refused saving the contact ada@example.com (403): access forbidden"
    assert "Marketing" in forbidden["description"]
    assert bad_query["message"] == (
        "item 0: SendGrid refused searching contacts (400): query: invalid query: \"email CONTAINS 'x'\""
    )
    assert "SG.wrong-123" not in json.dumps(wrong_key) and "(401)" in wrong_key["message"]
    assert sendgrid.contacts == {}


def test_continue_on_fail_turns_the_error_into_an_item(sendgrid: FakeSendgrid) -> None:
    sendgrid.rate_limited = 1

    (entry,) = outputs(contact(sendgrid, {"email": "ada@example.com"}, on_error="continue"))

    assert entry["error"] == "item 0: SendGrid refused saving the contact ada@example.com (429): too many requests"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_sendgrid(sendgrid: FakeSendgrid) -> None:
    no_email = failure(contact(sendgrid, {"first_name": "Ada"}))
    no_id = failure(contact(sendgrid, {"operation": "delete"}))
    bad_email = failure(contact(sendgrid, {"operation": "search_by_email", "emails": "ada@example.com, nope"}))
    unknown_field = failure(contact(sendgrid, {"email": "a@b.co", "more_fields": {"town": "Paris"}}))
    bad_custom = failure(contact(sendgrid, {"email": "a@b.co", "custom_fields": "{oops"}))

    assert "upsert needs the contact's email" in no_email["message"]
    assert "delete needs the contact id" in no_id["message"]
    assert "'nope' is not an email address" in bad_email["message"]
    assert "more fields: town is not SendGrid contact fields" in unknown_field["message"]
    assert "the custom fields are not valid JSON" in bad_custom["message"]
    assert sendgrid.requests == []
