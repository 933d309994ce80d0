"""The ClickUp API credential: a personal API token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

CLICKUP_API_URL = "https://api.clickup.com/api/v2"


class ClickupApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Personal API token",
        description="Settings → Apps → API Token (pk_...); the workflow acts as its user.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        CLICKUP_API_URL,
        title="API URL",
        description="ClickUp's API v2; change it only for a proxy or a test server.",
        advanced=True,
    )


class ClickupApiCredential(CredentialType):
    id = "clickup_api"
    display_name = "ClickUp API"
    description = "A ClickUp personal API token."
    Fields = ClickupApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: ClickupApiFields | Mapping[str, Any]) -> str:
        """Ask ClickUp whose token it is; returns ``Connected as <username> (<email>)``.

        Raises:
            NodeError: ClickUp refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.clickup._client import ClickupClient

        with ClickupClient(cls.parse(fields)) as client:
            user = client.request("GET", "/user", "checking the token").get("user") or {}
        return f"Connected as {user.get('username') or user.get('id')} ({user.get('email') or 'no email'})"
