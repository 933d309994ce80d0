"""The Mailchimp API credential: an API key, whose data-center suffix picks the API's address."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, CredentialType, param

KEY = re.compile(r"^[0-9a-zA-Z]+-(?P<dc>[a-z]+[0-9]+)$")


class MailchimpApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: ApiToken = param(
        title="API key",
        description="Profile → Extras → API keys → Create A Key; paste it whole, with its data-center suffix (-us21).",
        widget="password",
        min_length=1,
    )
    api_url: str = param(
        "",
        title="API URL",
        description="Empty: https://<dc>.api.mailchimp.com/3.0 for the key's suffix; set it only for a proxy or "
        "a test server.",
        advanced=True,
    )

    @field_validator("api_key")
    @classmethod
    def _with_data_center(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("a Mailchimp API key ends with its data center, such as -us21: paste the whole key")
        return value

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("the API URL must start with https://")
        return value

    @property
    def base_url(self) -> str:
        """The API's address, ending in ``/3.0``."""
        if self.api_url:
            return self.api_url
        match = KEY.match(self.api_key)
        assert match is not None
        return f"https://{match['dc']}.api.mailchimp.com/3.0"


class MailchimpApiCredential(CredentialType):
    id = "mailchimp_api"
    display_name = "Mailchimp API"
    description = "A Mailchimp (Marketing API) key."
    Fields = MailchimpApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: MailchimpApiFields | Mapping[str, Any]) -> str:
        """Ask Mailchimp which account the key opens; returns ``Connected to <account name>``.

        Raises:
            NodeError: Mailchimp refuses the key or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.mailchimp._client import MailchimpClient

        with MailchimpClient(cls.parse(fields)) as client:
            account = client.request("GET", "/", "checking the API key")
        return f"Connected to {account.get('account_name') or account.get('account_id')} ({account.get('email')})"
