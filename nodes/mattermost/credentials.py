"""The Mattermost API credential: a server's address and a personal access (or bot) token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, CredentialType, param


class MattermostApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = param(
        title="Server URL",
        description="The address people open Mattermost at, without /api/v4.",
        placeholder="https://chat.example.com",
        min_length=1,
    )
    token: ApiToken = param(
        title="Access token",
        description="A personal access token (Profile → Security) or a bot account's token.",
        widget="password",
        min_length=1,
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("the server URL must start with https://")
        return value.removesuffix("/api/v4")


class MattermostApiCredential(CredentialType):
    id = "mattermost_api"
    display_name = "Mattermost API"
    description = "A Mattermost server and an access token of a user or bot."
    Fields = MattermostApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: MattermostApiFields | Mapping[str, Any]) -> str:
        """Ask who the token belongs to; returns ``Connected as @<username>``.

        Raises:
            NodeError: Mattermost refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.mattermost._client import MattermostClient

        with MattermostClient(cls.parse(fields)) as client:
            user = client.request("GET", "/users/me", "checking the token")
        return f"Connected as @{user.get('username') or user.get('id')}"
