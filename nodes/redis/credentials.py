"""The Redis credential, and opening a client with it (shared by the Redis nodes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis
from pydantic import BaseModel
from redis.backoff import NoBackoff
from redis.retry import Retry

from nodes.sdk import CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 10.0


class RedisFields(BaseModel):
    host: str = param(title="Host", placeholder="redis.example.com", min_length=1)
    port: int = param(6379, title="Port", ge=1, le=65535)
    db: int = param(0, title="Database number", ge=0)
    user: str = param("", title="User", description="For Redis 6+ access lists; empty for the default user.")
    password: str = param("", title="Password", widget="password")
    tls: bool = param(False, title="Use TLS")


class RedisCredential(CredentialType):
    id = "redis"
    display_name = "Redis"
    description = "A Redis server, its database number and login."
    Fields = RedisFields
    secret_fields = frozenset({"password"})

    @classmethod
    def test_connection(cls, fields: RedisFields | Mapping[str, Any]) -> str:
        """Send PING; returns ``Connected to host:port (database n)``.

        Raises:
            NodeError: The server cannot be reached or refuses the login.
        """
        checked = RedisCredential.parse(fields)
        client = connect(checked, DEFAULT_TIMEOUT_SECONDS)
        client.close()
        return f"Connected to {checked.host}:{checked.port} (database {checked.db})"


def connect(fields: RedisFields, timeout: float) -> redis.Redis:
    """A client that has answered PING, so a wrong host or password fails here and not on an item.

    Args:
        fields: The Redis credential.
        timeout: Seconds for connecting and for each command.

    Raises:
        NodeError: Naming the server and what to check.
    """
    client = redis.Redis(
        host=fields.host,
        port=fields.port,
        db=fields.db,
        username=fields.user or None,
        password=fields.password or None,
        ssl=fields.tls,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        client_name="hitl-studio",
        # The engine owns retrying (the node's retry settings); redis-py's own backoff would add
        # seconds to every failure, and each execution opens a fresh connection anyway.
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except redis.AuthenticationError as err:
        client.close()
        raise NodeError(
            f"Redis at {fields.host}:{fields.port} refused the login: {err}",
            description="Check the credential's user and password.",
        ) from err
    except redis.RedisError as err:
        client.close()
        raise NodeError(
            f"cannot reach Redis at {fields.host}:{fields.port} (database {fields.db}): {err}",
            description="Check the host, port, database number and TLS setting of the credential.",
        ) from err
    return client
