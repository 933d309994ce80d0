"""PagerDuty Event (pagerduty.event) and the pagerduty_events credential, through the engine against a fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.pagerduty_server import ROUTING_KEY, FakePagerDuty, fake_pagerduty_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

OTHER_KEY = "0THERKEYfake0123456789abcdef0123"


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with fake_pagerduty_server() as server:
        yield server


def event(
    pagerduty: FakePagerDuty,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    routing_key: str = ROUTING_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(pagerduty.events_credential(routing_key))
    return run_node("pagerduty.event", parameters, items, credential_type="pagerduty_events", host=host, **settings)


def test_trigger_sends_an_event_per_item_with_its_payload(pagerduty: FakePagerDuty) -> None:
    parameters = {
        "summary": "Disk {{ $json.disk }} is {{ $json.used }}% full",
        "source": "{{ $json.host }}",
        "severity": "warning",
        "dedup_key": "disk-{{ $json.host }}",
        "component": "storage",
        "custom_details": "{{ $json.details }}",
    }
    items = [
        {"disk": "/var", "used": 91, "host": "db-01", "details": {"free_gb": 3}},
        {"disk": "/", "used": 97, "host": "web-02", "details": {}},
    ]

    sent = outputs(event(pagerduty, parameters, items))

    assert sent == [
        {"status": "success", "message": "Event processed", "dedup_key": "disk-db-01", "event_action": "trigger"},
        {"status": "success", "message": "Event processed", "dedup_key": "disk-web-02", "event_action": "trigger"},
    ]
    first = pagerduty.received("POST", "/v2/enqueue")[0]
    assert first.body == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "disk-db-01",
        "payload": {
            "summary": "Disk /var is 91% full",
            "source": "db-01",
            "severity": "warning",
            "component": "storage",
            "custom_details": {"free_gb": 3},
        },
    }
    assert "authorization" not in first.headers
    assert pagerduty.alerts["disk-web-02"]["status"] == "triggered"


def test_trigger_without_a_dedup_key_outputs_the_one_pagerduty_made(pagerduty: FakePagerDuty) -> None:
    (sent,) = outputs(event(pagerduty, {"summary": "Deploy failed", "source": "ci", "severity": "critical"}))

    assert sent["dedup_key"] in pagerduty.alerts
    assert "dedup_key" not in pagerduty.received("POST", "/v2/enqueue")[0].body


def test_acknowledge_then_resolve_the_alert_with_its_dedup_key(pagerduty: FakePagerDuty) -> None:
    (triggered,) = outputs(event(pagerduty, {"summary": "CPU high", "source": "api-1"}))

    (acknowledged,) = outputs(
        event(pagerduty, {"event_action": "acknowledge", "dedup_key": "{{ $json.dedup_key }}"}, [triggered])
    )
    assert pagerduty.alerts[triggered["dedup_key"]]["status"] == "acknowledged"
    (resolved,) = outputs(event(pagerduty, {"event_action": "resolve", "dedup_key": triggered["dedup_key"]}))

    assert acknowledged["event_action"] == "acknowledge" and resolved["event_action"] == "resolve"
    assert pagerduty.alerts[triggered["dedup_key"]]["status"] == "resolved"
    assert pagerduty.received("POST", "/v2/enqueue")[-1].body == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": triggered["dedup_key"],
    }


def test_the_nodes_integration_key_wins_over_the_credentials(pagerduty: FakePagerDuty) -> None:
    outputs(event(pagerduty, {"summary": "x", "source": "y", "routing_key": OTHER_KEY, "dedup_key": "k"}))
    outputs(event(pagerduty, {"summary": "x", "source": "y", "dedup_key": "k2"}))

    assert pagerduty.alerts["k"]["routing_key"] == OTHER_KEY
    assert pagerduty.alerts["k2"]["routing_key"] == ROUTING_KEY


def test_no_integration_key_anywhere_is_explained(pagerduty: FakePagerDuty) -> None:
    error = failure(event(pagerduty, {"summary": "x", "source": "y"}, routing_key=""))

    assert error["message"] == "item 0: sending a trigger event needs an integration key"
    assert "Events API v2 integration key" in error["description"]
    assert pagerduty.received() == []


def test_an_invalid_event_carries_pagerdutys_errors_without_the_key(pagerduty: FakePagerDuty) -> None:
    error = failure(event(pagerduty, {"summary": "x", "source": "y"}, routing_key="short-key-123"))

    assert error["message"] == (
        "item 0: PagerDuty refused sending a trigger event (400): Event object is invalid: "
        "Length of 'routing_key' is incorrect (should be 32 characters)"
    )
    assert "32 characters" in error["description"]
    assert "short-key-123" not in json.dumps(error)


def test_throttling_is_explained(pagerduty: FakePagerDuty) -> None:
    pagerduty.rate_limited = 1

    error = failure(event(pagerduty, {"event_action": "resolve", "dedup_key": "k"}))

    assert error["message"] == (
        "item 0: PagerDuty is throttling events and refused sending a resolve event (429): "
        "Requests for this service are arriving too quickly. Please retry later."
    )
    assert "retry the node" in error["description"]


def test_continue_on_fail_and_parameter_checks(pagerduty: FakePagerDuty) -> None:
    (entry,) = outputs(event(pagerduty, {"summary": "x", "source": "y"}, routing_key="bad", on_error="continue"))
    no_key = failure(event(pagerduty, {"event_action": "acknowledge"}))
    no_source = failure(event(pagerduty, {"summary": "x"}))
    bad_details = failure(event(pagerduty, {"summary": "x", "source": "y", "custom_details": "[1, 2]"}))

    assert entry["error"].startswith("item 0: PagerDuty refused sending a trigger event (400)")
    assert "acknowledge needs the dedup key" in no_key["message"]
    assert "trigger needs a summary and a source" in no_source["message"]
    assert "the custom details must be a JSON object" in bad_details["message"]
    assert len(pagerduty.received()) == 1
