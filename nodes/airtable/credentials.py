"""The Airtable API credential: a personal access token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

AIRTABLE_API_URL = "https://api.airtable.com"


class AirtableApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Personal access token",
        description="Create one at airtable.com/create/tokens with the data.records scopes and access to the bases.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        AIRTABLE_API_URL,
        title="API URL",
        description="Airtable's Web API; change it only for a proxy or a test server.",
        advanced=True,
    )


class AirtableApiCredential(CredentialType):
    id = "airtable_api"
    display_name = "Airtable API"
    description = "An Airtable personal access token."
    Fields = AirtableApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: AirtableApiFields | Mapping[str, Any]) -> str:
        """Ask Airtable who the token belongs to; returns ``Connected as <email or user id>``.

        Raises:
            NodeError: Airtable refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.airtable._client import AirtableClient

        with AirtableClient(cls.parse(fields)) as client:
            answer = client.request("GET", "/v0/meta/whoami", "checking the token")
        return f"Connected as {answer.get('email') or answer.get('id') or 'the token owner'}"
