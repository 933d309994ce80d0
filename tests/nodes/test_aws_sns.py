"""AWS SNS (aws.sns) through the engine against moto in server mode on 127.0.0.1, delivered to an SQS queue."""

from __future__ import annotations

import json
from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node


def sns(aws: Aws, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    return run_node("aws.sns", parameters, items, credential_type="aws", host=host_for(aws.credential))


def test_publish_reaches_the_topics_subscribers(aws: Aws) -> None:
    topic = aws.client("sns").create_topic(Name="alerts")["TopicArn"]
    queue = aws.client("sqs").create_queue(QueueName="alert-inbox")["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["QueueArn"])

    (published,) = outputs(
        sns(
            aws,
            {
                "topic_arn": topic,
                "subject": "Disk {{ $json.disk }}",
                "message": "{{ $json.disk }} is {{ $json.used }}% full",
                "attributes": [{"name": "severity", "value": "high"}],
            },
            [{"disk": "/data", "used": 93}],
        )
    )

    assert published["topic_arn"] == topic and published["message_id"]
    (delivered,) = aws.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    envelope = json.loads(delivered["Body"])
    assert envelope["Message"] == "/data is 93% full"
    assert envelope["Subject"] == "Disk /data"
    assert envelope["MessageAttributes"]["severity"]["Value"] == "high"
    assert envelope["MessageId"] == published["message_id"]


def test_publishing_to_a_missing_topic_names_the_item(aws: Aws) -> None:
    missing = f"arn:aws:sns:{aws.region}:123456789012:gone"

    error = failure(sns(aws, {"topic_arn": missing, "message": "hi"}, [{}]))

    assert error["message"].startswith("item 0: AWS refused publishing to gone: NotFound")


def test_a_phone_number_must_be_international(aws: Aws) -> None:
    error = failure(sns(aws, {"target": "phone", "phone_number": "0151 123", "message": "hi"}))

    assert "international form" in error["message"]
