"""The Google service-account credential, and Google API clients signed in with it.

The studio signs a JWT with the account's private key and trades it for an
access token at the key's ``token_uri`` (OAuth 2.0's JWT-bearer grant); the
private key never leaves the studio.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import GoogleAuthError, RefreshError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import Context, CredentialType, NodeError, param

DEFAULT_TIMEOUT_SECONDS = 30.0
REQUIRED_KEYS = ("client_email", "private_key", "token_uri")
SCOPES = {
    "sheets": ("https://www.googleapis.com/auth/spreadsheets",),
    "drive": ("https://www.googleapis.com/auth/drive",),
    # Full mail access: permanent deletion needs it (gmail.modify only trashes).
    "gmail": ("https://mail.google.com/",),
    "calendar": ("https://www.googleapis.com/auth/calendar",),
    "tasks": ("https://www.googleapis.com/auth/tasks",),
    "docs": ("https://www.googleapis.com/auth/documents",),
    "people": ("https://www.googleapis.com/auth/contacts",),
    "bigquery": ("https://www.googleapis.com/auth/bigquery",),
}
SERVICE_PATHS = {
    "sheets": "",
    "drive": "drive/v3/",
    "gmail": "",
    "calendar": "calendar/v3/",
    "tasks": "",
    "docs": "",
    "people": "",
    "bigquery": "bigquery/v2/",
}
"""Where each API lives under its root URL (from the discovery documents)."""


class GoogleServiceAccountFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_account_json: str = param(
        title="Service account key (JSON)",
        description="The JSON key file of the service account (IAM → Service accounts → Keys → Add key). "
        "Share the spreadsheets and folders with the account's client_email.",
        widget="textarea",
        min_length=2,
    )
    delegated_user: str = param(
        "",
        title="Act as user",
        description="Google Workspace only: the email of a user to act for (needs domain-wide delegation).",
        advanced=True,
    )
    api_root_url: str = param(
        "",
        title="API root URL",
        description="A proxy or private endpoint standing in for https://www.googleapis.com/; empty: Google.",
        advanced=True,
    )

    @field_validator("service_account_json")
    @classmethod
    def _key_file(cls, value: str) -> str:
        try:
            data = json.loads(value)
        except ValueError as err:
            raise ValueError(f"the key is not JSON ({err.args[0]}); paste the whole key file") from err
        if not isinstance(data, dict):
            raise ValueError("the key must be a JSON object; paste the whole key file")
        missing = [key for key in REQUIRED_KEYS if not isinstance(data.get(key), str) or not data[key].strip()]
        if missing:
            raise ValueError(f"the key has no {', '.join(missing)}; download a new JSON key of the service account")
        if data.get("type", "service_account") != "service_account":
            raise ValueError(f"this is a {data['type']!r} key, not a service account's")
        return value

    @field_validator("api_root_url")
    @classmethod
    def _root(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("the API root URL must start with https://")
        return value if not value or value.endswith("/") else value + "/"

    def info(self) -> dict[str, Any]:
        return json.loads(self.service_account_json)


class GoogleServiceAccountCredential(CredentialType):
    id = "google_service_account"
    display_name = "Google service account"
    description = (
        "A Google Cloud service account's JSON key, for Sheets, Drive, Docs, Calendar, Tasks and BigQuery, and for "
        "Gmail and Contacts when it acts as a Workspace user."
    )
    Fields = GoogleServiceAccountFields
    secret_fields = frozenset({"service_account_json"})

    @classmethod
    def test_connection(cls, fields: GoogleServiceAccountFields | Mapping[str, Any]) -> str:
        """Trade the key for an access token; returns ``Signed in as <client_email>``.

        Raises:
            NodeError: Google refuses the key or cannot be reached.
        """
        checked = cls.parse(fields)
        signed = _signed_in(checked, SCOPES["sheets"] + SCOPES["drive"])
        http = httplib2.Http(timeout=int(DEFAULT_TIMEOUT_SECONDS))
        try:
            signed.refresh(google_auth_httplib2.Request(http))
        except (GoogleAuthError, OSError, httplib2.HttpLib2Error) as err:
            raise sign_in_error(checked, err) from err
        return f"Signed in as {signed.service_account_email}"


def _signed_in(fields: GoogleServiceAccountFields, scopes: tuple[str, ...]) -> service_account.Credentials:
    try:
        signed = service_account.Credentials.from_service_account_info(fields.info(), scopes=list(scopes))
    except (ValueError, GoogleAuthError) as err:
        raise NodeError(
            f"the Google service account key cannot be used: {err}",
            description="Download a new JSON key of the service account and paste it whole.",
        ) from err
    return signed.with_subject(fields.delegated_user.strip()) if fields.delegated_user.strip() else signed


def sign_in_error(fields: GoogleServiceAccountFields, err: Exception, item_index: int | None = None) -> NodeError:
    """Why the token exchange failed, as a :class:`NodeError` (the key itself never appears)."""
    prefix = f"item {item_index}: " if item_index is not None else ""
    email = fields.info().get("client_email")
    if isinstance(err, RefreshError):
        return NodeError(
            f"{prefix}Google refused the service account {email}: {err.args[0] if err.args else err}",
            description="The key may be deleted or disabled: create a new key, or check 'Act as user'.",
            item_index=item_index,
        )
    return NodeError(
        f"{prefix}cannot reach Google to sign in as {email}: {err}",
        description="Check the network (and the API root URL, if set).",
        item_index=item_index,
    )


def google_service(ctx: Context, api: str, version: str) -> tuple[Any, GoogleServiceAccountFields]:
    """A discovery client of ``api`` signed in with the node's ``google_service_account`` credential.

    Built from the discovery document shipped in the package (no network
    round trip), with the node's remaining time as the socket timeout.
    """
    fields = GoogleServiceAccountCredential.parse(ctx.credential(GoogleServiceAccountCredential.id))
    remaining = ctx.remaining_seconds()
    timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(1.0, min(remaining, DEFAULT_TIMEOUT_SECONDS))
    authorized = google_auth_httplib2.AuthorizedHttp(
        _signed_in(fields, SCOPES[api]), http=httplib2.Http(timeout=int(max(1, timeout)))
    )
    options = {"api_endpoint": fields.api_root_url + SERVICE_PATHS[api]} if fields.api_root_url else None
    service = build(api, version, http=authorized, static_discovery=True, cache_discovery=False, client_options=options)
    return service, fields
