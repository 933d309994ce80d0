"""The Asana API credential: a personal access token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

ASANA_API_URL = "https://app.asana.com/api/1.0"


class AsanaApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Personal access token",
        description="Create one in the developer console (My settings → Apps → Developer apps → Personal access "
        "tokens); the workflow acts as its user.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        ASANA_API_URL,
        title="API URL",
        description="Asana's REST API; change it only for a proxy or a test server.",
        advanced=True,
    )


class AsanaApiCredential(CredentialType):
    id = "asana_api"
    display_name = "Asana API"
    description = "An Asana personal access token."
    Fields = AsanaApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: AsanaApiFields | Mapping[str, Any]) -> str:
        """Ask Asana whose token it is; returns ``Connected as <name> (<email>)``.

        Raises:
            NodeError: Asana refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.asana._client import AsanaClient

        with AsanaClient(cls.parse(fields)) as client:
            me = client.request("GET", "/users/me", "checking the token")
        return f"Connected as {me.get('name') or me.get('gid')} ({me.get('email') or 'no email'})"
