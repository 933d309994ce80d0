"""The Matrix API credential: a homeserver's address and an account's access token, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param


class MatrixApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    homeserver_url: ApiUrl = param(
        title="Homeserver URL",
        description="The account's homeserver (its client API address), without /_matrix.",
        placeholder="https://matrix.example.org",
    )
    access_token: ApiToken = param(
        title="Access token",
        description="The account's access token (Element: Settings → Help & About → Access Token); a bot "
        "account is best, as the token acts in its name.",
        widget="password",
        min_length=1,
    )

    @field_validator("homeserver_url")
    @classmethod
    def _no_api_path(cls, value: str) -> str:
        return value.split("/_matrix", 1)[0].rstrip("/")


class MatrixApiCredential(CredentialType):
    id = "matrix_api"
    display_name = "Matrix API"
    description = "A Matrix homeserver and an account's access token."
    Fields = MatrixApiFields
    secret_fields = frozenset({"access_token"})

    @classmethod
    def test_connection(cls, fields: MatrixApiFields | Mapping[str, Any]) -> str:
        """Ask the homeserver whose token it is; returns ``Connected as @user:server``.

        Raises:
            NodeError: The homeserver refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.matrix._client import MatrixClient

        with MatrixClient(cls.parse(fields)) as client:
            answer = client.request("GET", "/account/whoami", "checking the access token")
        return f"Connected as {answer.get('user_id') or 'the token owner'}"
