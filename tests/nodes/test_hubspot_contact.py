"""HubSpot Contact (hubspot.contact) and the hubspot_api credential, through the engine against the fake HubSpot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.hubspot.credentials import HubspotApiCredential
from nodes.sdk import NodeError
from tests.fakes.hubspot_server import PORTAL_ID, TOKEN, FakeHubspot, fake_hubspot_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

CONTACTS = "/crm/v3/objects/contacts"


@pytest.fixture
def hubspot() -> Iterator[FakeHubspot]:
    with fake_hubspot_server() as server:
        yield server


def contact(
    hubspot: FakeHubspot,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(hubspot.credential(token))
    return run_node("hubspot.contact", parameters, items, credential_type="hubspot_api", host=host, **settings)


def test_upsert_creates_a_new_contact_after_the_email_lookup_misses(hubspot: FakeHubspot) -> None:
    parameters = {
        "email": "{{ $json.email }}",
        "first_name": "{{ $json.first }}",
        "lifecycle_stage": "lead",
        "other_properties": [{"name": "city", "value": "Berlin"}],
    }

    (created,) = outputs(contact(hubspot, parameters, [{"email": "Ada@Example.com", "first": "Ada"}]))

    assert created["properties"]["email"] == "ada@example.com"
    assert created["properties"]["firstname"] == "Ada" and created["properties"]["city"] == "Berlin"
    lookup, create = hubspot.received()
    assert (lookup.method, lookup.path, lookup.query) == (
        "PATCH",
        f"{CONTACTS}/Ada@Example.com",
        {"idProperty": "email"},
    )
    assert (create.method, create.path) == ("POST", CONTACTS)
    assert create.body == {
        "properties": {"email": "Ada@Example.com", "firstname": "Ada", "lifecyclestage": "lead", "city": "Berlin"}
    }
    assert create.headers["authorization"] == f"Bearer {TOKEN}"


def test_upsert_updates_the_contact_with_that_email_and_keeps_other_fields(hubspot: FakeHubspot) -> None:
    existing = hubspot.add_contact("ada@example.com", firstname="Ada", lastname="Lovelace", phone="123")

    (updated,) = outputs(
        contact(hubspot, {"email": "ADA@example.com", "phone": "456", "other_properties": {"city": "London"}})
    )

    assert updated["id"] == existing["id"]
    assert {name: updated["properties"][name] for name in ("firstname", "lastname", "phone", "city")} == {
        "firstname": "Ada",
        "lastname": "Lovelace",
        "phone": "456",
        "city": "London",
    }
    assert len(hubspot.records["contacts"]) == 1
    assert [request.method for request in hubspot.received()] == ["PATCH"]


def test_upsert_updates_a_contact_created_meanwhile_when_the_create_conflicts(hubspot: FakeHubspot) -> None:
    hubspot.appears_after_lookup["ada@example.com"] = {"firstname": "Ada", "phone": "1"}

    (upserted,) = outputs(contact(hubspot, {"email": "ada@example.com", "phone": "2"}))

    (stored,) = hubspot.records["contacts"].values()
    assert upserted["id"] == stored["id"]
    assert (stored["properties"]["firstname"], stored["properties"]["phone"]) == ("Ada", "2")
    assert [request.method for request in hubspot.received()] == ["PATCH", "POST", "PATCH"]


def test_get_by_id_or_by_email_with_chosen_properties(hubspot: FakeHubspot) -> None:
    ada = hubspot.add_contact("ada@example.com", firstname="Ada", phone="123")

    (by_id,) = outputs(contact(hubspot, {"operation": "get", "contact_id": "{{ $json.id }}"}, [{"id": ada["id"]}]))
    (by_email,) = outputs(
        contact(hubspot, {"operation": "get", "contact_id": "ada@example.com", "output_properties": "phone, email"})
    )

    assert by_id["properties"]["firstname"] == "Ada" and "phone" not in by_id["properties"]
    assert by_email["id"] == ada["id"] and by_email["properties"]["phone"] == "123"
    assert hubspot.received("GET", f"{CONTACTS}/ada@example.com")[0].query == {
        "properties": "phone,email",
        "idProperty": "email",
    }


def test_get_many_follows_the_after_cursor_or_stops_at_the_limit(hubspot: FakeHubspot) -> None:
    for n in range(230):
        hubspot.add_contact(f"c{n}@example.com")

    everyone = outputs(contact(hubspot, {"operation": "get_many", "return_all": True, "output_properties": ["email"]}))
    some = outputs(contact(hubspot, {"operation": "get_many", "limit": 120}))

    assert [entry["properties"]["email"] for entry in everyone] == [f"c{n}@example.com" for n in range(230)]
    assert len(some) == 120
    pages = hubspot.received("GET", CONTACTS)
    assert [(request.query.get("after"), request.query["limit"]) for request in pages] == [
        (None, "100"),
        ("100", "100"),
        ("200", "100"),
        (None, "100"),
        ("100", "20"),
    ]
    assert pages[0].query["properties"] == "email"


def test_search_sends_filter_groups_sorts_and_pages(hubspot: FakeHubspot) -> None:
    for n in range(1, 501):
        stage = "customer" if n % 2 else "lead"
        hubspot.add_contact(
            f"p{n}@example.com", lifecyclestage=stage, firstname=f"P{n}", city="Berlin" if n % 5 else ""
        )
    parameters = {
        "operation": "search",
        "filter_groups": [
            {
                "filters": [
                    {"property": "lifecyclestage", "operator": "EQ", "value": "customer"},
                    {"property": "city", "operator": "HAS_PROPERTY"},
                ]
            },
            {"filters": [{"property": "email", "operator": "IN", "value": "p2@example.com, p4@example.com"}]},
        ],
        "sort_property": "firstname",
        "sort_direction": "DESCENDING",
        "output_properties": ["email", "lifecyclestage"],
        "return_all": True,
    }

    found = outputs(contact(hubspot, parameters))

    expected = {n for n in range(1, 501) if n % 2 and n % 5} | {2, 4}
    assert len(found) == len(expected) == 202
    assert {int(entry["properties"]["email"][1:].split("@")[0]) for entry in found} == expected
    names = [hubspot.by_email(entry["properties"]["email"])["properties"]["firstname"] for entry in found]
    assert names == sorted(names, reverse=True)
    first, second = hubspot.received("POST", f"{CONTACTS}/search")
    assert first.body == {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"},
                    {"propertyName": "city", "operator": "HAS_PROPERTY"},
                ]
            },
            {"filters": [{"propertyName": "email", "operator": "IN", "values": ["p2@example.com", "p4@example.com"]}]},
        ],
        "sorts": [{"propertyName": "firstname", "direction": "DESCENDING"}],
        "properties": ["email", "lifecyclestage"],
        "limit": 200,
    }
    assert second.body["after"] == "200"


def test_search_by_text_and_between_with_a_limit(hubspot: FakeHubspot) -> None:
    for n in range(1, 11):
        hubspot.add_contact(f"user{n}@example.com", company="Acme" if n < 8 else "Other", phone=str(n))

    found = outputs(
        contact(
            hubspot,
            {
                "operation": "search",
                "query": "acme",
                "filter_groups": [
                    {"filters": [{"property": "phone", "operator": "BETWEEN", "value": 2, "high_value": 6}]}
                ],
                "limit": 3,
            },
        )
    )

    assert [entry["properties"]["email"] for entry in found] == [f"user{n}@example.com" for n in (2, 3, 4)]
    (request,) = hubspot.received("POST", f"{CONTACTS}/search")
    assert request.body["query"] == "acme" and request.body["limit"] == 3
    assert request.body["filterGroups"][0]["filters"][0] == {
        "propertyName": "phone",
        "operator": "BETWEEN",
        "value": "2",
        "highValue": "6",
    }


def test_delete_by_id_or_by_email(hubspot: FakeHubspot) -> None:
    ada = hubspot.add_contact("ada@example.com")
    bob = hubspot.add_contact("bob@example.com")

    (by_id,) = outputs(contact(hubspot, {"operation": "delete", "contact_id": ada["id"]}))
    (by_email,) = outputs(contact(hubspot, {"operation": "delete", "contact_id": "bob@example.com"}))

    assert by_id == {"id": ada["id"], "deleted": True}
    assert by_email == {"id": bob["id"], "deleted": True}
    assert hubspot.records["contacts"] == {}
    assert [request.path for request in hubspot.received("DELETE")] == [
        f"{CONTACTS}/{ada['id']}",
        f"{CONTACTS}/{bob['id']}",
    ]


def test_a_wrong_token_says_so_without_showing_it(hubspot: FakeHubspot) -> None:
    error = failure(contact(hubspot, {"operation": "get", "contact_id": "1"}, token="pat-na1-wrong"))

    assert error["message"].startswith(
        "item 0: HubSpot refused getting contact 1 (401 INVALID_AUTHENTICATION): Authentication credentials not found."
    )
    assert "copy the private app's current access token" in error["description"]
    assert "correlation id 00000000-0000-4000-8000-000000000001" in error["description"]
    assert "pat-na1-wrong" not in json.dumps(error)


def test_a_missing_contact_names_the_item(hubspot: FakeHubspot) -> None:
    hubspot.add_contact("ada@example.com")

    error = failure(
        contact(hubspot, {"operation": "get", "contact_id": "{{ $json.c }}"}, [{"c": "ada@example.com"}, {"c": "999"}])
    )

    assert error["message"] == (
        "item 1: HubSpot refused getting contact 999 (404 OBJECT_NOT_FOUND): "
        "Object not found.  objectId are usually numeric."
    )
    assert error["item_index"] == 1
    assert "does not exist" in error["description"]


def test_an_unknown_property_or_option_is_read_out_of_hubspots_message(hubspot: FakeHubspot) -> None:
    error = failure(
        contact(hubspot, {"email": "a@example.com", "lifecycle_stage": "vip", "other_properties": {"shoe_size": 44}})
    )

    assert error["message"] == (
        "item 0: HubSpot refused creating contact a@example.com (400 VALIDATION_ERROR): "
        'Property values were not valid: Property "shoe_size" does not exist; '
        "vip was not one of the allowed options: [subscriber, lead, "
        "marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]"
    )
    assert "internal names" in error["description"]
    assert hubspot.records["contacts"] == {}


def test_a_missing_scope_is_named(hubspot: FakeHubspot) -> None:
    hubspot.scopes.discard("crm.objects.contacts.write")

    error = failure(contact(hubspot, {"email": "a@example.com"}))

    assert error["message"].startswith("item 0: HubSpot refused updating contact a@example.com (403 MISSING_SCOPES): ")
    assert error["message"].endswith(
        "One or more of the following scopes are required. (requiredGranularScopes: crm.objects.contacts.write)"
    )
    assert "Private apps → Scopes" in error["description"]


def test_the_rate_limit_names_its_policy(hubspot: FakeHubspot) -> None:
    hubspot.rate_limited = 1

    burst = failure(contact(hubspot, {"operation": "get_many"}))
    hubspot.rate_limited, hubspot.rate_limit_policy = 1, "DAILY"
    daily = failure(contact(hubspot, {"operation": "get_many"}))

    assert burst["message"] == (
        "item 0: HubSpot's rate limit (TEN_SECONDLY_ROLLING) stopped listing contacts (429): "
        "You have reached your ten_secondly_rolling limit."
    )
    assert burst["description"].startswith("Slow the workflow down")
    assert daily["description"].startswith("The account's daily API limit is used up")


def test_continue_on_fail_turns_the_error_into_an_item(hubspot: FakeHubspot) -> None:
    (entry,) = outputs(contact(hubspot, {"operation": "delete", "contact_id": "4242"}, on_error="continue"))

    assert entry["error"].startswith("item 0: HubSpot refused deleting contact 4242 (404 OBJECT_NOT_FOUND)")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_hubspot(hubspot: FakeHubspot) -> None:
    no_email = failure(contact(hubspot, {"first_name": "Ada"}))
    no_id = failure(contact(hubspot, {"operation": "delete"}))
    twice = failure(contact(hubspot, {"email": "a@example.com", "phone": "1", "other_properties": {"phone": "2"}}))
    no_value = failure(
        contact(hubspot, {"operation": "search", "filter_groups": [{"filters": [{"property": "email"}]}]})
    )
    too_many = failure(
        contact(
            hubspot,
            {
                "operation": "search",
                "filter_groups": [{"filters": [{"property": "email", "operator": "HAS_PROPERTY"}]}] * 6,
            },
        )
    )

    assert "upsert needs the contact's email address" in no_email["message"]
    assert "delete needs the contact's id or email" in no_id["message"]
    assert "'phone' is set by its own field and again under other properties" in twice["message"]
    assert "the filter on 'email' (EQ) needs a value" in no_value["message"]
    assert "at most 5 filter groups" in too_many["message"]
    assert hubspot.received() == []


def test_the_credential_test_names_the_account_and_refuses_a_wrong_token(hubspot: FakeHubspot) -> None:
    assert HubspotApiCredential.test_connection(hubspot.credential()) == f"Connected to HubSpot account {PORTAL_ID}"

    with pytest.raises(NodeError) as refused:
        HubspotApiCredential.test_connection(hubspot.credential("pat-na1-revoked"))

    assert refused.value.message.startswith("HubSpot refused checking the token (401 INVALID_AUTHENTICATION)")
