"""HubSpot Deal (hubspot.deal) through the engine against the fake HubSpot: deals and their contacts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.hubspot_server import FakeHubspot, fake_hubspot_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

DEALS = "/crm/v3/objects/deals"


@pytest.fixture
def hubspot() -> Iterator[FakeHubspot]:
    with fake_hubspot_server() as server:
        yield server


def deal(
    hubspot: FakeHubspot, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **settings: Any
) -> RunResult:
    host = host_for(hubspot.credential())
    return run_node("hubspot.deal", parameters, items, credential_type="hubspot_api", host=host, **settings)


def test_create_a_deal_per_item_associated_with_its_contact(hubspot: FakeHubspot) -> None:
    ada = hubspot.add_contact("ada@example.com")
    bob = hubspot.add_contact("bob@example.com")
    parameters = {
        "deal_name": "Renewal {{ $json.who }}",
        "amount": "{{ $json.amount }}",
        "deal_stage": "qualifiedtobuy",
        "close_date": "2026-03-31",
        "contact_ids": "{{ $json.contact }}",
        "other_properties": [{"name": "dealtype", "value": "existingbusiness"}],
    }
    items = [
        {"who": "Ada", "amount": 1500, "contact": ada["id"]},
        {"who": "Bob", "amount": "99.5", "contact": bob["id"]},
    ]

    created = outputs(deal(hubspot, parameters, items))

    assert [entry["properties"]["dealname"] for entry in created] == ["Renewal Ada", "Renewal Bob"]
    assert hubspot.associations[created[0]["id"]] == [ada["id"]]
    assert hubspot.associations[created[1]["id"]] == [bob["id"]]
    first, second = hubspot.received("POST", DEALS)
    assert first.body == {
        "properties": {
            "dealname": "Renewal Ada",
            "amount": "1500",
            "pipeline": "default",
            "dealstage": "qualifiedtobuy",
            "closedate": "2026-03-31T00:00:00.000Z",
            "dealtype": "existingbusiness",
        },
        "associations": [
            {
                "to": {"id": ada["id"]},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
            }
        ],
    }
    assert second.body["properties"]["amount"] == "99.5"


def test_get_a_deal_with_its_contacts_and_chosen_properties(hubspot: FakeHubspot) -> None:
    ada = hubspot.add_contact("ada@example.com")
    made = hubspot.add_deal("Big one", (ada["id"],), dealstage="contractsent", amount="5000")

    (found,) = outputs(
        deal(
            hubspot,
            {
                "operation": "get",
                "deal_id": made["id"],
                "output_properties": "dealname,amount",
                "include_contacts": True,
            },
        )
    )

    assert found["properties"]["dealname"] == "Big one" and found["properties"]["amount"] == "5000"
    assert "dealstage" not in found["properties"]
    assert found["associations"] == {"contacts": {"results": [{"id": ada["id"], "type": "deal_to_contact"}]}}
    assert hubspot.received("GET", f"{DEALS}/{made['id']}")[0].query == {
        "properties": "dealname,amount",
        "associations": "contacts",
    }


def test_get_many_pages_with_after(hubspot: FakeHubspot) -> None:
    for n in range(150):
        hubspot.add_deal(f"Deal {n}", dealstage="appointmentscheduled")

    everything = outputs(deal(hubspot, {"operation": "get_many", "return_all": True}))
    few = outputs(deal(hubspot, {"operation": "get_many", "limit": 7}))

    assert [entry["properties"]["dealname"] for entry in everything] == [f"Deal {n}" for n in range(150)]
    assert len(few) == 7
    assert [request.query.get("after") for request in hubspot.received("GET", DEALS)] == [None, "100", None]


def test_update_sends_only_the_given_properties(hubspot: FakeHubspot) -> None:
    made = hubspot.add_deal("Keep", dealstage="appointmentscheduled", amount="100")

    (updated,) = outputs(
        deal(hubspot, {"operation": "update", "deal_id": made["id"], "deal_stage": "closedwon", "amount": ""})
    )

    assert hubspot.received("PATCH", f"{DEALS}/{made['id']}")[0].body == {"properties": {"dealstage": "closedwon"}}
    assert updated["properties"]["dealstage"] == "closedwon"
    assert updated["properties"]["dealname"] == "Keep" and updated["properties"]["amount"] == "100"


def test_delete_removes_the_deal(hubspot: FakeHubspot) -> None:
    made = hubspot.add_deal("Gone", dealstage="closedlost")

    (deleted,) = outputs(deal(hubspot, {"operation": "delete", "deal_id": made["id"]}))

    assert deleted == {"id": made["id"], "deleted": True}
    assert hubspot.records["deals"] == {}


def test_an_unknown_stage_and_an_unknown_contact_are_refused(hubspot: FakeHubspot) -> None:
    bad_stage = failure(deal(hubspot, {"deal_name": "X", "deal_stage": "won"}))
    bad_contact = failure(deal(hubspot, {"deal_name": "X", "deal_stage": "closedwon", "contact_ids": ["999"]}))

    assert bad_stage["message"].startswith(
        "item 0: HubSpot refused creating deal 'X' (400 VALIDATION_ERROR): Property values were not valid: "
        "won was not one of the allowed options: [appointmentscheduled,"
    )
    assert bad_contact["message"] == (
        "item 0: HubSpot refused creating deal 'X' (400 VALIDATION_ERROR): "
        "One or more associations are invalid: contact 999 not found"
    )
    assert hubspot.records["deals"] == {}


def test_a_missing_deal_and_a_missing_scope_say_what_to_do(hubspot: FakeHubspot) -> None:
    missing = failure(deal(hubspot, {"operation": "update", "deal_id": "404", "deal_name": "x"}))
    hubspot.scopes.discard("crm.objects.deals.read")
    no_scope = failure(deal(hubspot, {"operation": "get_many"}))

    assert missing["message"].startswith("item 0: HubSpot refused updating deal 404 (404 OBJECT_NOT_FOUND)")
    assert no_scope["message"].endswith("(requiredGranularScopes: crm.objects.deals.read)")


def test_continue_on_fail_turns_the_error_into_an_item(hubspot: FakeHubspot) -> None:
    (entry,) = outputs(deal(hubspot, {"operation": "get", "deal_id": "1"}, on_error="continue"))

    assert entry["error"].startswith("item 0: HubSpot refused getting deal 1 (404 OBJECT_NOT_FOUND)")


def test_parameters_are_checked_before_calling_hubspot(hubspot: FakeHubspot) -> None:
    no_stage = failure(deal(hubspot, {"deal_name": "X"}))
    no_change = failure(deal(hubspot, {"operation": "update", "deal_id": "1"}))
    bad_date = failure(deal(hubspot, {"deal_name": "X", "deal_stage": "closedwon", "close_date": "31/03/2026"}))
    no_id = failure(deal(hubspot, {"operation": "get"}))
    twice = failure(deal(hubspot, {"deal_name": "X", "deal_stage": "closedwon", "other_properties": {"dealname": "Y"}}))

    assert "create needs the deal's name and stage" in no_stage["message"]
    assert "update needs at least one property to change" in no_change["message"]
    assert "the close date '31/03/2026' is not YYYY-MM-DD" in bad_date["message"]
    assert "get needs the deal id" in no_id["message"]
    assert "'dealname' is set by its own field and again under other properties" in twice["message"]
    assert hubspot.received() == []
