"""The Dropbox API credential: an access token and the API's two hosts, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

DROPBOX_API_URL = "https://api.dropboxapi.com"
DROPBOX_CONTENT_URL = "https://content.dropboxapi.com"


class DropboxApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: ApiToken = param(
        title="Access token",
        description="Generate one in the App Console (your app → Settings → Generated access token) after giving "
        "the app the files.metadata and files.content scopes (read and write) and, for links, sharing.write.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        DROPBOX_API_URL,
        title="API URL",
        description="Dropbox's RPC host; change it only for a proxy or a test server.",
        advanced=True,
    )
    content_url: ApiUrl = param(
        DROPBOX_CONTENT_URL,
        title="Content URL",
        description="Dropbox's host for uploads and downloads; change it only for a proxy or a test server.",
        advanced=True,
    )


class DropboxApiCredential(CredentialType):
    id = "dropbox_api"
    display_name = "Dropbox API"
    description = "A Dropbox app's access token."
    Fields = DropboxApiFields
    secret_fields = frozenset({"access_token"})

    @classmethod
    def test_connection(cls, fields: DropboxApiFields | Mapping[str, Any]) -> str:
        """Ask Dropbox whose account the token reaches; returns ``Connected as <name> (<email>)``.

        Raises:
            NodeError: Dropbox refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.dropbox._client import DropboxClient

        with DropboxClient(cls.parse(fields)) as client:
            account = client.rpc("users/get_current_account", None, "checking the token")
        name = (account.get("name") or {}).get("display_name") or account.get("account_id") or "the token owner"
        return f"Connected as {name} ({account['email']})" if account.get("email") else f"Connected as {name}"
