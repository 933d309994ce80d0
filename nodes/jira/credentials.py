"""The Jira Cloud API credential: a site's address, an Atlassian account's email and API token, with a test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param


class JiraCloudApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_url: ApiUrl = param(
        title="Site URL",
        description="The address your Jira opens at.",
        placeholder="https://your-team.atlassian.net",
        min_length=1,
    )
    email: str = param(
        title="Email",
        description="The email address of the Atlassian account the API token belongs to.",
        placeholder="you@example.com",
        min_length=3,
    )
    api_token: ApiToken = param(
        title="API token",
        description="Create one at id.atlassian.com/manage-profile/security/api-tokens.",
        widget="password",
        min_length=1,
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value:
            raise ValueError("give the Atlassian account's email address")
        return value


class JiraCloudApiCredential(CredentialType):
    id = "jira_cloud_api"
    display_name = "Jira Cloud API"
    description = "A Jira Cloud site, with the email and API token of an Atlassian account."
    Fields = JiraCloudApiFields
    secret_fields = frozenset({"api_token"})

    @classmethod
    def test_connection(cls, fields: JiraCloudApiFields | Mapping[str, Any]) -> str:
        """Ask Jira who the account is; returns ``Connected as <display name>``.

        Raises:
            NodeError: Jira refuses the email and token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.jira._client import JiraClient

        with JiraClient(cls.parse(fields)) as client:
            me = client.request("GET", "/rest/api/3/myself", "checking the email and API token")
        return f"Connected as {me.get('displayName') or me.get('emailAddress') or me.get('accountId')}"
