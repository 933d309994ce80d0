"""The SendGrid API credential: an API key, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

SENDGRID_API_URL = "https://api.sendgrid.com"


class SendgridApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiToken = param(
        title="API key",
        description="Settings → API Keys → Create API Key (SG....); give it Mail Send, and Marketing access "
        "for the contact node.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        SENDGRID_API_URL,
        title="API URL",
        description="SendGrid's v3 API; https://api.eu.sendgrid.com for an EU regional subuser, or a test server.",
        advanced=True,
    )


class SendgridApiCredential(CredentialType):
    id = "sendgrid_api"
    display_name = "SendGrid API"
    description = "A SendGrid API key."
    Fields = SendgridApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: SendgridApiFields | Mapping[str, Any]) -> str:
        """Ask SendGrid which scopes the key has; says whether it may send mail.

        Raises:
            NodeError: SendGrid refuses the key or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.sendgrid._client import SendgridClient

        with SendgridClient(cls.parse(fields)) as client:
            scopes = client.request("GET", "/v3/scopes", "checking the API key").get("scopes") or []
        mail = "may send mail" if "mail.send" in scopes else "may not send mail (no Mail Send access)"
        return f"Connected: the key has {len(scopes)} scopes and {mail}"
