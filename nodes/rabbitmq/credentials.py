"""The RabbitMQ credential, and opening a connection with it (shared by the RabbitMQ nodes)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import pika
import pika.exceptions
from pydantic import BaseModel

from nodes.sdk import CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 10.0


class RabbitmqFields(BaseModel):
    host: str = param(title="Host", placeholder="rabbitmq.example.com", min_length=1)
    port: int = param(5672, title="Port", description="5672 for AMQP, usually 5671 with TLS.", ge=1, le=65535)
    vhost: str = param("/", title="Virtual host", min_length=1)
    user: str = param("guest", title="User", min_length=1)
    password: str = param("", title="Password", widget="password")
    tls: bool = param(False, title="Use TLS", description="Encrypt the connection and check the broker's certificate.")


class RabbitmqCredential(CredentialType):
    id = "rabbitmq"
    display_name = "RabbitMQ"
    description = "A RabbitMQ broker, its virtual host and login."
    Fields = RabbitmqFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: RabbitmqFields | Mapping[str, Any]) -> str:
        """Connect and open a channel; returns ``Connected to host:port (virtual host /)``.

        Raises:
            NodeError: The broker cannot be reached, refuses the login or the virtual host.
        """
        checked = RabbitmqCredential.parse(fields)
        connection = connect(checked, DEFAULT_TIMEOUT_SECONDS)
        try:
            connection.channel().close()
        except pika.exceptions.AMQPError as err:
            raise NodeError(f"RabbitMQ at {where(checked)} would not open a channel: {describe(err)}") from err
        finally:
            close_quietly(connection)
        return f"Connected to {where(checked)}"


def where(fields: RabbitmqFields) -> str:
    """How messages name the broker: ``host:port (virtual host /)``."""
    return f"{fields.host}:{fields.port} (virtual host {fields.vhost})"


def describe(err: BaseException) -> str:
    """A pika error as one readable line (pika nests the cause in its arguments)."""
    if isinstance(err, OSError):
        return str(err)
    # The connection workflow's errors print empty; their repr names the cause.
    text = "; ".join(str(arg) or repr(arg) for arg in err.args)
    return " ".join(text.split()) or type(err).__name__


def close_quietly(connection: pika.BlockingConnection) -> None:
    """Close ``connection`` unless the broker already did."""
    if connection.is_open:
        # Best effort: the broker may be dropping the connection at the same moment.
        with suppress(pika.exceptions.AMQPError):
            connection.close()


def connect(fields: RabbitmqFields, timeout: float) -> pika.BlockingConnection:
    """A connection the broker has accepted, so a wrong login fails here and not on an item.

    Args:
        fields: The RabbitMQ credential.
        timeout: Seconds for connecting and for each exchange with the broker.

    Raises:
        NodeError: Naming the broker and what to check.
    """
    parameters = pika.ConnectionParameters(
        host=fields.host,
        port=fields.port,
        virtual_host=fields.vhost,
        credentials=pika.PlainCredentials(fields.user, fields.password, erase_on_connect=True),
        ssl_options=pika.SSLOptions(ssl.create_default_context(), fields.host) if fields.tls else None,
        # The engine owns retrying (the node's retry settings).
        connection_attempts=1,
        socket_timeout=timeout,
        stack_timeout=timeout,
        blocked_connection_timeout=timeout,
        client_properties={"connection_name": "hitl-studio"},
    )
    try:
        return pika.BlockingConnection(parameters)
    except pika.exceptions.ProbableAuthenticationError as err:
        raise NodeError(
            f"RabbitMQ at {where(fields)} refused the login: {describe(err)}",
            description="Check the credential's user and password.",
        ) from err
    except pika.exceptions.ProbableAccessDeniedError as err:
        raise NodeError(
            f"RabbitMQ at {where(fields)} refused the virtual host: {describe(err)}",
            description="Check the virtual host's name, and that the user has permissions on it.",
        ) from err
    except (pika.exceptions.AMQPError, OSError) as err:
        # A failed TLS handshake comes as the ssl module's own error, not pika's.
        raise NodeError(
            f"cannot connect to RabbitMQ at {where(fields)}: {describe(err)}",
            description="Check the host, port and TLS setting of the credential, and that the broker is running.",
        ) from err
