"""The Typeform API credential: a personal access token and the account's data center, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

TYPEFORM_API_URL = "https://api.typeform.com"


class TypeformApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: ApiToken = param(
        title="Personal access token",
        description="Account → Your settings → Personal tokens → Generate a new token, with the scopes "
        "accounts:read, forms:read, responses:read and (to delete responses) responses:write.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        TYPEFORM_API_URL,
        title="API URL",
        description="https://api.typeform.com, or https://api.eu.typeform.com for an account in the EU data center.",
        advanced=True,
    )


class TypeformApiCredential(CredentialType):
    id = "typeform_api"
    display_name = "Typeform API"
    description = "A Typeform personal access token."
    Fields = TypeformApiFields
    secret_fields = frozenset({"token"})

    @classmethod
    def test_connection(cls, fields: TypeformApiFields | Mapping[str, Any]) -> str:
        """Ask Typeform whose token it is; returns ``Connected as <alias> (<email>)``.

        Raises:
            NodeError: Typeform refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.typeform._client import TypeformClient

        with TypeformClient(cls.parse(fields)) as client:
            me = client.request("GET", "/me", "checking the token")
        return f"Connected as {me.get('alias') or me.get('email')} ({me.get('email')})"
