"""The OAuth2 protocol, client side: PKCE, the authorization URL, and the calls to token and revoke endpoints.

No database here (``services/oauth.py`` keeps states and tokens); this module
only speaks to the provider. Error messages quote the provider's ``error`` and
``error_description`` but never a request body, so no code, secret or token
ends up in a message, a log or a run.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from nodes.http.credentials import OAuth2Fields

TIMEOUT_SECONDS = 30.0
MAX_MESSAGE_CHARS = 300


class ProviderError(Exception):
    """The provider refused, or could not be reached; the message says which, without secrets."""


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint granted."""

    access_token: str
    refresh_token: str | None
    token_type: str
    expires_at: datetime | None
    scopes: list[str]

    def sealed(self) -> dict[str, Any]:
        """The part that is encrypted at rest (expiry and scopes are kept in clear beside it)."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "token_type": self.token_type}


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_verifier() -> str:
    """A PKCE code verifier: 86 URL-safe characters (RFC 7636 allows 43 to 128)."""
    return secrets.token_urlsafe(64)


def challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(fields: OAuth2Fields, *, redirect_uri: str, state: str, code_challenge: str) -> str:
    """Where to send the browser; parameters the preset URL already carries (Google's ``access_type``) are kept."""
    url = fields.endpoints().authorization_url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(
        {
            "response_type": "code",
            "client_id": fields.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    if fields.scope_list():
        query["scope"] = " ".join(fields.scope_list())
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote_plus)))


def exchange_code(fields: OAuth2Fields, *, code: str, verifier: str, redirect_uri: str, now: datetime) -> TokenSet:
    """Trade an authorization code (and its PKCE verifier) for tokens.

    Raises:
        ProviderError: The provider refused the code or could not be reached.
    """
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    body = _token_call(fields, form)
    return _token_set(body, fields, now=now, previous_refresh=None)


def refresh(fields: OAuth2Fields, *, refresh_token: str, now: datetime) -> TokenSet:
    """A new access token for ``refresh_token``; the refresh token is kept when the provider sends no new one.

    Raises:
        ProviderError: The provider refused (``invalid_grant``: the grant was revoked) or could not be reached.
    """
    body = _token_call(fields, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    return _token_set(body, fields, now=now, previous_refresh=refresh_token)


def revoke_token(fields: OAuth2Fields, *, token: str, hint: str) -> None:
    """Ask the provider to revoke ``token`` (RFC 7009); for a refresh token, that ends the whole grant.

    Raises:
        ProviderError: The provider refused or could not be reached.
    """
    url = fields.endpoints().revoke_url
    response = _post(url, fields, {"token": token, "token_type_hint": hint})
    body = _body(response)
    if response.is_error or body.get("error") or body.get("ok") is False:
        raise ProviderError(f"the revoke endpoint {_where(url)} answered {response.status_code}{_reason(body)}")


def _token_call(fields: OAuth2Fields, form: dict[str, str]) -> dict[str, Any]:
    url = fields.endpoints().token_url
    response = _post(url, fields, form)
    body = _body(response)
    # GitHub and Slack answer 200 with an error in the body.
    if response.is_error or body.get("error") or body.get("ok") is False:
        raise ProviderError(f"the token endpoint {_where(url)} answered {response.status_code}{_reason(body)}")
    return body


def _post(url: str, fields: OAuth2Fields, form: dict[str, str]) -> httpx.Response:
    auth: httpx.Auth | None = None
    data = dict(form)
    if fields.client_authentication == "header" and fields.client_secret:
        # RFC 6749 2.3.1: each part form-encoded before HTTP Basic.
        auth = httpx.BasicAuth(quote_plus(fields.client_id), quote_plus(fields.client_secret))
    else:
        data["client_id"] = fields.client_id
        if fields.client_secret:
            data["client_secret"] = fields.client_secret
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            return client.post(url, data=data, auth=auth, headers={"Accept": "application/json"})
    except httpx.HTTPError as err:
        raise ProviderError(f"{_where(url)} could not be reached ({type(err).__name__})") from err


def _where(url: str) -> str:
    """The URL without its query, which may carry parameters nobody should read in a log."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment=""))


def _body(response: httpx.Response) -> dict[str, Any]:
    """JSON, or the form encoding GitHub uses when it ignores ``Accept``; anything else is empty."""
    try:
        parsed = response.json()
    except ValueError:
        parsed = dict(parse_qsl(response.text)) if "=" in response.text else {}
    return parsed if isinstance(parsed, dict) else {}


def _reason(body: dict[str, Any]) -> str:
    error = str(body.get("error") or "").strip()
    description = str(body.get("error_description") or "").strip()
    reason = ": ".join(part for part in (error, description) if part)
    return f" ({reason[:MAX_MESSAGE_CHARS]})" if reason else ""


def _token_set(body: dict[str, Any], fields: OAuth2Fields, *, now: datetime, previous_refresh: str | None) -> TokenSet:
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderError(f"the token endpoint {_where(fields.endpoints().token_url)} sent no access_token")
    expires_at = None
    try:
        seconds = int(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        seconds = 0
    if seconds > 0:
        expires_at = now + timedelta(seconds=seconds)
    granted = body.get("scope")
    scopes = str(granted).replace(",", " ").split() if granted else fields.scope_list()
    refresh_token = body.get("refresh_token") or previous_refresh
    return TokenSet(
        access_token=access,
        refresh_token=str(refresh_token) if refresh_token else None,
        token_type=str(body.get("token_type") or "Bearer"),
        expires_at=expires_at,
        scopes=scopes,
    )
