"""The Intercom API credential: an access token, the workspace's regional API address and the API version."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

INTERCOM_API_URL = "https://api.intercom.io"
API_VERSION = "2.11"
VERSION = re.compile(r"^(\d+\.\d+|Unstable)$")


class IntercomApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: ApiToken = param(
        title="Access token",
        description="Developer Hub → your app → Configure → Authentication → Access token; the app needs the "
        "permissions to read and write users and tags.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        INTERCOM_API_URL,
        title="API URL",
        description="By the workspace's region: https://api.intercom.io (US), https://api.eu.intercom.io (Europe) "
        "or https://api.au.intercom.io (Australia).",
        advanced=True,
    )
    api_version: str = param(
        API_VERSION,
        title="API version",
        description="Sent as the Intercom-Version header, so a new version never changes the answers unasked.",
        advanced=True,
    )

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.strip()
        if not VERSION.match(value):
            raise ValueError("an Intercom API version looks like 2.11")
        return value


class IntercomApiCredential(CredentialType):
    id = "intercom_api"
    display_name = "Intercom API"
    description = "An Intercom workspace's access token, with its region's API address."
    Fields = IntercomApiFields
    secret_fields = frozenset({"access_token"})

    @classmethod
    def test_connection(cls, fields: IntercomApiFields | Mapping[str, Any]) -> str:
        """Ask Intercom which admin and workspace the token belongs to; returns ``Connected as <name> (<app>)``.

        Raises:
            NodeError: Intercom refuses the token (also when the region is wrong) or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.intercom._client import IntercomClient

        with IntercomClient(cls.parse(fields)) as client:
            me = client.request("GET", "/me", "checking the access token")
        app = me.get("app") if isinstance(me.get("app"), dict) else {}
        return f"Connected as {me.get('name') or me.get('email')} ({app.get('name') or 'the workspace'})"
