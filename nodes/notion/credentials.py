"""The Notion API credential: an internal integration's token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

NOTION_API_URL = "https://api.notion.com"


class NotionApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Internal integration token",
        description="From notion.so/my-integrations (secret_... or ntn_...). Share each page and database with the "
        "integration (••• → Connections).",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        NOTION_API_URL,
        title="API URL",
        description="Notion's API; change it only for a proxy or a test server.",
        advanced=True,
    )


class NotionApiCredential(CredentialType):
    id = "notion_api"
    display_name = "Notion API"
    description = "A Notion internal integration's token."
    Fields = NotionApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: NotionApiFields | Mapping[str, Any]) -> str:
        """Ask Notion for the integration's bot user; returns ``Connected as <its name>``.

        Raises:
            NodeError: Notion refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.notion._client import NotionClient

        with NotionClient(cls.parse(fields)) as client:
            answer = client.request("GET", "/v1/users/me", "checking the token")
        return f"Connected as {answer.get('name') or answer.get('id') or 'the integration'}"
