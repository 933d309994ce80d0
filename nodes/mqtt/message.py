"""MQTT Message: publish each item to a topic, at QoS 0, 1 or 2, optionally retained.

An item succeeds once its message is delivered as far as its QoS promises: written to the broker at QoS 0,
acknowledged by the broker (PUBACK, or PUBCOMP after the QoS 2 handshake) at QoS 1 and 2. With MQTT 5 the
broker's refusal of a message (a reason code in its acknowledgement) fails the item with that reason.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import field_validator, model_validator

from nodes.files._common import MISSING, get_field
from nodes.mqtt.credentials import DEFAULT_TIMEOUT_SECONDS, MqttCredential, connect, disconnect
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

MAX_TOPIC_BYTES = 65_535
"""MQTT's limit: a topic is a length-prefixed UTF-8 string."""


class MqttMessageParameters(Parameters):
    topic: str = param(
        title="Topic",
        description="Where to publish; levels separated by /. Wildcards (+ and #) are for subscribing only.",
        placeholder="sensors/{{ $json.room }}/temperature",
    )
    qos: Literal[0, 1, 2] = param(
        0,
        title="QoS",
        description="0: at most once, no acknowledgement; 1: at least once; 2: exactly once. The node waits for "
        "the broker's acknowledgement at 1 and 2.",
    )
    retain: bool = param(
        False,
        title="Retain",
        description="The broker keeps the message and hands it to future subscribers of the topic; an empty "
        "retained message clears it.",
    )
    payload_from: Literal["json", "field", "text"] = param(
        "json",
        title="Payload",
        description="json: the whole item as JSON; field: one field of the item (text as is, anything else as "
        "JSON); text: the text below.",
        no_expressions=True,
    )
    payload_field: str = param(
        "",
        title="Field",
        description="Dots reach nested fields.",
        placeholder="reading.value",
        show_if={"payload_from": ["field"]},
    )
    payload_text: str = param("", title="Text", widget="textarea", show_if={"payload_from": ["text"]})

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not value:
            raise ValueError("the topic is empty")
        if "+" in value or "#" in value:
            raise ValueError(f"{value!r} has a wildcard (+ or #); publish to one topic")
        if "\x00" in value:
            raise ValueError("a topic cannot contain a NUL character")
        if len(value.encode()) > MAX_TOPIC_BYTES:
            raise ValueError(f"the topic is longer than MQTT's {MAX_TOPIC_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _needs(self) -> MqttMessageParameters:
        if self.payload_from == "field" and not self.payload_field:
            raise ValueError("a payload from a field needs the field's name")
        return self


class _Refusals:
    """The broker's refusals of messages (MQTT 5 acknowledgements with a failure reason), by message id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_mid: dict[int, ReasonCode] = {}

    def on_publish(self, _client: mqtt.Client, _userdata: Any, mid: int, reason: ReasonCode, _properties: Any) -> None:
        if reason.is_failure:
            with self._lock:
                self._by_mid[mid] = reason

    def pop(self, mid: int) -> ReasonCode | None:
        with self._lock:
            return self._by_mid.pop(mid, None)


class MqttMessageNode(Node):
    type = "mqtt.message"
    display_name = "MQTT"
    category = Category.INTEGRATION
    description = "Publishes each item to an MQTT topic and waits for the broker's acknowledgement."
    icon = "radio-tower"
    Parameters = MqttMessageParameters
    credentials = (CredentialRequirement("mqtt"),)
    subtitle = "topic"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields = MqttCredential.parse(ctx.credential("mqtt"))
        remaining = ctx.remaining_seconds()
        timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, DEFAULT_TIMEOUT_SECONDS), 1.0)
        client = connect(fields, timeout)
        refusals = _Refusals()
        client.on_publish = refusals.on_publish
        produced: list[Item] = []
        try:
            for index, item in enumerate(items):
                params: MqttMessageParameters = ctx.params(index)
                payload = _payload(params, item, index)
                mid = _publish(client, params, payload, index, timeout)
                refused = refusals.pop(mid)
                if refused is not None:
                    raise NodeError(
                        f"item {index}: the broker refused the message to {params.topic!r}: {refused}",
                        description="Check that the credential's user may publish to this topic (the broker's ACL).",
                        item_index=index,
                    )
                produced.append(
                    Item(
                        {
                            "topic": params.topic,
                            "qos": params.qos,
                            "retain": params.retain,
                            "message_id": mid,
                            "size": len(payload),
                        },
                        paired_item=index,
                    )
                )
        finally:
            disconnect(client)
        return [produced]


def _payload(params: MqttMessageParameters, item: Item, index: int) -> bytes:
    if params.payload_from == "text":
        return params.payload_text.encode()
    value: Any = item.json
    if params.payload_from == "field":
        value = get_field(item.json, params.payload_field)
        if value is MISSING:
            raise NodeError(
                f"item {index} has no field {params.payload_field!r} for the payload",
                description="Set the field earlier (Edit Fields), or pick another payload.",
                item_index=index,
            )
        if isinstance(value, str):
            return value.encode()
    return json.dumps(value, ensure_ascii=False).encode()


def _publish(client: mqtt.Client, params: MqttMessageParameters, payload: bytes, index: int, timeout: float) -> int:
    """Publish and wait until the QoS is met; returns the message id."""
    info = client.publish(params.topic, payload, qos=params.qos, retain=params.retain)
    try:
        info.wait_for_publish(timeout)
    except (RuntimeError, ValueError) as err:
        raise NodeError(
            f"item {index}: publishing to {params.topic!r} failed: {err}",
            description="The connection to the broker was lost or is overloaded: retry the node.",
            item_index=index,
        ) from err
    if not info.is_published():
        waited_for = "written to the broker" if params.qos == 0 else f"acknowledged (QoS {params.qos})"
        raise NodeError(
            f"item {index}: the message to {params.topic!r} was not {waited_for} within {timeout:g} s",
            description="The broker is slow or dropped the connection (some brokers do so for a topic the user "
            "may not publish to): check its logs, then retry.",
            item_index=index,
        )
    return info.mid
