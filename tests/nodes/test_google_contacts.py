"""Google Contacts (google.contacts) through the engine against the fake People API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Google
from tests.nodes.integrations import failure, host_for, outputs, run_node


def contacts(google: Google, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    host = host_for(google.credential)
    return run_node(
        "google.contacts", parameters, items, credential_type="google_service_account", host=host, **settings
    )


def ada(google: Google) -> dict[str, Any]:
    return google.server.add_contact(
        names=[{"givenName": "Ada", "familyName": "Lovelace"}],
        emailAddresses=[{"value": "ada@example.com"}],
        organizations=[{"name": "Analytical Engines", "title": "Analyst"}],
    )


def test_create_a_contact_from_each_item(google: Google) -> None:
    parameters = {
        "given_name": "{{ $json.first }}",
        "family_name": "Hopper",
        "emails": "grace@example.com, {{ $json.work }}",
        "phones": ["+1 555 0100"],
        "company": "US Navy",
        "job_title": "Rear Admiral",
        "notes": "Met at the conference.",
    }

    (created,) = outputs(contacts(google, parameters, [{"first": "Grace", "work": "g.hopper@navy.example"}]))

    stored = google.server.contacts[created["resourceName"]]
    assert created["resourceName"].startswith("people/c") and created["etag"] == stored["etag"]
    assert created["names"][0]["displayName"] == "Grace Hopper"
    assert [entry["value"] for entry in created["emailAddresses"]] == ["grace@example.com", "g.hopper@navy.example"]
    assert created["organizations"][0]["title"] == "Rear Admiral"
    (request,) = google.server.received("/v1/people:createContact")
    assert request.method == "POST"
    assert request.query["personFields"] == ["names,emailAddresses,phoneNumbers,organizations,biographies"]
    assert request.json() == {
        "names": [{"givenName": "Grace", "familyName": "Hopper"}],
        "emailAddresses": [{"value": "grace@example.com"}, {"value": "g.hopper@navy.example"}],
        "phoneNumbers": [{"value": "+1 555 0100"}],
        "organizations": [{"name": "US Navy", "title": "Rear Admiral"}],
        "biographies": [{"value": "Met at the conference.", "contentType": "TEXT_PLAIN"}],
    }


def test_get_returns_the_fields_chosen_by_bare_id_or_resource_name(google: Google) -> None:
    person = ada(google)
    bare = person["resourceName"].removeprefix("people/")

    (by_name,) = outputs(contacts(google, {"operation": "get", "contact_id": person["resourceName"]}))
    (by_id,) = outputs(contacts(google, {"operation": "get", "contact_id": bare, "fields": ["emailAddresses"]}))

    assert by_name["names"][0]["givenName"] == "Ada" and "organizations" in by_name
    assert set(by_id) == {"resourceName", "etag", "emailAddresses"}
    requests = google.server.received("/v1/people/")
    assert [request.path for request in requests] == [f"/v1/{person['resourceName']}"] * 2
    assert requests[1].query["personFields"] == ["emailAddresses"]


def test_get_many_follows_pages_and_limit_stops(google: Google) -> None:
    for number in range(1003):
        google.server.add_contact(names=[{"givenName": f"Person {number:04d}"}])

    everything = outputs(contacts(google, {"operation": "get_many", "return_all": True, "fields": ["names"]}))
    newest = outputs(contacts(google, {"operation": "get_many", "limit": 2, "sort_order": "LAST_MODIFIED_DESCENDING"}))

    assert len(everything) == 1003 and everything[0]["names"][0]["givenName"] == "Person 0000"
    assert [person["names"][0]["givenName"] for person in newest] == ["Person 1002", "Person 1001"]
    pages = google.server.received("/v1/people/me/connections")
    assert [page.query.get("pageToken") for page in pages[:2]] == [None, ["1000"]]
    assert pages[0].query["pageSize"] == ["1000"] and pages[0].query["personFields"] == ["names"]
    assert pages[-1].query["pageSize"] == ["2"] and pages[-1].query["sortOrder"] == ["LAST_MODIFIED_DESCENDING"]


def test_search_warms_the_cache_once_then_matches_word_starts(google: Google) -> None:
    ada(google)
    google.server.add_contact(names=[{"givenName": "Alan", "familyName": "Turing"}])
    items = [{"q": "lovel"}, {"q": "analytical"}, {"q": "turing"}]

    found = outputs(contacts(google, {"operation": "search", "query": "{{ $json.q }}", "fields": ["names"]}, items))

    assert [person["names"][0]["displayName"] for person in found] == ["Ada Lovelace", "Ada Lovelace", "Alan Turing"]
    searches = google.server.received("/v1/people:searchContacts")
    assert [search.query["query"] for search in searches] == [[""], ["lovel"], ["analytical"], ["turing"]]
    assert all(search.query["readMask"] == ["names"] for search in searches)
    assert searches[1].query["pageSize"] == ["30"]


def test_update_reads_the_etag_and_patches_only_the_fields_given(google: Google) -> None:
    person = ada(google)
    parameters = {
        "operation": "update",
        "contact_id": person["resourceName"],
        "family_name": "King",
        "phones": "+44 20 7946 0000",
    }

    (updated,) = outputs(contacts(google, parameters))

    assert updated["names"][0]["displayName"] == "Ada King"
    assert updated["phoneNumbers"][0]["value"] == "+44 20 7946 0000"
    assert updated["emailAddresses"] == person["emailAddresses"] and updated["etag"] != person["etag"]
    read, patch = google.server.received("/v1/people/")
    assert read.method == "GET" and read.query["personFields"] == ["names,phoneNumbers"]
    assert patch.method == "PATCH" and patch.path == f"/v1/{person['resourceName']}:updateContact"
    assert patch.query["updatePersonFields"] == ["names,phoneNumbers"]
    assert patch.json() == {
        "etag": person["etag"],
        "names": [{"givenName": "Ada", "familyName": "King"}],
        "phoneNumbers": [{"value": "+44 20 7946 0000"}],
    }


def test_delete_removes_the_contact_and_a_second_delete_is_a_404(google: Google) -> None:
    person = ada(google)
    parameters = {"operation": "delete", "contact_id": person["resourceName"]}

    (deleted,) = outputs(contacts(google, parameters))
    again = failure(contacts(google, parameters))

    assert deleted == {"resourceName": person["resourceName"], "deleted": True}
    assert person["resourceName"] not in google.server.contacts
    assert again["message"] == (
        f"item 0: Google refused deleting contact {person['resourceName']} (404): Requested entity was not found."
    )
    assert "it may have been deleted" in again["description"]


def test_a_rate_limit_is_explained_as_one(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("googleapiclient.http.random.random", lambda: 0.0)
    google.server.fail_next(429, "Quota exceeded for quota metric 'Read requests'.", "RESOURCE_EXHAUSTED", times=2)

    error = failure(contacts(google, {"operation": "get_many"}))

    assert error["message"] == (
        "item 0: Google refused listing contacts (429): Quota exceeded for quota metric 'Read requests'."
    )
    assert "Google is limiting requests" in error["description"]


def test_a_403_says_to_act_as_a_user(google: Google) -> None:
    google.server.fail_next(403, "The caller does not have permission", "PERMISSION_DENIED")

    error = failure(contacts(google, {"given_name": "Ada"}))

    assert error["message"] == "item 0: Google refused creating a contact (403): The caller does not have permission"
    assert "Act as user" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(google: Google) -> None:
    (entry,) = outputs(contacts(google, {"operation": "get", "contact_id": "c404"}, on_error="continue"))

    assert entry["error"] == "item 0: Google refused reading contact people/c404 (404): Requested entity was not found."


def test_parameters_are_checked_before_calling_google(google: Google) -> None:
    no_name = failure(contacts(google, {"emails": "a@example.com"}))
    no_id = failure(contacts(google, {"operation": "delete", "contact_id": "people/"}))
    no_change = failure(contacts(google, {"operation": "update", "contact_id": "c1"}))
    no_query = failure(contacts(google, {"operation": "search"}))
    bad_field = failure(contacts(google, {"operation": "get", "contact_id": "c1", "fields": ["shoeSize"]}))

    assert "create needs a first or last name" in no_name["message"]
    assert "delete needs a contact's resource name" in no_id["message"]
    assert "update needs at least one field to change" in no_change["message"]
    assert "search needs words to search for" in no_query["message"]
    assert "parameter 'fields.0'" in bad_field["message"] and "'phoneNumbers'" in bad_field["message"]
    assert not google.server.received("/v1/people")
