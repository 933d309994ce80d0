"""The Pushover API credential: an application's API token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

PUSHOVER_API_URL = "https://api.pushover.net"


class PushoverApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_token: ApiToken = param(
        title="Application API token",
        description="The token of an application registered at pushover.net/apps (30 characters).",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        PUSHOVER_API_URL,
        title="API URL",
        description="Pushover's API; change it only for a proxy or a test server.",
        advanced=True,
    )


class PushoverApiCredential(CredentialType):
    id = "pushover_api"
    display_name = "Pushover API"
    description = "A Pushover application's API token."
    Fields = PushoverApiFields
    secret_fields = frozenset({"api_token"})

    @classmethod
    def test_connection(cls, fields: PushoverApiFields | Mapping[str, Any]) -> str:
        """Ask for the application's monthly message limit, which only a valid token may read.

        Raises:
            NodeError: Pushover refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.pushover._client import PushoverClient

        with PushoverClient(cls.parse(fields)) as client:
            limits = client.request("GET", "/1/apps/limits.json", "checking the application token")
        return f"Connected: {limits.get('remaining', '?')} of {limits.get('limit', '?')} messages left this month"
