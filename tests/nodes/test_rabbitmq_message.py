"""RabbitMQ (rabbitmq.message) run through the engine against the real broker, on queues and exchanges of its own."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from hitl_studio.engine.runner import RunResult
from nodes.rabbitmq.credentials import RabbitmqCredential, RabbitmqFields
from nodes.sdk import NodeError
from tests.fakes.smtp_server import free_port
from tests.nodes.integrations import failure, host_for, outputs, run_node
from tests.servers import amqp_url_or_skip


class Broker:
    """The test broker: a credential for the node, a channel for setting up and checking, and names to clean up."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.credential: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5672,
            "vhost": unquote(parts.path.lstrip("/")) or "/",
            "user": parts.username or "guest",
            "password": parts.password or "guest",
        }
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel: BlockingChannel = self.connection.channel()
        self.prefix = f"hitl-test-{uuid.uuid4().hex[:12]}"
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def queue(self, name: str) -> str:
        full = f"{self.prefix}-{name}"
        self.channel.queue_declare(full)
        self.queues.append(full)
        return full

    def exchange(self, name: str, kind: str = "topic") -> str:
        full = f"{self.prefix}-{name}"
        self.channel.exchange_declare(full, exchange_type=kind)
        self.exchanges.append(full)
        return full

    def send(self, queue: str, body: bytes, **properties: Any) -> None:
        self.channel.basic_publish("", queue, body, pika.BasicProperties(**properties))

    def take(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        """Every message waiting on ``queue``, acknowledged."""
        taken = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                if taken:
                    break
                time.sleep(0.02)
                continue
            taken.append((properties, body))
        return taken

    def waiting(self, queue: str) -> int:
        return self.channel.queue_declare(queue, passive=True).method.message_count

    def run(self, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
        return run_node(
            "rabbitmq.message",
            parameters,
            items,
            credential_type="rabbitmq",
            host=host_for(self.credential),
            **settings,
        )

    def close(self) -> None:
        channel = self.connection.channel()
        for queue in self.queues:
            channel.queue_delete(queue)
        for exchange in self.exchanges:
            channel.exchange_delete(exchange)
        self.connection.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    test_broker = Broker(amqp_url_or_skip())
    try:
        yield test_broker
    finally:
        test_broker.close()


def test_publish_to_a_queue_sends_each_item_as_persistent_json(broker: Broker) -> None:
    queue = broker.queue("orders")
    parameters = {"operation": "publish_to_queue", "queue": queue, "headers": {"source": "{{ $json.source }}"}}

    sent = outputs(broker.run(parameters, [{"id": 1, "source": "shop"}, {"id": 2, "source": "für"}]))

    messages = broker.take(queue)
    assert [json.loads(body) for _, body in messages] == [{"id": 1, "source": "shop"}, {"id": 2, "source": "für"}]
    properties = messages[0][0]
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    assert [props.headers for props, _ in messages] == [{"source": "shop"}, {"source": "für"}]
    assert sent[0] == {
        "exchange": "",
        "routing_key": queue,
        "size": len(messages[0][1]),
        "content_type": "application/json",
        "persistent": True,
    }


def test_publish_a_field_or_a_text_body(broker: Broker) -> None:
    queue = broker.queue("bodies")

    outputs(broker.run({"queue": queue, "body_from": "field", "body_field": "order.note"}, [{"order": {"note": "hi"}}]))
    outputs(broker.run({"queue": queue, "body_from": "field", "body_field": "order"}, [{"order": {"note": "hi"}}]))
    outputs(
        broker.run(
            {
                "queue": queue,
                "body_from": "text",
                "body_text": "<b>{{ $json.name }}</b>",
                "content_type": "text/html",
                "persistent": False,
            },
            [{"name": "Ada"}],
        )
    )

    messages = broker.take(queue)
    assert [(props.content_type, body) for props, body in messages] == [
        ("text/plain", b"hi"),
        ("application/json", b'{"note": "hi"}'),
        ("text/html", b"<b>Ada</b>"),
    ]
    assert [props.delivery_mode for props, _ in messages] == [2, 2, 1]


def test_publish_to_an_exchange_routes_by_the_routing_key(broker: Broker) -> None:
    exchange = broker.exchange("events")
    paid = broker.queue("paid")
    broker.channel.queue_bind(paid, exchange, routing_key="order.paid")
    parameters = {"operation": "publish_to_exchange", "exchange": exchange, "routing_key": "order.{{ $json.status }}"}

    sent = outputs(broker.run(parameters, [{"id": 7, "status": "paid"}]))
    refused = failure(broker.run(parameters, [{"id": 8, "status": "paid"}, {"id": 9, "status": "lost"}]))
    dropped = outputs(broker.run({**parameters, "mandatory": False}, [{"id": 10, "status": "lost"}]))

    assert [json.loads(body)["id"] for _, body in broker.take(paid)] == [7, 8]
    assert sent[0]["exchange"] == exchange and sent[0]["routing_key"] == "order.paid"
    assert refused["item_index"] == 1
    assert refused["message"] == (
        f"item 1: no queue received the message sent to exchange {exchange!r} with routing key 'order.lost'"
    )
    assert "bind it to the exchange" in refused["description"]
    assert dropped[0]["routing_key"] == "order.lost"


def test_a_missing_queue_fails_unless_the_node_creates_it(broker: Broker) -> None:
    queue = f"{broker.prefix}-created"
    broker.queues.append(queue)

    refused = failure(broker.run({"queue": queue}, [{"n": 1}]))
    outputs(broker.run({"queue": queue, "declare_queue": True}, [{"n": 2}]))

    assert refused["message"] == f"item 0: no queue received the message sent to queue {queue!r}"
    declared = broker.channel.queue_declare(queue, durable=True, passive=True)
    assert declared.method.message_count == 1
    assert [json.loads(body) for _, body in broker.take(queue)] == [{"n": 2}]


def test_a_missing_exchange_is_named(broker: Broker) -> None:
    exchange = f"{broker.prefix}-nowhere"

    error = failure(broker.run({"operation": "publish_to_exchange", "exchange": exchange, "routing_key": "x"}))

    assert error["message"] == (
        f"item 0: RabbitMQ refused publishing to exchange {exchange!r} "
        f"(404: NOT_FOUND - no exchange {exchange!r} in vhost '/')"
    )
    assert error["description"].startswith("Create it first")


def test_get_reads_up_to_n_messages_and_acknowledges_them(broker: Broker) -> None:
    queue = broker.queue("inbox")
    broker.send(queue, b'{"id": 1}', content_type="application/json", headers={"tries": 2, "by": "shop"})
    broker.send(queue, b"plain text", message_id="m-2", priority=5)
    broker.send(queue, b"\xff\x00binary")

    got = outputs(broker.run({"operation": "get", "queue": queue, "max_messages": 2}))

    assert [message["body"] for message in got] == [{"id": 1}, "plain text"]
    assert got[0]["headers"] == {"tries": 2, "by": "shop"}
    assert got[0]["properties"] == {"content_type": "application/json"}
    assert got[1]["properties"] == {"message_id": "m-2", "priority": 5}
    assert [message["remaining"] for message in got] == [2, 1]
    assert got[0]["queue"] == queue and got[0]["exchange"] == "" and got[0]["routing_key"] == queue
    assert got[0]["redelivered"] is False
    assert broker.waiting(queue) == 1
    (rest,) = outputs(broker.run({"operation": "get", "queue": queue, "max_messages": 5, "parse_json": False}))
    assert rest["body"] == "/wBiaW5hcnk=" and rest["body_encoding"] == "base64"
    assert broker.waiting(queue) == 0


def test_get_can_requeue_what_it_read(broker: Broker) -> None:
    queue = broker.queue("peek")
    broker.send(queue, b'"first"')

    first = outputs(broker.run({"operation": "get", "queue": queue, "after_reading": "requeue"}))
    again = outputs(broker.run({"operation": "get", "queue": queue, "parse_json": False}))

    assert [(message["body"], message["redelivered"]) for message in first] == [("first", False)]
    assert [(message["body"], message["redelivered"]) for message in again] == [('"first"', True)]
    assert broker.waiting(queue) == 0


def test_each_item_gets_its_own_messages(broker: Broker) -> None:
    queue = broker.queue("work")
    for number in range(3):
        broker.send(queue, str(number).encode())

    result = broker.run({"operation": "get", "queue": queue, "max_messages": 2}, [{"worker": "a"}, {"worker": "b"}])

    assert [message["body"] for message in outputs(result)] == [0, 1, 2]
    assert [item.paired_item for item in result.last_outputs["Node"][0]] == [0, 0, 1]


def test_an_empty_queue_gives_no_items(broker: Broker) -> None:
    queue = broker.queue("empty")

    assert outputs(broker.run({"operation": "get", "queue": queue, "max_messages": 3})) == []


def test_a_failing_node_leaves_the_messages_it_read_in_the_queue(broker: Broker) -> None:
    queue = broker.queue("kept")
    broker.send(queue, b"1")
    parameters = {"operation": "get", "queue": "{{ $json.queue }}"}

    error = failure(broker.run(parameters, [{"queue": queue}, {"queue": f"{broker.prefix}-missing"}]))

    assert error["item_index"] == 1
    assert error["message"].startswith(
        f"item 1: RabbitMQ refused getting messages from queue '{broker.prefix}-missing'"
    )
    assert "404: NOT_FOUND - no queue" in error["message"]
    assert broker.waiting(queue) == 1


def test_a_missing_body_field_names_the_item(broker: Broker) -> None:
    queue = broker.queue("fields")

    error = failure(broker.run({"queue": queue, "body_from": "field", "body_field": "note"}, [{"note": "a"}, {}]))

    assert error["item_index"] == 1
    assert error["message"] == "item 1 has no field 'note' for the message body"
    assert [body for _, body in broker.take(queue)] == [b"a"]


def test_continue_on_fail_turns_the_error_into_an_item(broker: Broker) -> None:
    (entry,) = outputs(broker.run({"queue": f"{broker.prefix}-absent"}, [{}], on_error="continue"))

    assert entry["error"] == f"item 0: no queue received the message sent to queue '{broker.prefix}-absent'"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_connecting(broker: Broker) -> None:
    no_queue = failure(broker.run({"operation": "get"}))
    no_exchange = failure(broker.run({"operation": "publish_to_exchange"}))
    no_field = failure(broker.run({"queue": "q", "body_from": "field"}))

    assert "get needs a queue" in no_queue["message"]
    assert "publish_to_exchange needs an exchange" in no_exchange["message"]
    assert "a body from a field needs the field's name" in no_field["message"]


def test_a_wrong_password_is_reported_as_a_refused_login(broker: Broker) -> None:
    result = run_node(
        "rabbitmq.message",
        {"queue": "q"},
        credential_type="rabbitmq",
        host=host_for({**broker.credential, "password": "wrong"}),
    )

    error = failure(result)
    assert error["message"].startswith("RabbitMQ at 127.0.0.1:5672 (virtual host /) refused the login: ")
    assert "ACCESS_REFUSED" in error["message"]
    assert error["description"] == "Check the credential's user and password."


def test_connection_test_opens_a_channel(broker: Broker) -> None:
    fields = RabbitmqFields.model_validate(broker.credential)

    assert RabbitmqCredential.test_connection(fields) == "Connected to 127.0.0.1:5672 (virtual host /)"


def test_connection_test_names_what_failed(broker: Broker) -> None:
    vhost = RabbitmqFields.model_validate({**broker.credential, "vhost": f"{broker.prefix}-nope"})
    closed = RabbitmqFields.model_validate({**broker.credential, "port": free_port()})

    with pytest.raises(
        NodeError, match=r"refused the virtual host: .*NOT_ALLOWED - vhost hitl-test-\w+-nope not found"
    ):
        RabbitmqCredential.test_connection(vhost)
    with pytest.raises(NodeError, match=r"cannot connect to RabbitMQ at 127\.0\.0\.1:\d+ .*Connection refused"):
        RabbitmqCredential.test_connection(closed)


def test_tls_against_a_plain_port_fails_cleanly(broker: Broker) -> None:
    fields = RabbitmqFields.model_validate({**broker.credential, "tls": True})

    with pytest.raises(NodeError, match=r"cannot connect to RabbitMQ at 127\.0\.0\.1:5672 .*WRONG_VERSION_NUMBER"):
        RabbitmqCredential.test_connection(fields)
