"""The Mailgun API credential: an API key, a sending domain and its region, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.sdk import ApiToken, CredentialType, param

REGION_URLS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}


class MailgunApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiToken = param(
        title="API key",
        description="A domain sending key or the account's private API key (Send → Sending → Domain settings → "
        "Sending keys, or API Security).",
        widget="password",
        min_length=1,
    )
    domain: str = param(
        title="Domain",
        description="The sending domain, as Mailgun lists it under Send → Domains.",
        placeholder="mg.example.com",
        min_length=1,
    )
    region: Literal["us", "eu", "custom"] = param(
        "us",
        title="Region",
        description="Where the domain lives: us (api.mailgun.net) or eu (api.eu.mailgun.net); custom: the API URL "
        "below.",
    )
    api_url: str = param(
        "",
        title="Custom API URL",
        description="Used when the region is custom: a proxy or a test server.",
        placeholder="https://mailgun-proxy.example.com",
        advanced=True,
    )

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not value or any(char.isspace() or char in "/@" for char in value):
            raise ValueError("the domain is a name such as mg.example.com, without https:// or slashes")
        return value

    @model_validator(mode="after")
    def _custom_url(self) -> MailgunApiFields:
        self.api_url = self.api_url.strip().rstrip("/")
        if self.region == "custom" and not self.api_url.startswith(("https://", "http://")):
            raise ValueError("a custom region needs an API URL starting with https://")
        return self

    @property
    def base_url(self) -> str:
        """The API's address for the region."""
        return self.api_url if self.region == "custom" else REGION_URLS[self.region]


class MailgunApiCredential(CredentialType):
    id = "mailgun_api"
    display_name = "Mailgun API"
    description = "A Mailgun API key and the sending domain it is used with."
    Fields = MailgunApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: MailgunApiFields | Mapping[str, Any]) -> str:
        """Fetch the domain; returns ``Connected to <domain> (<state>)``.

        Raises:
            NodeError: Mailgun refuses the key, does not know the domain in this region, or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.mailgun._client import MailgunClient

        checked = cls.parse(fields)
        with MailgunClient(checked) as client:
            answer = client.request("GET", f"/v3/domains/{checked.domain}", "checking the key and the domain")
        domain = answer.get("domain") or {}
        return f"Connected to {domain.get('name') or checked.domain} ({domain.get('state') or 'unknown state'})"
