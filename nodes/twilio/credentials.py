"""The Twilio API credential: an Account SID with its Auth Token or an API key, with a connection test."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.sdk import ApiUrl, CredentialType, param

TWILIO_API_URL = "https://api.twilio.com"
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


class TwilioApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_sid: str = param(
        title="Account SID",
        description="AC followed by 32 characters, from the Twilio Console's Account Info.",
        placeholder="ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        min_length=1,
    )
    auth_type: Literal["auth_token", "api_key"] = param(
        "auth_token",
        title="Sign in with",
        description="auth_token: the account's Auth Token; api_key: an API key (SK...) and its secret, "
        "which can be revoked on its own.",
    )
    auth_token: str = param(
        "",
        title="Auth Token",
        description="From the Console's Account Info; used when 'Sign in with' is auth_token.",
        widget="password",
    )
    api_key_sid: str = param(
        "",
        title="API key SID",
        description="SK followed by 32 characters (Console → API keys & tokens); used with api_key.",
    )
    api_key_secret: str = param(
        "",
        title="API key secret",
        description="Shown once when the API key was created; used with api_key.",
        widget="password",
    )
    api_url: ApiUrl = param(
        TWILIO_API_URL,
        title="API URL",
        description="Twilio's REST API; change it only for a proxy or a test server.",
        advanced=True,
    )

    @field_validator("account_sid", "auth_token", "api_key_sid", "api_key_secret")
    @classmethod
    def _bare(cls, value: str) -> str:
        value = value.strip()
        if any(char.isspace() for char in value):
            raise ValueError("paste the value alone, without spaces")
        return value

    @model_validator(mode="after")
    def _pair(self) -> TwilioApiFields:
        if not _SID.match(self.account_sid) or not self.account_sid.startswith("AC"):
            raise ValueError("the Account SID is AC followed by 32 letters and digits")
        if self.auth_type == "auth_token" and not self.auth_token:
            raise ValueError("enter the Auth Token, or sign in with an API key")
        if self.auth_type == "api_key":
            if not _SID.match(self.api_key_sid) or not self.api_key_sid.startswith("SK"):
                raise ValueError("the API key SID is SK followed by 32 letters and digits")
            if not self.api_key_secret:
                raise ValueError("enter the API key's secret")
        return self


class TwilioApiCredential(CredentialType):
    id = "twilio_api"
    display_name = "Twilio API"
    description = "A Twilio account's SID with its Auth Token or an API key."
    Fields = TwilioApiFields
    secret_fields = frozenset({"auth_token", "api_key_secret"})

    @classmethod
    def test_connection(cls, fields: TwilioApiFields | Mapping[str, Any]) -> str:
        """Fetch the account; returns ``Connected to <account name>``.

        Raises:
            NodeError: Twilio refuses the credential or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.twilio._client import TwilioClient

        with TwilioClient(cls.parse(fields)) as client:
            account = client.request("GET", client.account_path(), "checking the credential")
        return f"Connected to {account.get('friendly_name') or account.get('sid')} ({account.get('status', 'active')})"
