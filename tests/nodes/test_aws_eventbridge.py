"""AWS EventBridge (aws.eventbridge) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventsBackend

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node


def events(aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    return run_node(
        "aws.eventbridge", parameters, items, credential_type="aws", host=host_for(aws.credential), **settings
    )


def bus_into_queue(aws: Aws, bus: str) -> str:
    """An event bus whose rule forwards every com.acme event to a new SQS queue; returns the queue's URL."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=f"{bus}-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client = aws.client("events")
    if bus != "default":
        client.create_event_bus(Name=bus)
    client.put_rule(Name="all-acme", EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "com.acme"}]}))
    client.put_targets(Rule="all-acme", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def delivered(aws: Aws, url: str) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found.extend(json.loads(message["Body"]) for message in messages)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        )
    return found


def test_put_events_sends_each_item_with_source_detail_type_detail_and_resources(aws: Aws) -> None:
    url = bus_into_queue(aws, "orders")
    parameters = {
        "event_bus": "orders",
        "source": "com.acme.{{ $json.app }}",
        "detail_type": "Order Placed",
        "detail": {"order": "{{ $json.id }}", "total": "{{ $json.total }}"},
        "resources": ["arn:aws:s3:::acme-orders"],
        "time": "2026-01-02T03:04:05",
    }

    sent = outputs(
        events(aws, parameters, [{"app": "shop", "id": 7, "total": 9.5}, {"app": "pos", "id": 8, "total": 1}])
    )

    assert [entry["event_bus"] for entry in sent] == ["orders", "orders"]
    received = sorted(delivered(aws, url), key=lambda event: event["detail"]["order"])
    assert [event["id"] for event in received] == [entry["event_id"] for entry in sent]
    assert [event["source"] for event in received] == ["com.acme.shop", "com.acme.pos"]
    assert received[0]["detail"] == {"order": 7, "total": 9.5} and received[0]["detail-type"] == "Order Placed"
    assert received[0]["resources"] == ["arn:aws:s3:::acme-orders"]
    assert received[0]["time"].startswith("2026-01-02T03:04:05")


def test_put_events_sends_ten_per_call_to_the_default_bus(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    url = bus_into_queue(aws, "default")
    calls: list[int] = []
    original = EventsBackend.put_events

    def counting(self: EventsBackend, entries: list[dict[str, Any]]) -> Any:
        calls.append(len(entries))
        return original(self, entries)

    monkeypatch.setattr(EventsBackend, "put_events", counting)
    parameters = {"source": "com.acme.batch", "detail_type": "Tick", "detail": '{"n": {{ $json.n }}}'}

    sent = outputs(events(aws, parameters, [{"n": number} for number in range(23)]))

    assert calls == [10, 10, 3] and len(sent) == 23
    assert sorted(event["detail"]["n"] for event in delivered(aws, url)) == list(range(23))


def test_rejected_entries_fail_the_node_naming_the_items(aws: Aws) -> None:
    url = bus_into_queue(aws, "default")
    parameters = {"source": "com.acme.shop", "detail_type": "Order Placed", "detail": "{{ $json.detail }}"}
    items = [{"detail": '{"ok": 1}'}, {"detail": "not json"}, {"detail": '{"ok": 3}'}]

    error = failure(events(aws, parameters, items))

    assert error["message"] == (
        "item 1: AWS rejected item 1 while putting events: MalformedDetail (Detail is malformed.); "
        "2 other(s) were accepted"
    )
    assert error["item_index"] == 1 and "JSON object" in error["description"]
    assert sorted(event["detail"]["ok"] for event in delivered(aws, url)) == [1, 3]


def test_rejected_entries_can_come_out_as_items(aws: Aws) -> None:
    parameters = {"source": "{{ $json.source }}", "detail_type": "Ping", "fail_on_rejected": False}

    sent = outputs(events(aws, parameters, [{"source": "com.acme.a"}, {"source": ""}]))

    assert sent[0]["event_id"] and "rejected" not in sent[0]
    assert sent[1]["rejected"] is True and sent[1]["error_code"] == "InvalidArgument"
    assert "Source" in sent[1]["error_message"]


def test_list_rules_of_a_bus_with_a_prefix_pages_and_limit(aws: Aws) -> None:
    client = aws.client("events")
    client.create_event_bus(Name="orders")
    for number in range(5):
        client.put_rule(
            Name=f"order-rule-{number}",
            EventBusName="orders",
            EventPattern=json.dumps({"source": ["com.acme"]}),
            Description=f"Rule {number}",
        )
    client.put_rule(Name="other", EventBusName="orders", EventPattern=json.dumps({"source": ["x"]}), State="DISABLED")

    everything = outputs(events(aws, {"operation": "list_rules", "event_bus": "orders", "return_all": True}))
    prefixed = outputs(
        events(aws, {"operation": "list_rules", "event_bus": "orders", "name_prefix": "order-", "limit": 3})
    )

    assert sorted(rule["name"] for rule in everything) == [
        "order-rule-0",
        "order-rule-1",
        "order-rule-2",
        "order-rule-3",
        "order-rule-4",
        "other",
    ]
    assert {rule["name"]: rule["state"] for rule in everything}["other"] == "DISABLED"
    assert len(prefixed) == 3 and all(rule["name"].startswith("order-") for rule in prefixed)
    assert prefixed[0]["event_bus"] == "orders" and prefixed[0]["description"].startswith("Rule ")


def test_a_missing_bus_names_the_item_and_continue_on_fail(aws: Aws) -> None:
    error = failure(events(aws, {"operation": "list_rules", "event_bus": "{{ $json.bus }}"}, [{"bus": "nope"}]))
    (entry,) = outputs(events(aws, {"event_bus": "nope", "source": "s", "detail_type": "t"}, on_error="continue"))

    assert error["message"].startswith("item 0: AWS refused listing the rules of event bus 'nope': ResourceNotFound")
    assert "event bus's name or ARN" in error["description"]
    assert entry["error"].startswith("item 0: AWS refused putting events: ResourceNotFoundException")


def test_an_oversized_event_is_refused_before_sending(aws: Aws) -> None:
    url = bus_into_queue(aws, "default")
    parameters = {"source": "com.acme.big", "detail_type": "Big", "detail": {"blob": "{{ $json.blob }}"}}

    error = failure(events(aws, parameters, [{"blob": "small"}, {"blob": "x" * 300_000}]))

    assert error["message"] == "item 1: its event is larger than the 256 KB EventBridge takes"
    assert delivered(aws, url) == []
