"""The Todoist API credential: a personal API token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

TODOIST_API_URL = "https://api.todoist.com"


class TodoistApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="API token",
        description="Todoist → Settings → Integrations → Developer → API token.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        TODOIST_API_URL,
        title="API URL",
        description="Todoist's API, without /api/v1; change it only for a proxy or a test server.",
        advanced=True,
    )


class TodoistApiCredential(CredentialType):
    id = "todoist_api"
    display_name = "Todoist API"
    description = "A Todoist personal API token."
    Fields = TodoistApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: TodoistApiFields | Mapping[str, Any]) -> str:
        """Ask Todoist whose token it is; returns ``Connected as <name> (<email>)``.

        Raises:
            NodeError: Todoist refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.todoist._client import TodoistClient

        with TodoistClient(cls.parse(fields)) as client:
            user = client.request("GET", "/user", "checking the token")
        return f"Connected as {user.get('full_name') or user.get('id')} ({user.get('email') or 'no email'})"
