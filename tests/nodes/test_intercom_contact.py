"""Intercom Contact (intercom.contact) and the intercom_api credential, through the engine against a fake Intercom."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.intercom.credentials import IntercomApiCredential
from nodes.sdk import NodeError
from tests.fakes.intercom_server import TOKEN, FakeIntercom, fake_intercom_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def intercom() -> Iterator[FakeIntercom]:
    with fake_intercom_server() as server:
        yield server


def contact(
    intercom: FakeIntercom,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(intercom.credential(token))
    return run_node("intercom.contact", parameters, items, credential_type="intercom_api", host=host, **settings)


def test_create_a_user_per_item_with_custom_attributes(intercom: FakeIntercom) -> None:
    parameters = {
        "email": "{{ $json.email }}",
        "external_id": "crm-{{ $json.id }}",
        "name": "{{ $json.name }}",
        "custom_attributes": {"plan": "{{ $json.plan }}", "seats": 3},
    }
    items = [
        {"email": "ada@example.com", "id": 1, "name": "Ada", "plan": "pro"},
        {"email": "bob@example.com", "id": 2, "name": "Bob", "plan": "free"},
    ]

    created = outputs(contact(intercom, parameters, items))

    assert [(entry["role"], entry["email"], entry["external_id"]) for entry in created] == [
        ("user", "ada@example.com", "crm-1"),
        ("user", "bob@example.com", "crm-2"),
    ]
    assert created[1]["custom_attributes"] == {"plan": "free", "seats": 3}
    first = intercom.received("POST", "/contacts")[0]
    assert first.body == {
        "role": "user",
        "email": "ada@example.com",
        "external_id": "crm-1",
        "name": "Ada",
        "custom_attributes": {"plan": "pro", "seats": 3},
    }
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["intercom-version"] == "2.11"


def test_create_a_lead_without_an_email(intercom: FakeIntercom) -> None:
    (lead,) = outputs(contact(intercom, {"role": "lead", "name": "Visitor 42", "phone": "+15550100"}))

    assert (lead["role"], lead["email"], lead["phone"]) == ("lead", None, "+15550100")
    assert intercom.received("POST", "/contacts")[0].body == {
        "role": "lead",
        "name": "Visitor 42",
        "phone": "+15550100",
    }


def test_get_update_and_delete_a_contact(intercom: FakeIntercom) -> None:
    made = intercom.add_contact(email="ada@example.com", name="Ada", custom_attributes={"plan": "free"})

    (found,) = outputs(contact(intercom, {"operation": "get", "contact_id": "{{ $json.id }}"}, [{"id": made["id"]}]))
    (updated,) = outputs(
        contact(
            intercom,
            {
                "operation": "update",
                "contact_id": made["id"],
                "custom_attributes": '{"plan": "pro"}',
                "unsubscribed_from_emails": "unsubscribed",
            },
        )
    )
    (deleted,) = outputs(contact(intercom, {"operation": "delete", "contact_id": made["id"]}))

    assert found["email"] == "ada@example.com"
    assert intercom.received("PUT", f"/contacts/{made['id']}")[0].body == {
        "custom_attributes": {"plan": "pro"},
        "unsubscribed_from_emails": True,
    }
    assert (updated["name"], updated["custom_attributes"], updated["unsubscribed_from_emails"]) == (
        "Ada",
        {"plan": "pro"},
        True,
    )
    assert deleted == {"id": made["id"], "external_id": None, "type": "contact", "deleted": True}
    assert intercom.contacts == {}


def test_search_return_all_follows_starting_after(intercom: FakeIntercom) -> None:
    for n in range(1, 321):
        intercom.add_contact(email=f"c{n}@{'acme' if n % 2 else 'other'}.test")

    found = outputs(
        contact(
            intercom,
            {
                "operation": "search",
                "conditions": [{"field": "email", "operator": "~", "value": "@acme"}],
                "return_all": True,
            },
        )
    )
    everyone = outputs(
        contact(
            intercom,
            {
                "operation": "search",
                "conditions": [{"field": "role", "operator": "=", "value": "user"}],
                "return_all": True,
            },
        )
    )

    assert len(found) == 160 and found[0]["email"] == "c1@acme.test" and found[-1]["email"] == "c319@acme.test"
    assert len(everyone) == 320
    searches = intercom.received("POST", "/contacts/search")
    assert searches[0].body == {
        "query": {"field": "email", "operator": "~", "value": "@acme"},
        "pagination": {"per_page": 150},
    }
    assert searches[1].body["pagination"]["starting_after"] and len(searches) == 2 + 3


def test_search_combines_conditions_and_stops_at_the_limit(intercom: FakeIntercom) -> None:
    for n in range(1, 11):
        intercom.add_contact(email=f"c{n}@acme.test", custom_attributes={"plan": "pro" if n % 2 else "free"})
    intercom.add_contact(role="lead", name="Lead", email="lead@acme.test")

    pros = outputs(
        contact(
            intercom,
            {
                "operation": "search",
                "conditions": [
                    {"field": "custom_attributes.plan", "operator": "=", "value": "pro"},
                    {"field": "role", "operator": "IN", "value": "user, admin"},
                ],
                "limit": 3,
            },
        )
    )
    either = outputs(
        contact(
            intercom,
            {
                "operation": "search",
                "combine": "OR",
                "conditions": '[{"field": "role", "operator": "=", "value": "lead"}, '
                '{"field": "email", "operator": "^", "value": "c10@"}]',
                "return_all": True,
            },
        )
    )

    assert [entry["email"] for entry in pros] == ["c1@acme.test", "c3@acme.test", "c5@acme.test"]
    assert intercom.received("POST", "/contacts/search")[0].body == {
        "query": {
            "operator": "AND",
            "value": [
                {"field": "custom_attributes.plan", "operator": "=", "value": "pro"},
                {"field": "role", "operator": "IN", "value": ["user", "admin"]},
            ],
        },
        "pagination": {"per_page": 3},
    }
    assert [entry["email"] for entry in either] == ["c10@acme.test", "lead@acme.test"]


def test_add_tag_finds_or_creates_the_tag(intercom: FakeIntercom) -> None:
    ada = intercom.add_contact(email="ada@example.com")
    bob = intercom.add_contact(email="bob@example.com")

    tagged = outputs(
        contact(
            intercom,
            {"operation": "add_tag", "contact_id": "{{ $json.id }}", "tag_name": "VIP"},
            [{"id": ada["id"]}, {"id": bob["id"]}],
        )
    )

    assert len(intercom.tags) == 1
    (tag,) = intercom.tags.values()
    assert tagged == [{"contact_id": ada["id"], "tag": tag}, {"contact_id": bob["id"], "tag": tag}]
    assert ada["tags"]["data"] == [tag] and bob["tags"]["data"] == [tag]
    assert intercom.received("POST", f"/contacts/{ada['id']}/tags")[0].body == {"id": tag["id"]}


def test_a_wrong_token_says_so_without_showing_it(intercom: FakeIntercom) -> None:
    error = failure(contact(intercom, {"operation": "get", "contact_id": "abc"}, token="wrong-token-999"))

    assert error["message"] == "item 0: Intercom refused getting contact abc (401 unauthorized): Access Token Invalid"
    assert "workspace is in another region" in error["description"]
    assert "wrong-token-999" not in json.dumps(error)


def test_a_missing_contact_names_the_item(intercom: FakeIntercom) -> None:
    made = intercom.add_contact(email="ada@example.com")

    error = failure(
        contact(intercom, {"operation": "get", "contact_id": "{{ $json.id }}"}, [{"id": made["id"]}, {"id": "gone"}])
    )

    assert error["message"] == "item 1: Intercom refused getting contact gone (404 not_found): User Not Found"
    assert error["item_index"] == 1
    assert "Check the contact id" in error["description"]


def test_a_duplicate_and_an_unknown_attribute_are_explained(intercom: FakeIntercom) -> None:
    existing = intercom.add_contact(email="ada@example.com")

    duplicate = failure(contact(intercom, {"email": "ada@example.com"}))
    unknown = failure(contact(intercom, {"email": "new@example.com", "custom_attributes": {"tier": "gold"}}))

    assert duplicate["message"] == (
        f"item 0: Intercom refused creating a user (409 conflict): A contact matching those details already "
        f"exists with id={existing['id']}"
    )
    assert "search for it and update it instead" in duplicate["description"]
    assert unknown["message"] == (
        "item 0: Intercom refused creating a user (400 parameter_invalid): Custom attribute 'tier' does not exist"
    )
    assert unknown["description"] == "Change what Intercom named above, then retry."


def test_the_rate_limit_says_when_it_resets(intercom: FakeIntercom) -> None:
    intercom.rate_limited = 1

    error = failure(contact(intercom, {"email": "ada@example.com"}))

    assert error["message"] == (
        "item 0: Intercom's rate limit stopped creating a user (429 rate_limit_exceeded): "
        "Exceeded rate limit of 1000 in 10_seconds"
    )
    assert error["description"].startswith("Wait until Intercom resets the limit (at 00:00:00 UTC)")


def test_continue_on_fail_turns_the_error_into_an_item(intercom: FakeIntercom) -> None:
    (entry,) = outputs(contact(intercom, {"operation": "delete", "contact_id": "nobody"}, on_error="continue"))

    assert entry["error"] == "item 0: Intercom refused deleting contact nobody (404 not_found): User Not Found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_intercom(intercom: FakeIntercom) -> None:
    no_identity = failure(contact(intercom, {"name": "Ada"}))
    no_id = failure(contact(intercom, {"operation": "update", "name": "Ada"}))
    nothing = failure(contact(intercom, {"operation": "update", "contact_id": "abc"}))
    no_conditions = failure(contact(intercom, {"operation": "search"}))
    no_tag = failure(contact(intercom, {"operation": "add_tag", "contact_id": "abc", "tag_name": " "}))
    bad_json = failure(contact(intercom, {"email": "ada@example.com", "custom_attributes": "{plan"}))

    assert "create needs an email or an external id for a user" in no_identity["message"]
    assert "update needs the contact id" in no_id["message"]
    assert "update needs a field to change" in nothing["message"]
    assert "search needs at least one condition" in no_conditions["message"]
    assert "add_tag needs the tag's name" in no_tag["message"]
    assert "the custom attributes are not valid JSON" in bad_json["message"]
    assert intercom.received() == []


def test_the_credential_names_the_admin_and_sends_the_chosen_version(intercom: FakeIntercom) -> None:
    connected = IntercomApiCredential.test_connection(intercom.credential(api_version="2.13"))

    with pytest.raises(NodeError) as refused:
        IntercomApiCredential.test_connection(intercom.credential("revoked"))
    with pytest.raises(NodeError) as unknown_version:
        IntercomApiCredential.test_connection(intercom.credential(api_version="9.9"))
    with pytest.raises(NodeError) as malformed:
        IntercomApiCredential.parse({"access_token": TOKEN, "api_version": "latest"})

    assert connected == "Connected as Ada Admin (Acme Support)"
    assert intercom.received("GET", "/me")[0].headers["intercom-version"] == "2.13"
    assert (
        refused.value.message == "Intercom refused checking the access token (401 unauthorized): Access Token Invalid"
    )
    assert unknown_version.value.message == (
        "Intercom refused checking the access token (400 intercom_version_invalid): Requested version is not valid"
    )
    assert "looks like 2.11" in malformed.value.message
    assert IntercomApiCredential.parse({"access_token": TOKEN}).api_url == "https://api.intercom.io"
