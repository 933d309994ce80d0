"""The Linear API credential: a personal API key, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

LINEAR_API_URL = "https://api.linear.app"


class LinearApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiToken = param(
        title="API key",
        description="A personal API key (Settings → Security & access → Personal API keys), lin_api_...",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        LINEAR_API_URL,
        title="API URL",
        description="Linear's API, whose GraphQL endpoint is /graphql; change it only for a proxy or a test server.",
        advanced=True,
    )


class LinearApiCredential(CredentialType):
    id = "linear_api"
    display_name = "Linear API"
    description = "A Linear personal API key."
    Fields = LinearApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: LinearApiFields | Mapping[str, Any]) -> str:
        """Ask Linear whose key it is; returns ``Connected as <name> (<email>)``.

        Raises:
            NodeError: Linear refuses the key or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.linear._client import LinearClient

        with LinearClient(cls.parse(fields)) as client:
            data = client.graphql("query Viewer { viewer { id name email } }", {}, "checking the API key")
        viewer = data.get("viewer") or {}
        return f"Connected as {viewer.get('name') or viewer.get('id')} ({viewer.get('email') or 'no email'})"
