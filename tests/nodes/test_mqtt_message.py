"""MQTT (mqtt.message) run through the engine against the real Mosquitto broker, on topics of its own."""

from __future__ import annotations

import json
import queue
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from hitl_studio.engine.runner import RunResult
from nodes.mqtt.credentials import MqttCredential, MqttFields, connect
from nodes.sdk import NodeError
from tests.fakes.smtp_server import free_port
from tests.nodes.integrations import failure, host_for, outputs, run_node
from tests.servers import mqtt_or_skip


class Subscriber:
    """A plain paho client subscribed to every topic under ``prefix``, collecting what arrives."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hitl-test-sub-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _client, _userdata, message: self.received.put(message)
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.on_connect = lambda client, *_args: client.subscribe(f"{prefix}/#", qos=2)
        self.client.connect(host, port)
        self.client.loop_start()
        assert subscribed.wait(5), "the test subscriber could not subscribe"

    def messages(self, count: int) -> list[mqtt.MQTTMessage]:
        return [self.received.get(timeout=5) for _ in range(count)]

    def nothing_more(self) -> bool:
        try:
            self.received.get(timeout=0.3)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Broker:
    """The test broker, a topic prefix of this test's own, and the retained messages to clear afterwards."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.credential: dict[str, Any] = {"host": host, "port": port, "client_id_prefix": "hitl-test"}
        self.prefix = f"hitl-test/{uuid.uuid4().hex[:12]}"
        self.retained: list[str] = []

    def subscribe(self) -> Subscriber:
        return Subscriber(self.host, self.port, self.prefix)

    def run(
        self,
        parameters: dict[str, Any],
        items: list[dict[str, Any]] | None = None,
        credential: dict[str, Any] | None = None,
        **settings: Any,
    ) -> RunResult:
        return run_node(
            "mqtt.message",
            parameters,
            items,
            credential_type="mqtt",
            host=host_for(credential or self.credential),
            **settings,
        )

    def clear_retained(self) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hitl-test-clean-{uuid.uuid4().hex[:8]}")
        client.connect(self.host, self.port)
        client.loop_start()
        for topic in self.retained:
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def broker() -> Iterator[Broker]:
    test_broker = Broker(*mqtt_or_skip())
    try:
        yield test_broker
    finally:
        test_broker.clear_retained()


def test_publish_sends_each_item_as_json_and_waits_for_the_acknowledgement(broker: Broker) -> None:
    subscriber = broker.subscribe()
    try:
        parameters = {"topic": broker.prefix + "/rooms/{{ $json.room }}", "qos": 1}
        result = broker.run(parameters, [{"room": "kitchen", "c": 21.5}, {"room": "hall", "c": 19}])
        received = subscriber.messages(2)
    finally:
        subscriber.close()

    sent = outputs(result)
    assert [(message.topic, json.loads(message.payload)) for message in received] == [
        (broker.prefix + "/rooms/kitchen", {"room": "kitchen", "c": 21.5}),
        (broker.prefix + "/rooms/hall", {"room": "hall", "c": 19}),
    ]
    assert [message.qos for message in received] == [1, 1]
    assert [entry["topic"] for entry in sent] == [broker.prefix + "/rooms/kitchen", broker.prefix + "/rooms/hall"]
    assert sent[0]["qos"] == 1 and sent[0]["retain"] is False
    assert sent[0]["size"] == len(received[0].payload)
    assert isinstance(sent[0]["message_id"], int) and sent[0]["message_id"] != sent[1]["message_id"]
    assert [item.paired_item for item in result.last_outputs["Node"][0]] == [0, 1]


def test_publish_a_field_or_a_text_at_every_qos(broker: Broker) -> None:
    subscriber = broker.subscribe()
    try:
        field = {"topic": broker.prefix + "/a", "qos": 2, "payload_from": "field", "payload_field": "reading.value"}
        outputs(broker.run(field, [{"reading": {"value": "21.5 °C"}}, {"reading": {"value": {"c": 21}}}]))
        text = {"topic": broker.prefix + "/b", "qos": 0, "payload_from": "text", "payload_text": "hi {{ $json.n }}"}
        outputs(broker.run(text, [{"n": 1}]))
        received = subscriber.messages(3)
    finally:
        subscriber.close()

    # A QoS 2 delivery finishes its handshake after a QoS 0 one sent later: compare without order.
    assert sorted((message.topic, message.payload, message.qos) for message in received) == [
        (broker.prefix + "/a", "21.5 °C".encode(), 2),
        (broker.prefix + "/a", b'{"c": 21}', 2),
        (broker.prefix + "/b", b"hi 1", 0),
    ]


