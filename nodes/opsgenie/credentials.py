"""The Opsgenie API credential: an API integration's key and the account's region, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.sdk import ApiToken, CredentialType, param

REGION_URLS = {"us": "https://api.opsgenie.com", "eu": "https://api.eu.opsgenie.com"}


class OpsgenieApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiToken = param(
        title="API key",
        description="The key of an API integration (Settings → Integrations → API) with read and create-and-update "
        "access; delete needs delete access too.",
        widget="password",
        min_length=1,
    )
    region: Literal["us", "eu", "custom"] = param(
        "us",
        title="Region",
        description="Where the account lives: us (api.opsgenie.com) or eu (api.eu.opsgenie.com); custom for a proxy "
        "or a test server.",
    )
    custom_url: str = param(
        "",
        title="API URL",
        description="The API's address when the region is custom.",
        placeholder="https://opsgenie-proxy.acme.com",
        show_if={"region": ["custom"]},
    )

    @field_validator("custom_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("the API URL must start with https://")
        return value

    @model_validator(mode="after")
    def _custom_needs_url(self) -> OpsgenieApiFields:
        if self.region == "custom" and not self.custom_url:
            raise ValueError("a custom region needs the API URL")
        return self

    @property
    def api_url(self) -> str:
        """The API's address for the chosen region."""
        return self.custom_url if self.region == "custom" else REGION_URLS[self.region]


class OpsgenieApiCredential(CredentialType):
    id = "opsgenie_api"
    display_name = "Opsgenie API"
    description = "The key of an Opsgenie API integration, for the US or EU region."
    Fields = OpsgenieApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: OpsgenieApiFields | Mapping[str, Any]) -> str:
        """List one alert: the cheapest call an API integration's key may make, and the one the node needs.

        Raises:
            NodeError: Opsgenie refuses the key (wrong key, or the other region's) or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.opsgenie._client import OpsgenieClient

        parsed = cls.parse(fields)
        with OpsgenieClient(parsed) as client:
            client.request("GET", "/v2/alerts", "checking the API key", params={"limit": 1})
        return f"Connected to {parsed.api_url}; the key can read alerts"
