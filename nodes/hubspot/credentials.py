"""The HubSpot API credential: a private app's access token and the API's URL, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

HUBSPOT_API_URL = "https://api.hubapi.com"


class HubspotApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: ApiToken = param(
        title="Access token",
        description="The access token of a private app (Settings → Integrations → Private apps), pat-…, with the "
        "crm.objects.contacts and crm.objects.deals read and write scopes the workflow needs.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        HUBSPOT_API_URL,
        title="API URL",
        description="HubSpot's API; change it only for a proxy or a test server.",
        advanced=True,
    )


class HubspotApiCredential(CredentialType):
    id = "hubspot_api"
    display_name = "HubSpot API"
    description = "A HubSpot private app's access token."
    Fields = HubspotApiFields
    secret_fields = frozenset({"access_token"})

    @classmethod
    def test_connection(cls, fields: HubspotApiFields | Mapping[str, Any]) -> str:
        """Ask HubSpot which account the token belongs to; returns ``Connected to HubSpot account <id>``.

        Raises:
            NodeError: HubSpot refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.hubspot._client import HubspotClient

        with HubspotClient(cls.parse(fields)) as client:
            account = client.request("GET", "/account-info/v3/details", "checking the token")
        return f"Connected to HubSpot account {account.get('portalId') or 'of the token'}"
