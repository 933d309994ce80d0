"""RabbitMQ Message: publish each item to a queue or an exchange, or get messages from a queue.

Publishing waits for the broker's confirmation (publisher confirms), so an item succeeds only once RabbitMQ
has taken the message; with 'Fail when no queue receives it' a message no queue is bound for fails the item
instead of vanishing. Messages got from a queue are acknowledged (or requeued) only after every item is done:
if the node fails, the broker puts them back when the connection closes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pydantic import model_validator

from nodes.files._common import MISSING, get_field
from nodes.rabbitmq.credentials import (
    DEFAULT_TIMEOUT_SECONDS,
    RabbitmqCredential,
    close_quietly,
    connect,
    describe,
)
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

Operation = Literal["publish_to_queue", "publish_to_exchange", "get"]
PUBLISHES = ("publish_to_queue", "publish_to_exchange")
MAX_MESSAGES = 1000
"""The most messages one item may take from a queue, so a full queue cannot flood the run."""

CHANNEL_HINTS = {
    403: "The credential's user lacks the permission for this in the virtual host: grant it in RabbitMQ.",
    404: "Create it first (or turn on 'Create the queue if missing'), and check the name and virtual host.",
    406: "It exists with other settings (durable, arguments...): use its settings, or another name.",
}


class RabbitmqMessageParameters(Parameters):
    operation: Operation = param(
        "publish_to_queue",
        title="Operation",
        description="publish_to_queue: each item becomes a message on a queue; publish_to_exchange: each item "
        "becomes a message routed by an exchange; get: read messages from a queue, one item each.",
        no_expressions=True,
    )
    queue: str = param("", title="Queue", placeholder="orders", show_if={"operation": ["publish_to_queue", "get"]})
    exchange: str = param("", title="Exchange", placeholder="events", show_if={"operation": ["publish_to_exchange"]})
    routing_key: str = param(
        "",
        title="Routing key",
        description="How the exchange picks the queues; fanout exchanges ignore it.",
        placeholder="order.{{ $json.status }}",
        show_if={"operation": ["publish_to_exchange"]},
    )
    body_from: Literal["json", "field", "text"] = param(
        "json",
        title="Body",
        description="json: the whole item as JSON; field: one field of the item (text as is, anything else as "
        "JSON); text: the text below.",
        show_if={"operation": PUBLISHES},
        no_expressions=True,
    )
    body_field: str = param(
        "",
        title="Field",
        description="Dots reach nested fields.",
        placeholder="order.payload",
        show_if={"operation": PUBLISHES, "body_from": ["field"]},
    )
    body_text: str = param("", title="Text", widget="textarea", show_if={"operation": PUBLISHES, "body_from": ["text"]})
    content_type: str = param(
        "",
        title="Content type",
        description="Empty: application/json for JSON bodies, text/plain for text.",
        show_if={"operation": PUBLISHES},
        advanced=True,
    )
    headers: dict[str, Any] = param(
        default_factory=dict,
        title="Headers",
        description='Message headers, e.g. {"source": "hitl", "attempt": 1}.',
        widget="json",
        show_if={"operation": PUBLISHES},
    )
    persistent: bool = param(
        True,
        title="Persistent",
        description="Durable queues keep persistent messages across a broker restart.",
        show_if={"operation": PUBLISHES},
    )
    mandatory: bool = param(
        True,
        title="Fail when no queue receives it",
        description="Otherwise RabbitMQ drops a message that no queue is bound for, and the item still succeeds.",
        show_if={"operation": PUBLISHES},
        advanced=True,
    )
    declare_queue: bool = param(
        False,
        title="Create the queue if missing",
        description="Declare it as a durable queue first; an existing queue is left as it is.",
        show_if={"operation": ["publish_to_queue"]},
    )
    max_messages: int = param(
        1,
        title="At most",
        description="Messages to take per item; fewer when the queue runs empty.",
        ge=1,
        le=MAX_MESSAGES,
        show_if={"operation": ["get"]},
    )
    after_reading: Literal["ack", "requeue"] = param(
        "ack",
        title="After reading",
        description="ack: remove the messages from the queue once the node is done; requeue: put them back "
        "(a peek; they are marked redelivered).",
        show_if={"operation": ["get"]},
        no_expressions=True,
    )
    parse_json: bool = param(
        True,
        title="Parse JSON bodies",
        description="A body that is JSON becomes an object; any other body stays text.",
        show_if={"operation": ["get"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> RabbitmqMessageParameters:
        if self.operation in ("publish_to_queue", "get") and not self.queue.strip():
            raise ValueError(f"{self.operation} needs a queue")
        if self.operation == "publish_to_exchange" and not self.exchange.strip():
            raise ValueError("publish_to_exchange needs an exchange (to reach a queue directly, use publish_to_queue)")
        if self.operation in PUBLISHES and self.body_from == "field" and not self.body_field:
            raise ValueError("a body from a field needs the field's name")
        return self


@dataclass
class _Settle:
    """Delivery tags to acknowledge or requeue once every item is done."""

    ack: list[int] = field(default_factory=list)
    requeue: list[int] = field(default_factory=list)


class RabbitmqMessageNode(Node):
    type = "rabbitmq.message"
    display_name = "RabbitMQ"
    category = Category.INTEGRATION
    description = "Publishes each item to a RabbitMQ queue or exchange, or gets messages from a queue."
    icon = "rabbit"
    Parameters = RabbitmqMessageParameters
    credentials = (CredentialRequirement("rabbitmq"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields = RabbitmqCredential.parse(ctx.credential("rabbitmq"))
        remaining = ctx.remaining_seconds()
        timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, DEFAULT_TIMEOUT_SECONDS), 1.0)
        connection = connect(fields, timeout)
        produced: list[Item] = []
        settle = _Settle()
        try:
            channel = _channel(connection)
            for index, item in enumerate(items):
                params: RabbitmqMessageParameters = ctx.params(index)
                try:
                    if params.operation == "get":
                        produced.extend(_get(channel, params, index, settle))
                    else:
                        produced.append(_publish(channel, params, item, index))
                except pika.exceptions.AMQPError as err:
                    raise _lost(err, f"item {index}: ", index) from err
            try:
                for tag in settle.ack:
                    channel.basic_ack(delivery_tag=tag)
                for tag in settle.requeue:
                    channel.basic_nack(delivery_tag=tag, requeue=True)
            except pika.exceptions.AMQPError as err:
                raise _lost(err, "settling the messages: ", None) from err
        finally:
            close_quietly(connection)
        return [produced]


def _channel(connection: pika.BlockingConnection) -> BlockingChannel:
    """A channel with publisher confirms on: each publish returns once the broker has the message."""
    try:
        channel = connection.channel()
        channel.confirm_delivery()
    except pika.exceptions.AMQPError as err:
        raise _lost(err, "", None) from err
    return channel


def _lost(err: pika.exceptions.AMQPError, prefix: str, index: int | None) -> NodeError:
    return NodeError(
        f"{prefix}RabbitMQ failed: {describe(err)}",
        description="Check the broker and retry; messages not yet acknowledged stay in their queue.",
        item_index=index,
    )


def _target(params: RabbitmqMessageParameters) -> tuple[str, str]:
    """The exchange and routing key: a queue is reached through the default exchange, by its name."""
    if params.operation == "publish_to_queue":
        return "", params.queue.strip()
    return params.exchange.strip(), params.routing_key


def _body(params: RabbitmqMessageParameters, item: Item, index: int) -> tuple[bytes, str]:
    """The message body and the content type it implies."""
    if params.body_from == "text":
        return params.body_text.encode(), "text/plain"
    value: Any = item.json
    if params.body_from == "field":
        value = get_field(item.json, params.body_field)
        if value is MISSING:
            raise NodeError(
                f"item {index} has no field {params.body_field!r} for the message body",
                description="Set the field earlier (Edit Fields), or pick another body.",
                item_index=index,
            )
        if isinstance(value, str):
            return value.encode(), "text/plain"
    return json.dumps(value, ensure_ascii=False).encode(), "application/json"


def _publish(channel: BlockingChannel, params: RabbitmqMessageParameters, item: Item, index: int) -> Item:
    exchange, routing_key = _target(params)
    where = f"queue {routing_key!r}" if params.operation == "publish_to_queue" else f"exchange {exchange!r}"
    body, implied_type = _body(params, item, index)
    content_type = params.content_type.strip() or implied_type
    properties = pika.BasicProperties(
        content_type=content_type,
        headers=params.headers or None,
        delivery_mode=pika.DeliveryMode.Persistent if params.persistent else pika.DeliveryMode.Transient,
    )
    try:
        if params.declare_queue and params.operation == "publish_to_queue":
            channel.queue_declare(routing_key, durable=True)
        channel.basic_publish(exchange, routing_key, body, properties, mandatory=params.mandatory)
    except pika.exceptions.UnroutableError as err:
        raise NodeError(
            f"item {index}: no queue received the message sent to {where}"
            + (f" with routing key {routing_key!r}" if params.operation == "publish_to_exchange" else ""),
            description="Check the names, create the queue or bind it to the exchange with a matching routing key, "
            "or turn off 'Fail when no queue receives it'.",
            item_index=index,
        ) from err
    except pika.exceptions.NackError as err:
        raise NodeError(
            f"item {index}: RabbitMQ refused the message sent to {where}",
            description="The queue may be full (a length limit that rejects new messages): retry later.",
            item_index=index,
        ) from err
    except pika.exceptions.ChannelClosedByBroker as err:
        raise _channel_error(err, f"publishing to {where}", index) from err
    return Item(
        {
            "exchange": exchange,
            "routing_key": routing_key,
            "size": len(body),
            "content_type": content_type,
            "persistent": params.persistent,
        },
        paired_item=index,
    )


def _get(channel: BlockingChannel, params: RabbitmqMessageParameters, index: int, settle: _Settle) -> list[Item]:
    queue = params.queue.strip()
    produced: list[Item] = []
    while len(produced) < params.max_messages:
        try:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
        except pika.exceptions.ChannelClosedByBroker as err:
            raise _channel_error(err, f"getting messages from queue {queue!r}", index) from err
        if method is None:
            break
        (settle.ack if params.after_reading == "ack" else settle.requeue).append(method.delivery_tag)
        produced.append(Item(_message(queue, method, properties, body, params.parse_json), paired_item=index))
    return produced


def _message(
    queue: str, method: Any, properties: pika.BasicProperties, body: bytes, parse_json: bool
) -> dict[str, Any]:
    message: dict[str, Any] = {"queue": queue}
    try:
        text = body.decode()
    except UnicodeDecodeError:
        message["body"] = base64.b64encode(body).decode("ascii")
        message["body_encoding"] = "base64"
    else:
        message["body"] = text
        if parse_json:
            with suppress(ValueError):
                message["body"] = json.loads(text)
    names = (
        "content_type",
        "content_encoding",
        "delivery_mode",
        "priority",
        "correlation_id",
        "reply_to",
        "expiration",
        "message_id",
        "timestamp",
        "type",
        "user_id",
        "app_id",
    )
    message.update(
        {
            "exchange": method.exchange,
            "routing_key": method.routing_key,
            "redelivered": bool(method.redelivered),
            "remaining": method.message_count,
            "headers": _plain(properties.headers or {}),
            "properties": {
                name: _plain(getattr(properties, name)) for name in names if getattr(properties, name, None) is not None
            },
        }
    )
    return message


def _plain(value: Any) -> Any:
    """An AMQP header or property value as JSON: bytes as text (base64 when binary), times as ISO 8601."""
    if isinstance(value, Mapping):
        return {str(key): _plain(entry) for key, entry in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(entry) for entry in value]
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _channel_error(err: pika.exceptions.ChannelClosedByBroker, action: str, index: int) -> NodeError:
    return NodeError(
        f"item {index}: RabbitMQ refused {action} ({err.reply_code}: {err.reply_text})",
        description=CHANNEL_HINTS.get(err.reply_code, "See RabbitMQ's message above."),
        item_index=index,
    )
