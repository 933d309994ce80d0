"""The Microsoft Graph credential: an Entra ID app registration signing in with the client credentials flow.

The app acts on its own (application permissions granted by an admin), so it
reaches any user's mailbox, drive and tasks the permissions allow; the secret
is traded for an access token at the tenant's token endpoint, never sent to
Graph itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiUrl, CredentialType, param

GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"
GLOBAL_SCOPE = "https://graph.microsoft.com/.default"
NATIONAL_GRAPH_HOSTS = frozenset(
    {"graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}
)
"""Graph's hosts in Microsoft's clouds: a token for one of them must be asked for with that host's scope."""


class MicrosoftGraphFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = param(
        title="Tenant ID",
        description="The Directory (tenant) ID on the app registration's Overview page, or the tenant's domain "
        "(contoso.onmicrosoft.com).",
        min_length=1,
        max_length=200,
    )
    client_id: str = param(
        title="Client ID",
        description="The Application (client) ID on the app registration's Overview page.",
        min_length=1,
        max_length=200,
    )
    client_secret: str = param(
        title="Client secret",
        description="The secret's Value (not its Secret ID), from Certificates & secrets → New client secret.",
        widget="password",
        min_length=1,
    )
    graph_url: ApiUrl = param(
        GRAPH_URL,
        title="Graph API URL",
        description="Microsoft Graph's address with its version; national clouds: https://graph.microsoft.us/v1.0 "
        "or https://microsoftgraph.chinacloudapi.cn/v1.0.",
        advanced=True,
    )
    login_url: ApiUrl = param(
        LOGIN_URL,
        title="Sign-in URL",
        description="Microsoft Entra ID's sign-in host; national clouds: https://login.microsoftonline.us or "
        "https://login.chinacloudapi.cn.",
        advanced=True,
    )

    @field_validator("tenant_id", "client_id")
    @classmethod
    def _plain(cls, value: str) -> str:
        value = value.strip()
        if not value or any(char.isspace() or char in "/?#" for char in value):
            raise ValueError("paste the ID alone, without spaces or slashes")
        return value

    def token_url(self) -> str:
        return f"{self.login_url}/{self.tenant_id}/oauth2/v2.0/token"

    def scope(self) -> str:
        """``<Graph host>/.default``: every application permission the admin granted the app.

        Any other address (a proxy, a test server) stands in for the global Graph, whose scope it keeps.
        """
        host = httpx.URL(self.graph_url).host
        return f"https://{host}/.default" if host in NATIONAL_GRAPH_HOSTS else GLOBAL_SCOPE


class MicrosoftGraphCredential(CredentialType):
    id = "microsoft_graph"
    display_name = "Microsoft Graph (app)"
    description = (
        "An Entra ID app registration (tenant, client ID and secret) with application permissions, for Outlook, "
        "OneDrive and To Do through Microsoft Graph."
    )
    Fields = MicrosoftGraphFields
    secret_fields = frozenset({"client_secret"})

    @classmethod
    def test_connection(cls, fields: MicrosoftGraphFields | Mapping[str, Any]) -> str:
        """Ask the tenant for a token; returns the app's name and the permissions the token carries.

        Raises:
            NodeError: The tenant refuses the app or its secret, or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.microsoft._graph import fetch_token, token_claims

        checked = cls.parse(fields)
        claims = token_claims(fetch_token(checked, fresh=True))
        name = claims.get("app_displayname") or checked.client_id
        roles = sorted(str(role) for role in claims.get("roles") or [])
        granted = ", ".join(roles) if roles else "no application permissions yet (grant them and consent)"
        return f"Signed in as {name} in tenant {checked.tenant_id}: {granted}"
