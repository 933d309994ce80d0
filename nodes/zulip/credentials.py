"""The Zulip API credential: a server's address, a bot's email and its API key, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param


class ZulipApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_url: ApiUrl = param(
        title="Server URL",
        description="The address people open Zulip at, without /api/v1.",
        placeholder="https://example.zulipchat.com",
    )
    email: str = param(
        title="Bot email",
        description="The bot's email (Personal settings → Bots), or a user's email for their own API key.",
        placeholder="hitl-bot@example.zulipchat.com",
        min_length=1,
    )
    api_key: ApiToken = param(
        title="API key",
        description="The bot's API key (Personal settings → Bots), or a user's (Account & privacy → API key).",
        widget="password",
        min_length=1,
    )

    @field_validator("server_url")
    @classmethod
    def _no_api_path(cls, value: str) -> str:
        return value.removesuffix("/api/v1").removesuffix("/api")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value or any(char.isspace() for char in value):
            raise ValueError("enter the bot's email address, such as hitl-bot@example.zulipchat.com")
        return value


class ZulipApiCredential(CredentialType):
    id = "zulip_api"
    display_name = "Zulip API"
    description = "A Zulip server and a bot's (or user's) email and API key."
    Fields = ZulipApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: ZulipApiFields | Mapping[str, Any]) -> str:
        """Ask Zulip whose key it is; returns ``Connected as <full name> (<email>)``.

        Raises:
            NodeError: Zulip refuses the key or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.zulip._client import ZulipClient

        with ZulipClient(cls.parse(fields)) as client:
            me = client.request("GET", "/users/me", "checking the API key")
        return f"Connected as {me.get('full_name') or 'the bot'} ({me.get('email')})"
