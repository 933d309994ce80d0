"""AWS SQS: send messages to a queue, receive them as items, delete them once handled."""

from __future__ import annotations

import contextlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from nodes.aws._convert import text_body
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

MAX_PER_RECEIVE = 10
"""SQS hands out at most ten messages per ReceiveMessage call."""


class MessageAttribute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Name", min_length=1, max_length=256)
    value: str = param(title="Value")


class SqsParameters(Parameters):
    operation: Literal["send", "receive", "delete"] = param(
        "send",
        title="Operation",
        description="send a message per item; receive: one item per message; delete a received message.",
        no_expressions=True,
    )
    queue: str = param(
        title="Queue",
        description="The queue's URL, or its name (looked up in the credential's region).",
        placeholder="https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
        min_length=1,
    )
    message: Any = param(
        "",
        title="Message",
        description="Text as is; objects and lists are sent as JSON.",
        widget="textarea",
        show_if={"operation": ["send"]},
    )
    attributes: list[MessageAttribute] = param(
        default_factory=list, title="Message attributes", show_if={"operation": ["send"]}, advanced=True
    )
    delay_seconds: int = param(0, title="Delay (seconds)", show_if={"operation": ["send"]}, advanced=True, ge=0, le=900)
    message_group_id: str = param(
        "", title="Message group id", description="FIFO queues only.", show_if={"operation": ["send"]}, advanced=True
    )
    deduplication_id: str = param(
        "",
        title="Deduplication id",
        description="FIFO queues without content-based deduplication.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    max_messages: int = param(
        10,
        title="At most",
        description="Messages to receive (several calls of ten when more).",
        show_if={"operation": ["receive"]},
        ge=1,
        le=1000,
    )
    wait_seconds: int = param(
        0,
        title="Wait for messages (seconds)",
        description="Long polling: wait this long when the queue is empty.",
        show_if={"operation": ["receive"]},
        ge=0,
        le=20,
    )
    visibility_timeout: int | None = param(
        None,
        title="Hide received messages for (seconds)",
        description="Empty: the queue's setting. Delete them before it ends, or others receive them again.",
        show_if={"operation": ["receive"]},
        advanced=True,
        ge=0,
        le=43_200,
    )
    parse_json: bool = param(
        True,
        title="Parse JSON bodies",
        description="A body that is JSON becomes 'body' as data; others stay text.",
        show_if={"operation": ["receive"]},
    )
    receipt_handle: str = param(
        "",
        title="Receipt handle",
        description="From the received message.",
        placeholder="{{ $json.receipt_handle }}",
        show_if={"operation": ["delete"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> SqsParameters:
        if self.operation == "delete" and not self.receipt_handle.strip():
            raise ValueError("delete needs the message's receipt handle")
        return self


class SqsNode(Node):
    type = "aws.sqs"
    display_name = "AWS SQS"
    category = Category.INTEGRATION
    description = "Sends messages to an SQS queue, receives them as items, or deletes handled ones."
    icon = "list-ordered"
    Parameters = SqsParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        # Long polls last up to 20 s on top of the usual answer time.
        client = aws_client(fields, "sqs", timeout + 20)
        urls: dict[str, str] = {}
        produced: list[Item] = []
        for index in range(len(items)):
            params: SqsParameters = ctx.params(index)
            queue = params.queue.strip()
            if queue not in urls:
                urls[queue] = _queue_url(client, fields, queue, index)
            produced.extend(_run(client, fields, params, urls[queue], index))
        return [produced]


def _queue_url(client: Any, fields: AwsFields, queue: str, index: int) -> str:
    if queue.startswith(("https://", "http://")):
        return queue
    answer = call(fields, f"finding queue {queue!r}", client.get_queue_url, item_index=index, QueueName=queue)
    return str(answer["QueueUrl"])


def _run(client: Any, fields: AwsFields, params: SqsParameters, url: str, index: int) -> list[Item]:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    match params.operation:
        case "send":
            options: dict[str, Any] = {}
            if params.attributes:
                options["MessageAttributes"] = {
                    attribute.name: {"DataType": "String", "StringValue": attribute.value}
                    for attribute in params.attributes
                }
            if params.delay_seconds:
                options["DelaySeconds"] = params.delay_seconds
            if params.message_group_id:
                options["MessageGroupId"] = params.message_group_id
            if params.deduplication_id:
                options["MessageDeduplicationId"] = params.deduplication_id
            answer = call(
                fields,
                f"sending to queue {name!r}",
                client.send_message,
                item_index=index,
                QueueUrl=url,
                MessageBody=text_body(params.message),
                **options,
            )
            sent = {"queue_url": url, "message_id": answer.get("MessageId"), "md5": answer.get("MD5OfMessageBody")}
            if answer.get("SequenceNumber"):
                sent["sequence_number"] = answer["SequenceNumber"]
            return [Item(sent, paired_item=index)]
        case "receive":
            return _receive(client, fields, params, url, name, index)
        case "delete":
            call(
                fields,
                f"deleting a message from queue {name!r}",
                client.delete_message,
                item_index=index,
                QueueUrl=url,
                ReceiptHandle=params.receipt_handle.strip(),
            )
            return [Item({"queue_url": url, "deleted": True}, paired_item=index)]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _receive(client: Any, fields: AwsFields, params: SqsParameters, url: str, name: str, index: int) -> list[Item]:
    received: list[Item] = []
    while len(received) < params.max_messages:
        options: dict[str, Any] = {}
        if params.visibility_timeout is not None:
            options["VisibilityTimeout"] = params.visibility_timeout
        answer = call(
            fields,
            f"receiving from queue {name!r}",
            client.receive_message,
            item_index=index,
            QueueUrl=url,
            MaxNumberOfMessages=min(MAX_PER_RECEIVE, params.max_messages - len(received)),
            WaitTimeSeconds=params.wait_seconds if not received else 0,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            **options,
        )
        messages = answer.get("Messages", [])
        for message in messages:
            body: Any = message.get("Body", "")
            if params.parse_json:
                with contextlib.suppress(ValueError):
                    body = json.loads(body)
            attributes = {
                key: value.get("StringValue", value.get("BinaryValue"))
                for key, value in (message.get("MessageAttributes") or {}).items()
            }
            data = {
                "queue_url": url,
                "message_id": message.get("MessageId"),
                "receipt_handle": message.get("ReceiptHandle"),
                "body": body,
                "attributes": attributes,
                "system_attributes": message.get("Attributes") or {},
            }
            received.append(Item(data, paired_item=index))
        if not messages:
            break
    return received
