"""The NATS credential, connecting with it, and running nats-py's asyncio client from a node.

nats-py is asyncio only, while nodes run synchronously: :func:`run_sync` gives each call an event loop of
its own (on a helper thread when the caller already runs one), so nothing is shared between runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import nats
import nats.errors
from nats.aio.client import Client
from pydantic import BaseModel, field_validator

from nodes.sdk import CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 10.0
SCHEMES = ("nats://", "tls://")
T = TypeVar("T")


class NatsFields(BaseModel):
    servers: str = param(
        title="Servers",
        description="One URL or several separated by commas; tls:// for an encrypted connection.",
        placeholder="nats://nats.example.com:4222",
        min_length=1,
    )
    user: str = param("", title="User", description="With a password; empty when the server takes a token.")
    password: str = param("", title="Password", widget="password")
    token: str = param("", title="Token", description="Instead of a user and password.", widget="password")

    @field_validator("servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        urls = [url.strip() for url in value.split(",") if url.strip()]
        if not urls:
            raise ValueError("give at least one server URL")
        for url in urls:
            if not url.startswith(SCHEMES):
                raise ValueError(f"{url!r} must start with nats:// or tls://")
        return ", ".join(urls)

    @property
    def urls(self) -> list[str]:
        return [url.strip() for url in self.servers.split(",")]


class NatsCredential(CredentialType):
    id = "nats"
    display_name = "NATS"
    description = "A NATS server (or cluster) and its login."
    Fields = NatsFields
    secret_fields = frozenset({"password", "token"})

    @classmethod
    def test_connection(cls, fields: NatsFields | Mapping[str, Any]) -> str:
        """Connect and round-trip a PING; returns ``Connected to <url> (NATS <version>)``.

        Raises:
            NodeError: No server can be reached, or the server refuses the login.
        """
        checked = NatsCredential.parse(fields)

        async def check() -> str:
            client = await connect(checked, DEFAULT_TIMEOUT_SECONDS)
            try:
                await client.flush(DEFAULT_TIMEOUT_SECONDS)
                url = client.connected_url.geturl() if client.connected_url else checked.servers
                return f"Connected to {url} (NATS {client.connected_server_version})"
            finally:
                await client.close()

        return run_sync(check)


def run_sync(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work()`` to completion on a private event loop and return its result."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_call(work))
    # Called from inside a running loop (an async host): that loop cannot be blocked on, so use a thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nats") as pool:
        return pool.submit(asyncio.run, _call(work)).result()


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


async def connect(fields: NatsFields, timeout: float) -> Client:
    """A connection the server has accepted, trying each server URL once (twice for a refused socket).

    Args:
        fields: The NATS credential.
        timeout: Seconds for connecting to each server.

    Raises:
        NodeError: Naming the servers and what to check.
    """
    seen: list[Exception] = []

    async def record(err: Exception) -> None:
        # nats-py reports each failed attempt here and raises only a summary; keep the cause for the message.
        seen.append(err)

    options: dict[str, Any] = {
        "servers": fields.urls,
        "name": "hitl-studio",
        "connect_timeout": max(1, round(timeout)),
        "error_cb": record,
        # The engine owns retrying (the node's retry settings): one pass over the servers, no reconnecting.
        "allow_reconnect": False,
        "max_reconnect_attempts": 1,
        "reconnect_time_wait": 0,
        "dont_randomize": True,
    }
    if fields.user:
        options.update(user=fields.user, password=fields.password)
    if fields.token:
        options["token"] = fields.token
    try:
        return await nats.connect(**options)
    except (nats.errors.Error, OSError, TimeoutError) as err:
        cause = seen[-1] if seen and isinstance(err, nats.errors.NoServersError) else err
        refused = isinstance(cause, nats.errors.AuthorizationError) or "authorization" in str(cause).lower()
        detail = _detail(cause)
        raise NodeError(
            f"NATS at {fields.servers} refused the login: {detail}"
            if refused
            else f"cannot connect to NATS at {fields.servers}: {detail}",
            description="Check the credential's user and password, or its token."
            if refused
            else "Check the server URLs (tls:// for TLS) and that the server is running.",
        ) from err


def _detail(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text and not text.startswith("nats:") else text or type(err).__name__
