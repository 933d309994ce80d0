"""Opsgenie Alert (opsgenie.alert) and the opsgenie_api credential, through the engine against a fake Opsgenie."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.opsgenie.credentials import OpsgenieApiCredential, OpsgenieApiFields
from nodes.sdk import NodeError
from tests.fakes.opsgenie_server import API_KEY, FakeOpsgenie, fake_opsgenie_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def opsgenie() -> Iterator[FakeOpsgenie]:
    with fake_opsgenie_server() as server:
        yield server


def alert(
    opsgenie: FakeOpsgenie,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(opsgenie.credential(api_key))
    return run_node("opsgenie.alert", parameters, items, credential_type="opsgenie_api", host=host, **settings)


def test_create_waits_for_the_outcome_and_outputs_the_alert_id(opsgenie: FakeOpsgenie) -> None:
    parameters = {
        "message": "{{ $json.service }} is down",
        "alias": "down-{{ $json.service }}",
        "description": "Health check failed {{ $json.failures }} times",
        "responders": "team:Ops, user:ada@acme.test, schedule:0f1b3b5e-7c2d-4d1e-9d8a-1a2b3c4d5e6f",
        "tags": "prod, {{ $json.service }}",
        "priority": "P1",
        "details": "{{ $json.details }}",
        "note": "Opened by HITL Studio",
    }
    items = [
        {"service": "checkout", "failures": 3, "details": {"region": "eu", "attempts": 3}},
        {"service": "search", "failures": 5, "details": {}},
    ]

    created = outputs(alert(opsgenie, parameters, items))

    assert [entry["alertId"] for entry in created] == [a["id"] for a in opsgenie.alerts]
    assert created[0]["processed"] is True and created[0]["isSuccess"] is True
    assert (created[0]["action"], created[0]["status"], created[0]["alias"]) == (
        "Create",
        "Created alert",
        "down-checkout",
    )
    assert created[0]["result"] == "Request will be processed" and created[0]["requestId"]
    first = opsgenie.received("POST", "/v2/alerts")[0]
    assert first.body == {
        "message": "checkout is down",
        "priority": "P1",
        "alias": "down-checkout",
        "description": "Health check failed 3 times",
        "note": "Opened by HITL Studio",
        "responders": [
            {"type": "team", "name": "Ops"},
            {"type": "user", "username": "ada@acme.test"},
            {"type": "schedule", "id": "0f1b3b5e-7c2d-4d1e-9d8a-1a2b3c4d5e6f"},
        ],
        "tags": ["prod", "checkout"],
        "details": {"region": "eu", "attempts": "3"},
    }
    assert first.headers["authorization"] == f"GenieKey {API_KEY}"
    assert opsgenie.notes[created[0]["alertId"]] == [{"note": "Opened by HITL Studio", "owner": "HITL Studio"}]
    polls = opsgenie.received("GET", f"/v2/alerts/requests/{created[0]['requestId']}")
    assert len(polls) == 1


def test_the_node_keeps_asking_until_opsgenie_has_processed_the_request(opsgenie: FakeOpsgenie) -> None:
    opsgenie.pending_polls = 2

    (created,) = outputs(alert(opsgenie, {"message": "Slow queue"}))

    assert created["processed"] is True and created["alertId"] == opsgenie.alerts[0]["id"]
    assert len(opsgenie.received("GET", f"/v2/alerts/requests/{created['requestId']}")) == 3


def test_a_request_not_processed_in_time_outputs_its_request_id(opsgenie: FakeOpsgenie) -> None:
    opsgenie.pending_polls = 5

    (waited,) = outputs(alert(opsgenie, {"message": "Slow", "poll_attempts": 2}))
    (unwatched,) = outputs(alert(opsgenie, {"message": "Fire and forget", "poll_attempts": 0}))

    assert waited == {"requestId": waited["requestId"], "result": "Request will be processed", "processed": False}
    assert len(opsgenie.received("GET", f"/v2/alerts/requests/{waited['requestId']}")) == 2
    assert unwatched["processed"] is False
    assert opsgenie.received("GET", f"/v2/alerts/requests/{unwatched['requestId']}") == []


def test_get_by_id_alias_or_tiny_id(opsgenie: FakeOpsgenie) -> None:
    opsgenie.add_alert("First")
    second = opsgenie.add_alert("Second", alias="db/primary", description="Replica lag")

    (by_id,) = outputs(alert(opsgenie, {"operation": "get", "identifier": "{{ $json.id }}"}, [second]))
    (by_alias,) = outputs(alert(opsgenie, {"operation": "get", "identifier": "db/primary", "identifier_type": "alias"}))
    (by_tiny,) = outputs(alert(opsgenie, {"operation": "get", "identifier": "2", "identifier_type": "tiny"}))

    assert by_id["message"] == by_alias["message"] == by_tiny["message"] == "Second"
    assert by_id["description"] == "Replica lag"
    assert opsgenie.received("GET", "/v2/alerts/db/primary")[0].query == {"identifierType": "alias"}


def seed(opsgenie: FakeOpsgenie, count: int) -> None:
    for n in range(1, count + 1):
        opsgenie.add_alert(
            f"Alert {n}", status="closed" if n % 4 == 0 else "open", priority="P1" if n % 3 == 0 else "P3"
        )


def test_get_many_return_all_pages_by_offset(opsgenie: FakeOpsgenie) -> None:
    seed(opsgenie, 230)

    listed = outputs(alert(opsgenie, {"operation": "get_many", "return_all": True}))

    assert len(listed) == 230
    assert [entry["message"] for entry in listed[:2]] == ["Alert 230", "Alert 229"]
    pages = opsgenie.received("GET", "/v2/alerts")
    assert [(r.query["offset"], r.query["limit"]) for r in pages] == [("0", "100"), ("100", "100"), ("200", "100")]


def test_get_many_searches_sorts_and_stops_at_the_limit(opsgenie: FakeOpsgenie) -> None:
    seed(opsgenie, 30)

    found = outputs(
        alert(
            opsgenie,
            {"operation": "get_many", "query": "status:open AND priority:P1", "order": "asc", "limit": 3},
        )
    )

    assert [entry["message"] for entry in found] == ["Alert 3", "Alert 6", "Alert 9"]
    (request,) = opsgenie.received("GET", "/v2/alerts")
    assert request.query == {
        "sort": "createdAt",
        "order": "asc",
        "query": "status:open AND priority:P1",
        "offset": "0",
        "limit": "3",
    }


def test_close_acknowledge_and_add_note(opsgenie: FakeOpsgenie) -> None:
    target = opsgenie.add_alert("Page", alias="page-1")

    (acknowledged,) = outputs(
        alert(opsgenie, {"operation": "acknowledge", "identifier": "page-1", "identifier_type": "alias", "user": "Ada"})
    )
    (noted,) = outputs(
        alert(
            opsgenie,
            {"operation": "add_note", "identifier": target["id"], "note": "Looking at {{ $json.x }}"},
            [{"x": "db"}],
        )
    )
    (closed,) = outputs(
        alert(opsgenie, {"operation": "close", "identifier": target["id"], "note": "Fixed", "source": "runbook"})
    )

    assert (acknowledged["action"], acknowledged["alertId"]) == ("Acknowledge", target["id"])
    assert (noted["action"], closed["action"]) == ("AddNote", "Close")
    assert target["acknowledged"] is True and target["status"] == "closed"
    assert [note["note"] for note in opsgenie.notes[target["id"]]] == ["Looking at db", "Fixed"]
    close = opsgenie.received("POST", f"/v2/alerts/{target['id']}/close")[0]
    assert close.body == {"source": "runbook", "note": "Fixed"} and close.query == {"identifierType": "id"}
    assert opsgenie.received("POST", "/v2/alerts/page-1/acknowledge")[0].body == {"user": "Ada"}


def test_delete_sends_its_author_as_query_parameters(opsgenie: FakeOpsgenie) -> None:
    target = opsgenie.add_alert("Old")

    (deleted,) = outputs(alert(opsgenie, {"operation": "delete", "identifier": target["id"], "user": "Ada"}))

    assert (deleted["action"], deleted["isSuccess"], deleted["alertId"]) == ("Delete", True, target["id"])
    assert opsgenie.alerts == []
    request = opsgenie.received("DELETE")[0]
    assert request.query == {"identifierType": "id", "user": "Ada"} and request.body is None


def test_an_action_on_a_missing_alert_fails_when_opsgenie_processes_it(opsgenie: FakeOpsgenie) -> None:
    error = failure(alert(opsgenie, {"operation": "close", "identifier": "gone-alias", "identifier_type": "alias"}))

    assert error["message"].startswith(
        "item 0: Opsgenie could not finish closing alert alias gone-alias: Alert does not exist (request "
    )
    assert "Check the identifier and its type" in error["description"]


def test_get_of_a_missing_alert_names_the_item(opsgenie: FakeOpsgenie) -> None:
    known = opsgenie.add_alert("Known")

    error = failure(
        alert(opsgenie, {"operation": "get", "identifier": "{{ $json.id }}"}, [{"id": known["id"]}, {"id": "nope"}])
    )

    assert error["message"] == "item 1: Opsgenie refused getting alert nope (404): Alert does not exist"
    assert error["item_index"] == 1


def test_a_wrong_key_says_so_without_showing_it(opsgenie: FakeOpsgenie) -> None:
    refused = failure(alert(opsgenie, {"operation": "get_many", "limit": 5}, api_key="wrong-key-0000"))

    assert refused["message"] == (
        "item 0: Opsgenie did not accept the credential's API key while listing alerts (401): Could not authenticate"
    )
    assert "pick the account's region" in refused["description"]
    assert "wrong-key-0000" not in json.dumps(refused)


def test_a_validation_error_lists_opsgenies_field_errors(opsgenie: FakeOpsgenie) -> None:
    error = failure(alert(opsgenie, {"message": "x", "responders": "team:Ops, team:Nobody"}))

    assert error["message"] == (
        "item 0: Opsgenie refused creating an alert (422): Request body is not processable. Please check the "
        "errors. (responders: Team with name [Nobody] does not exist.)"
    )
    assert error["description"] == "Change what Opsgenie named above, then retry."
    assert opsgenie.alerts == []


def test_the_rate_limit_is_explained(opsgenie: FakeOpsgenie) -> None:
    opsgenie.rate_limited = 1

    error = failure(alert(opsgenie, {"message": "x"}))

    assert error["message"] == (
        "item 0: Opsgenie's rate limit stopped creating an alert (429): You are making too many requests! "
        "To avoid errors, we recommend you limit requests."
    )
    assert "Wait a minute" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(opsgenie: FakeOpsgenie) -> None:
    (entry,) = outputs(alert(opsgenie, {"operation": "get", "identifier": "nope"}, on_error="continue"))

    assert entry["error"] == "item 0: Opsgenie refused getting alert nope (404): Alert does not exist"


def test_parameters_are_checked_before_calling_opsgenie(opsgenie: FakeOpsgenie) -> None:
    no_message = failure(alert(opsgenie, {"message": " "}))
    long_message = failure(alert(opsgenie, {"message": "x" * 131}))
    bad_responder = failure(alert(opsgenie, {"message": "x", "responders": "team"}))
    user_by_name = failure(alert(opsgenie, {"message": "x", "responders": [{"type": "user", "name": "Ada"}]}))
    no_identifier = failure(alert(opsgenie, {"operation": "close"}))

    assert "create needs a message" in no_message["message"]
    assert "longer than 130 characters" in long_message["message"]
    assert "write a responder as type:name" in bad_responder["message"]
    assert "a user responder is given by id or username" in user_by_name["message"]
    assert "close needs the alert's identifier" in no_identifier["message"]
    assert opsgenie.received() == []


def test_the_credential_picks_the_region_and_tests_the_key(opsgenie: FakeOpsgenie) -> None:
    assert OpsgenieApiFields(api_key="k").api_url == "https://api.opsgenie.com"
    assert OpsgenieApiFields(api_key="k", region="eu").api_url == "https://api.eu.opsgenie.com"
    assert OpsgenieApiCredential.test_connection(opsgenie.credential()) == (
        f"Connected to {opsgenie.url}; the key can read alerts"
    )

    with pytest.raises(NodeError) as refused:
        OpsgenieApiCredential.test_connection(opsgenie.credential("revoked"))
    with pytest.raises(NodeError) as no_url:
        OpsgenieApiCredential.parse({"api_key": "k", "region": "custom"})

    assert "did not accept the credential's API key" in refused.value.message
    assert "a custom region needs the API URL" in no_url.value.message
    assert opsgenie.received("GET", "/v2/alerts")[0].query == {"limit": "1"}
