"""The Pipedrive API credential: a user's API token and the company's domain, with a connection test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, CredentialType, param

COMPANY = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class PipedriveApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_token: ApiToken = param(
        title="API token",
        description="Personal preferences → API in Pipedrive; it acts with that user's permissions.",
        widget="password",
        min_length=1,
    )
    company_domain: str = param(
        title="Company domain",
        description="acme for acme.pipedrive.com; or a full address (a proxy or a test server).",
        placeholder="acme",
        min_length=1,
    )

    @field_validator("company_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.startswith(("https://", "http://")):
            return value.removesuffix("/api/v1")
        value = value.lower().removesuffix(".pipedrive.com")
        if not COMPANY.match(value):
            raise ValueError("give the company domain (acme for acme.pipedrive.com) or a full https:// address")
        return value

    @property
    def base_url(self) -> str:
        """The company's address, without ``/api/v1``."""
        if "://" in self.company_domain:
            return self.company_domain
        return f"https://{self.company_domain}.pipedrive.com"


class PipedriveApiCredential(CredentialType):
    id = "pipedrive_api"
    display_name = "Pipedrive API"
    description = "A Pipedrive user's API token and the company's domain."
    Fields = PipedriveApiFields
    secret_fields = frozenset({"api_token"})

    @classmethod
    def test_connection(cls, fields: PipedriveApiFields | Mapping[str, Any]) -> str:
        """Ask Pipedrive whose token it is; returns ``Connected as <name> (<company>)``.

        Raises:
            NodeError: Pipedrive refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.pipedrive._client import PipedriveClient

        with PipedriveClient(cls.parse(fields)) as client:
            user = client.request("GET", "/users/me", "checking the token").get("data") or {}
        company = f" ({user['company_name']})" if user.get("company_name") else ""
        return f"Connected as {user.get('name') or user.get('email') or 'the token owner'}{company}"