def test_a_retained_message_reaches_later_subscribers_until_cleared(broker: Broker) -> None:
    topic = broker.prefix + "/status"
    broker.retained.append(topic)

    outputs(broker.run({"topic": topic, "qos": 1, "retain": True}, [{"online": True}]))
    later = broker.subscribe()
    try:
        (retained,) = later.messages(1)
    finally:
        later.close()
    outputs(broker.run({"topic": topic, "qos": 1, "retain": True, "payload_from": "text"}, [{}]))
    after_clearing = broker.subscribe()
    try:
        cleared = after_clearing.nothing_more()
    finally:
        after_clearing.close()

    assert (retained.topic, json.loads(retained.payload), retained.retain) == (topic, {"online": True}, True)
    assert cleared


def test_mqtt_5_publishes_too(broker: Broker) -> None:
    subscriber = broker.subscribe()
    try:
        (sent,) = outputs(
            broker.run({"topic": broker.prefix + "/v5", "qos": 2}, [{"v": 5}], {**broker.credential, "protocol": "5"})
        )
        (message,) = subscriber.messages(1)
    finally:
        subscriber.close()

    assert json.loads(message.payload) == {"v": 5}
    assert sent["qos"] == 2


def test_a_wildcard_topic_is_refused_naming_the_item(broker: Broker) -> None:
    subscriber = broker.subscribe()
    try:
        error = failure(broker.run({"topic": broker.prefix + "/{{ $json.room }}"}, [{"room": "a"}, {"room": "+"}]))
        (delivered,) = subscriber.messages(1)
        nothing_else = subscriber.nothing_more()
    finally:
        subscriber.close()

    assert error["item_index"] == 1
    assert error[
        "message"
    ] == f"parameter 'topic', item 1: Value error, '{broker.prefix}/+' has a wildcard (+ or #); " + (
        "publish to one topic"
    )
    assert delivered.topic == broker.prefix + "/a" and nothing_else


def test_a_missing_payload_field_names_the_item_and_can_continue(broker: Broker) -> None:
    parameters = {"topic": broker.prefix + "/x", "payload_from": "field", "payload_field": "value"}

    error = failure(broker.run(parameters, [{"value": 1}, {"other": 2}]))
    (entry,) = outputs(broker.run(parameters, [{"other": 2}], on_error="continue"))

    assert error["item_index"] == 1
    assert error["message"] == "item 1 has no field 'value' for the payload"
    assert entry["error"] == "item 0 has no field 'value' for the payload"


def test_parameters_are_checked_before_connecting(broker: Broker) -> None:
    no_field = failure(broker.run({"topic": "a", "payload_from": "field"}))
    empty = failure(broker.run({"topic": ""}))

    assert "a payload from a field needs the field's name" in no_field["message"]
    assert "the topic is empty" in empty["message"]


def test_connection_test_connects(broker: Broker) -> None:
    fields = MqttFields.model_validate(broker.credential)
    version5 = MqttFields.model_validate({**broker.credential, "protocol": "5"})

    assert MqttCredential.test_connection(fields) == f"Connected to {broker.host}:{broker.port} (MQTT 3.1.1)"
    assert MqttCredential.test_connection(version5) == f"Connected to {broker.host}:{broker.port} (MQTT 5)"


def test_connection_test_names_what_failed(broker: Broker) -> None:
    closed = MqttFields.model_validate({**broker.credential, "port": free_port()})
    tls = MqttFields.model_validate({**broker.credential, "tls": True})

    with pytest.raises(NodeError, match=r"cannot connect to the MQTT broker at 127\.0\.0\.1:\d+: .*Connection refused"):
        MqttCredential.test_connection(closed)
    with pytest.raises(NodeError, match=r"cannot connect to the MQTT broker at 127\.0\.0\.1:\d+: .*(SSL|reset)"):
        MqttCredential.test_connection(tls)


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        fields = MqttFields(host="127.0.0.1", port=silent.getsockname()[1])

        with pytest.raises(NodeError, match=r"did not answer the connection within 0\.5 s"):
            connect(fields, 0.5)
