"""The Trello API credential: a Power-Up's API key and a member's token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

TRELLO_API_URL = "https://api.trello.com"


class TrelloApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiToken = param(
        title="API key",
        description="The API key of a Power-Up (trello.com/power-ups/admin → your Power-Up → API key).",
        widget="password",
        min_length=1,
    )
    token: ApiToken = param(
        title="Token",
        description="A token the member granted to that key (the Token link beside the API key).",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        TRELLO_API_URL,
        title="API URL",
        description="Trello's REST API, without /1; change it only for a proxy or a test server.",
        advanced=True,
    )


class TrelloApiCredential(CredentialType):
    id = "trello_api"
    display_name = "Trello API"
    description = "A Trello API key with a member's token."
    Fields = TrelloApiFields
    secret_fields = frozenset({"api_key", "token"})

    @classmethod
    def test_connection(cls, fields: TrelloApiFields | Mapping[str, Any]) -> str:
        """Ask Trello whose token it is; returns ``Connected as @<username>``.

        Raises:
            NodeError: Trello refuses the key or token, or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.trello._client import TrelloClient

        with TrelloClient(cls.parse(fields)) as client:
            me = client.request("GET", "/1/members/me", "checking the key and token")
        return f"Connected as @{me.get('username') or me.get('id')}"
