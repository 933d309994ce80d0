"""Pipedrive Deal (pipedrive.deal) and the pipedrive_api credential, through the engine against the fake Pipedrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.pipedrive.credentials import PipedriveApiCredential
from nodes.sdk import NodeError
from tests.fakes.pipedrive_server import API_TOKEN, FakePipedrive, fake_pipedrive_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

CUSTOM_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


@pytest.fixture
def pipedrive() -> Iterator[FakePipedrive]:
    with fake_pipedrive_server() as server:
        yield server


def deal(
    pipedrive: FakePipedrive,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_token: str = API_TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(pipedrive.credential(api_token))
    return run_node("pipedrive.deal", parameters, items, credential_type="pipedrive_api", host=host, **settings)


def test_create_a_deal_per_item_with_the_token_in_a_header(pipedrive: FakePipedrive) -> None:
    parameters = {
        "title": "{{ $json.company }} renewal",
        "value": "{{ $json.value }}",
        "currency": "usd",
        "person_id": "{{ $json.person }}",
        "org_id": 1,
        "stage_id": 2,
        "custom_fields": {CUSTOM_KEY: "web"},
    }
    items = [{"company": "Acme", "value": 1200, "person": 1}, {"company": "Globex", "value": "", "person": ""}]

    created = outputs(deal(pipedrive, parameters, items))

    assert [(entry["title"], entry["value"], entry["currency"]) for entry in created] == [
        ("Acme renewal", 1200, "USD"),
        ("Globex renewal", 0, "USD"),
    ]
    assert created[0]["person_id"] == {"name": "Ada Lovelace", "value": 1}
    assert created[1]["person_id"] is None and created[0][CUSTOM_KEY] == "web"
    first, second = pipedrive.received("POST", "/api/v1/deals")
    assert first.body == {
        "title": "Acme renewal",
        "value": 1200.0,
        "currency": "USD",
        "person_id": 1,
        "org_id": 1,
        "stage_id": 2,
        CUSTOM_KEY: "web",
    }
    assert "value" not in second.body and "person_id" not in second.body
    assert first.headers["x-api-token"] == API_TOKEN
    assert "api_token" not in first.query


def test_get_update_and_delete_a_deal(pipedrive: FakePipedrive) -> None:
    made = pipedrive.add_deal("Big one", value=5000)

    (found,) = outputs(deal(pipedrive, {"operation": "get", "deal_id": "{{ $json.id }}"}, [{"id": made["id"]}]))
    (lost,) = outputs(
        deal(pipedrive, {"operation": "update", "deal_id": made["id"], "status": "lost", "lost_reason": "Budget"})
    )
    (deleted,) = outputs(deal(pipedrive, {"operation": "delete", "deal_id": made["id"]}))

    assert (found["title"], found["value"]) == ("Big one", 5000)
    assert pipedrive.received("PUT", f"/api/v1/deals/{made['id']}")[0].body == {
        "status": "lost",
        "lost_reason": "Budget",
    }
    assert (lost["status"], lost["lost_reason"], lost["title"]) == ("lost", "Budget", "Big one")
    assert deleted == {"id": made["id"], "deleted": True}
    assert pipedrive.deals[made["id"]]["deleted"] is True


def test_get_many_pages_with_start_and_limit(pipedrive: FakePipedrive) -> None:
    for n in range(1, 1201):
        pipedrive.add_deal(f"Deal {n}", status="won" if n % 4 == 0 else "open")

    everything = outputs(deal(pipedrive, {"operation": "get_many", "return_all": True}))
    won = outputs(deal(pipedrive, {"operation": "get_many", "status_filter": "won", "limit": 3}))

    assert [entry["id"] for entry in everything] == list(range(1, 1201))
    assert [entry["id"] for entry in won] == [4, 8, 12]
    pages = pipedrive.received("GET", "/api/v1/deals")
    assert [(request.query["start"], request.query["limit"]) for request in pages] == [
        ("0", "500"),
        ("500", "500"),
        ("1000", "500"),
        ("0", "3"),
    ]
    assert pages[0].query["status"] == "all_not_deleted" and pages[-1].query["status"] == "won"


def test_an_empty_list_comes_as_null_data_and_gives_no_items(pipedrive: FakePipedrive) -> None:
    assert outputs(deal(pipedrive, {"operation": "get_many", "return_all": True})) == []


def test_search_flattens_the_found_deals_with_their_score(pipedrive: FakePipedrive) -> None:
    pipedrive.add_deal("Acme renewal", person_id=1)
    pipedrive.add_deal("Acme upsell", person_id=2)
    pipedrive.add_deal("Globex renewal", person_id=1)

    found = outputs(
        deal(pipedrive, {"operation": "search", "term": "acme", "search_fields": ["title"], "return_all": True})
    )
    theirs = outputs(
        deal(pipedrive, {"operation": "search", "term": "renewal", "person_id": 1, "search_status": "open"})
    )

    assert [(entry["title"], entry["result_score"]) for entry in found] == [("Acme renewal", 0.5), ("Acme upsell", 0.5)]
    assert found[0]["person"] == {"id": 1, "name": "Ada Lovelace"}
    assert [entry["title"] for entry in theirs] == ["Acme renewal", "Globex renewal"]
    first, second = pipedrive.received("GET", "/api/v1/deals/search")
    assert first.query == {"term": "acme", "exact_match": "false", "fields": "title", "start": "0", "limit": "500"}
    assert second.query["person_id"] == "1" and second.query["status"] == "open" and second.query["limit"] == "50"


def test_a_wrong_token_says_so_without_showing_it(pipedrive: FakePipedrive) -> None:
    error = failure(deal(pipedrive, {"operation": "get", "deal_id": 1}, api_token="wrongwrongwrong"))

    assert error["message"] == "item 0: Pipedrive refused getting deal 1 (401): unauthorized access"
    assert "Personal preferences → API" in error["description"]
    assert "wrongwrongwrong" not in json.dumps(error)


def test_a_missing_deal_names_the_item(pipedrive: FakePipedrive) -> None:
    pipedrive.add_deal("Only")

    error = failure(deal(pipedrive, {"operation": "get", "deal_id": "{{ $json.id }}"}, [{"id": 1}, {"id": 99}]))

    assert error["message"] == "item 1: Pipedrive refused getting deal 99 (404): Deal not found"
    assert error["item_index"] == 1


def test_an_unknown_person_or_stage_is_refused(pipedrive: FakePipedrive) -> None:
    person = failure(deal(pipedrive, {"title": "X", "person_id": 42}))
    stage = failure(deal(pipedrive, {"title": "X", "stage_id": 99}))

    assert person["message"] == "item 0: Pipedrive refused creating deal 'X' (400): Person with id 42 not found."
    assert stage["message"] == "item 0: Pipedrive refused creating deal 'X' (400): Stage with id 99 not found."
    assert "must exist" in stage["description"]
    assert pipedrive.deals == {}


def test_the_rate_limit_and_a_wrong_domain_are_explained(pipedrive: FakePipedrive) -> None:
    pipedrive.rate_limited = 1

    limited = failure(deal(pipedrive, {"operation": "get_many"}))
    wrong_domain = failure(
        run_node(
            "pipedrive.deal",
            {"operation": "get_many"},
            credential_type="pipedrive_api",
            host=host_for({"api_token": API_TOKEN, "company_domain": f"{pipedrive.base_url}/crm"}),
        )
    )

    assert (
        limited["message"]
        == "item 0: Pipedrive is limiting requests and refused listing deals (429): Request over limit"
    )
    assert limited["description"].startswith("Wait 2 seconds and retry the node")
    assert wrong_domain["message"] == "item 0: listing deals: Pipedrive answered 404 with something other than JSON"
    assert "company domain" in wrong_domain["description"]


def test_continue_on_fail_turns_the_error_into_an_item(pipedrive: FakePipedrive) -> None:
    (entry,) = outputs(deal(pipedrive, {"operation": "delete", "deal_id": 7}, on_error="continue"))

    assert entry["error"] == "item 0: Pipedrive refused deleting deal 7 (404): Deal not found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_pipedrive(pipedrive: FakePipedrive) -> None:
    no_title = failure(deal(pipedrive, {"value": 5}))
    no_id = failure(deal(pipedrive, {"operation": "delete"}))
    nothing = failure(deal(pipedrive, {"operation": "update", "deal_id": 1}))
    short = failure(deal(pipedrive, {"operation": "search", "term": "a"}))
    bad_date = failure(deal(pipedrive, {"title": "X", "expected_close_date": "next week"}))

    assert "create needs the deal's title" in no_title["message"]
    assert "delete needs the deal id" in no_id["message"]
    assert "update needs at least one field to change" in nothing["message"]
    assert "search needs a term of at least 2 characters" in short["message"]
    assert "is not YYYY-MM-DD" in bad_date["message"]
    assert pipedrive.received() == []


def test_the_credential_test_names_the_user_and_reads_a_company_domain(pipedrive: FakePipedrive) -> None:
    assert PipedriveApiCredential.test_connection(pipedrive.credential()) == "Connected as Pat Pipe (Acme)"
    fields = PipedriveApiCredential.parse({"api_token": API_TOKEN, "company_domain": "Acme.pipedrive.com"})
    assert fields.base_url == "https://acme.pipedrive.com"

    with pytest.raises(NodeError) as refused:
        PipedriveApiCredential.test_connection(pipedrive.credential("revoked"))

    assert refused.value.message == "Pipedrive refused checking the token (401): unauthorized access"
