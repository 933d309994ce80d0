"""AWS SQS (aws.sqs) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node


def sqs(aws: Aws, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    return run_node("aws.sqs", parameters, items, credential_type="aws", host=host_for(aws.credential))


def test_send_receive_and_delete_by_queue_name(aws: Aws) -> None:
    url = aws.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    send = {
        "queue": "orders",
        "message": {"order": "{{ $json.id }}", "total": "{{ $json.total }}"},
        "attributes": [{"name": "source", "value": "studio"}],
    }

    sent = outputs(sqs(aws, send, [{"id": 1, "total": 9.5}, {"id": 2, "total": 3}]))
    received = outputs(sqs(aws, {"operation": "receive", "queue": url, "max_messages": 5}))

    assert [entry["queue_url"] for entry in sent] == [url, url]
    assert sorted(entry["message_id"] for entry in received) == sorted(entry["message_id"] for entry in sent)
    assert sorted(entry["body"]["order"] for entry in received) == [1, 2]
    assert received[0]["attributes"] == {"source": "studio"}

    deleted = outputs(
        sqs(aws, {"operation": "delete", "queue": url, "receipt_handle": "{{ $json.receipt_handle }}"}, received)
    )
    assert deleted == [{"queue_url": url, "deleted": True}] * 2
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_receive_gathers_more_than_ten_over_several_calls_and_keeps_text_bodies(aws: Aws) -> None:
    client = aws.client("sqs")
    url = client.create_queue(QueueName="events")["QueueUrl"]
    for number in range(13):
        client.send_message(QueueUrl=url, MessageBody=f"event {number}")

    received = outputs(sqs(aws, {"operation": "receive", "queue": url, "max_messages": 12}))

    assert len(received) == 12
    assert all(entry["body"].startswith("event ") for entry in received)


def test_an_empty_queue_gives_no_items(aws: Aws) -> None:
    url = aws.client("sqs").create_queue(QueueName="quiet")["QueueUrl"]

    assert outputs(sqs(aws, {"operation": "receive", "queue": url})) == []


def test_an_unknown_queue_name_fails_with_the_item(aws: Aws) -> None:
    error = failure(sqs(aws, {"queue": "missing", "message": "hi"}))

    assert error["message"].startswith("item 0: AWS refused finding queue 'missing': ")
    assert "NonExistentQueue" in error["message"] or "QueueDoesNotExist" in error["message"]
    assert "Check the name" in error["description"]
