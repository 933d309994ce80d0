"""The MQTT credential, and connecting to the broker with it (shared by the MQTT nodes)."""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel

from nodes.sdk import CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 60
REFUSED_LOGIN = frozenset({"Bad user name or password", "Not authorized"})


class MqttFields(BaseModel):
    host: str = param(title="Host", placeholder="broker.example.com", min_length=1)
    port: int = param(1883, title="Port", description="1883 for MQTT, usually 8883 with TLS.", ge=1, le=65535)
    client_id_prefix: str = param(
        "hitl-studio",
        title="Client id prefix",
        description="Each connection's client id is this prefix and a random suffix, so runs never kick each "
        "other off the broker.",
        min_length=1,
        max_length=40,
    )
    user: str = param("", title="User", description="Empty for brokers that allow anonymous clients.")
    password: str = param("", title="Password", widget="password")
    tls: bool = param(False, title="Use TLS", description="Encrypt the connection and check the broker's certificate.")
    protocol: Literal["3.1.1", "5"] = param(
        "3.1.1",
        title="MQTT version",
        description="5 lets the broker say why it refuses a message; 3.1.1 works with every broker.",
        advanced=True,
    )


class MqttCredential(CredentialType):
    id = "mqtt"
    display_name = "MQTT"
    description = "An MQTT broker and its login."
    Fields = MqttFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: MqttFields | Mapping[str, Any]) -> str:
        """Connect and wait for the broker's answer; returns ``Connected to host:port (MQTT version)``.

        Raises:
            NodeError: The broker cannot be reached or refuses the connection.
        """
        checked = MqttCredential.parse(fields)
        disconnect(connect(checked, DEFAULT_TIMEOUT_SECONDS))
        return f"Connected to {where(checked)} (MQTT {checked.protocol})"


def where(fields: MqttFields) -> str:
    return f"{fields.host}:{fields.port}"


def connect(fields: MqttFields, timeout: float) -> mqtt.Client:
    """A client the broker has accepted (its CONNACK said success), with its network loop running.

    Args:
        fields: The MQTT credential.
        timeout: Seconds to wait for the broker's answer.

    Raises:
        NodeError: Naming the broker and what to check.
    """
    version5 = fields.protocol == "5"
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{fields.client_id_prefix}-{uuid.uuid4().hex[:12]}",
        protocol=mqtt.MQTTv5 if version5 else mqtt.MQTTv311,
        # MQTT 5 has no clean_session (it sets clean_start when connecting); 3.1.1 needs it.
        clean_session=None if version5 else True,
    )
    if fields.user:
        client.username_pw_set(fields.user, fields.password or None)
    if fields.tls:
        client.tls_set_context(ssl.create_default_context())
    answered = threading.Event()
    answer: list[ReasonCode] = []

    def on_connect(_client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _properties: Any) -> None:
        answer.append(reason)
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(fields.host, fields.port, keepalive=KEEPALIVE_SECONDS)
    except (OSError, ValueError) as err:
        raise NodeError(
            f"cannot connect to the MQTT broker at {where(fields)}: {err}",
            description="Check the host, port and TLS setting of the credential, and that the broker is running.",
        ) from err
    client.loop_start()
    if not answered.wait(timeout):
        disconnect(client)
        raise NodeError(
            f"the MQTT broker at {where(fields)} did not answer the connection within {timeout:g} s",
            description="Check the port (and TLS: a TLS port waits silently for a plain client), then retry.",
        )
    reason = answer[0]
    if reason.is_failure:
        disconnect(client)
        refused_login = str(reason) in REFUSED_LOGIN
        raise NodeError(
            f"the MQTT broker at {where(fields)} refused the connection: {reason}",
            description="Check the credential's user and password."
            if refused_login
            else "Check the credential (a client id prefix the broker allows, the MQTT version) and the broker's logs.",
        )
    return client


def disconnect(client: mqtt.Client) -> None:
    """Say goodbye to the broker and stop the network loop."""
    # Best effort: the broker may have closed the connection already.
    with suppress(OSError):
        client.disconnect()
    client.loop_stop()
