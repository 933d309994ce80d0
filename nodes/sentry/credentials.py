"""The Sentry API credential: an auth token, the organization it works in and Sentry's address, with a test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

SENTRY_URL = "https://sentry.io"
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class SentryApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Auth token",
        description="A user auth token (User settings → Personal Tokens) or an internal integration's token, with "
        "the event:read and event:write scopes (event:admin to delete issues) and org:read.",
        widget="password",
        min_length=1,
    )
    organization: str = param(
        title="Organization slug",
        description="The organization's slug, as in https://sentry.io/organizations/<slug>/.",
        placeholder="acme",
        min_length=1,
    )
    api_url: ApiUrl = param(
        SENTRY_URL,
        title="Sentry URL",
        description="https://sentry.io, https://de.sentry.io for the EU region, or a self-hosted Sentry's address.",
        advanced=True,
    )

    @field_validator("organization")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.strip().lower()
        if not SLUG.match(value):
            raise ValueError("the organization's slug: lower-case letters, digits, - and _, such as acme")
        return value

    @field_validator("api_url")
    @classmethod
    def _without_api_path(cls, value: str) -> str:
        return value.removesuffix("/api/0")


class SentryApiCredential(CredentialType):
    id = "sentry_api"
    display_name = "Sentry API"
    description = "A Sentry auth token and the organization it works in, on sentry.io or a self-hosted Sentry."
    Fields = SentryApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: SentryApiFields | Mapping[str, Any]) -> str:
        """Read the organization: it checks the token, its access and the slug in one call.

        Raises:
            NodeError: Sentry refuses the token, does not know the organization, or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.sentry._client import SentryClient

        parsed = cls.parse(fields)
        with SentryClient(parsed) as client:
            organization = client.request("GET", client.organization_path(), "reading the organization")
        return f"Connected to {organization.get('name') or parsed.organization}"
