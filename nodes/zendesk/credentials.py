"""The Zendesk API credential: the account's subdomain, an agent's email and an API token, with a connection test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, CredentialType, NodeError, param

SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ZendeskApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subdomain: str = param(
        title="Subdomain",
        description="acme for acme.zendesk.com; or the full address of a host-mapped Zendesk "
        "(https://support.acme.com) or of a proxy or test server.",
        placeholder="acme",
        min_length=1,
    )
    email: str = param(
        title="Agent email",
        description="The email address of the agent or admin the workflow acts as.",
        placeholder="agent@acme.com",
        min_length=3,
    )
    api_token: ApiToken = param(
        title="API token",
        description="Admin Center → Apps and integrations → Zendesk API → Settings: enable token access and add "
        "a token.",
        widget="password",
        min_length=1,
    )

    @field_validator("subdomain")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.startswith(("https://", "http://")):
            return value.removesuffix("/api/v2")
        value = value.lower().removesuffix(".zendesk.com")
        if not SUBDOMAIN.match(value):
            raise ValueError("give the subdomain (acme for acme.zendesk.com) or a full https:// address")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if "@" not in value or any(char.isspace() for char in value):
            raise ValueError("the agent's email address, such as agent@acme.com")
        return value

    @property
    def base_url(self) -> str:
        """The account's address, without ``/api/v2``."""
        if "://" in self.subdomain:
            return self.subdomain
        return f"https://{self.subdomain}.zendesk.com"


class ZendeskApiCredential(CredentialType):
    id = "zendesk_api"
    display_name = "Zendesk API"
    description = "A Zendesk account, an agent's email address and an API token."
    Fields = ZendeskApiFields
    secret_fields = frozenset({"api_token"})

    @classmethod
    def test_connection(cls, fields: ZendeskApiFields | Mapping[str, Any]) -> str:
        """Ask Zendesk who the token signs in as; returns ``Connected as <name> (<role>)``.

        Raises:
            NodeError: Zendesk refuses the email and token, answers as an anonymous user, or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.zendesk._client import ZendeskClient

        with ZendeskClient(cls.parse(fields)) as client:
            user = client.request("GET", "/users/me.json", "checking the email and token").get("user") or {}
        if user.get("id") is None:
            # Zendesk answers an unauthenticated /users/me with an anonymous user rather than a 401.
            raise NodeError(
                "Zendesk did not sign the email and token in: it answered as an anonymous user",
                description="Check the agent's email and the API token, and that token access is enabled.",
            )
        return f"Connected as {user.get('name') or user.get('email')} ({user.get('role') or 'agent'})"
