"""The monday.com API credential: a personal API token and the API version to speak, with a connection test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

MONDAY_API_URL = "https://api.monday.com/v2"
API_VERSION = "2025-04"
"""A stable version: pinning one keeps the answers' shape from changing under saved workflows."""
VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")


class MondayApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="API token",
        description="Your avatar → Developers → My access tokens (admins: Administration → Connections → API); the "
        "workflow acts as its user.",
        widget="password",
        min_length=1,
    )
    api_version: str = param(
        API_VERSION,
        title="API version",
        description="The monday.com API version to use (YYYY-MM, released each quarter).",
        advanced=True,
    )
    api_url: ApiUrl = param(
        MONDAY_API_URL,
        title="API URL",
        description="monday.com's GraphQL endpoint; change it only for a proxy or a test server.",
        advanced=True,
    )

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.strip()
        if not VERSION.match(value):
            raise ValueError("an API version is YYYY-MM with a quarter's month, such as 2025-04")
        return value


class MondayApiCredential(CredentialType):
    id = "monday_api"
    display_name = "monday.com API"
    description = "A monday.com personal API token."
    Fields = MondayApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: MondayApiFields | Mapping[str, Any]) -> str:
        """Ask monday.com whose token it is; returns ``Connected as <name> (<email>)``.

        Raises:
            NodeError: monday.com refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.monday._client import MondayClient

        with MondayClient(cls.parse(fields)) as client:
            me = client.graphql("query Me { me { id name email } }", {}, "checking the token").get("me") or {}
        return f"Connected as {me.get('name') or me.get('id')} ({me.get('email') or 'no email'})"
