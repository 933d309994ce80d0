"""The Freshdesk API credential: the helpdesk's domain and an agent's API key, with a connection test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, CredentialType, param

DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class FreshdeskApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = param(
        title="Domain",
        description="acme for acme.freshdesk.com; or a full https:// address (a custom support domain, a proxy "
        "or a test server).",
        placeholder="acme",
        min_length=1,
    )
    api_key: ApiToken = param(
        title="API key",
        description="Profile picture → Profile settings → View API key; the workflow acts as that agent.",
        widget="password",
        min_length=1,
    )

    @field_validator("domain")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.startswith(("https://", "http://")):
            return value.removesuffix("/api/v2")
        value = value.lower().removesuffix(".freshdesk.com")
        if not DOMAIN.match(value):
            raise ValueError("give the domain (acme for acme.freshdesk.com) or a full https:// address")
        return value

    @property
    def base_url(self) -> str:
        """The helpdesk's address, without ``/api/v2``."""
        if "://" in self.domain:
            return self.domain
        return f"https://{self.domain}.freshdesk.com"


class FreshdeskApiCredential(CredentialType):
    id = "freshdesk_api"
    display_name = "Freshdesk API"
    description = "A Freshdesk helpdesk and the API key of the agent the workflow acts as."
    Fields = FreshdeskApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: FreshdeskApiFields | Mapping[str, Any]) -> str:
        """Ask Freshdesk which agent the key belongs to; returns ``Connected as <name> (<email>)``.

        Raises:
            NodeError: Freshdesk refuses the key or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.freshdesk._client import FreshdeskClient

        with FreshdeskClient(cls.parse(fields)) as client:
            agent = client.request("GET", "/agents/me", "checking the API key")
        person = agent.get("contact") if isinstance(agent.get("contact"), dict) else {}
        return f"Connected as {person.get('name') or agent.get('id')} ({person.get('email')})"
