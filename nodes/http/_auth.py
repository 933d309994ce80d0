"""What the HTTP nodes share about calling a URL with a credential: the auth kinds, what each adds, checked URLs.

The HTTP Request and GraphQL nodes offer the same credentials (``credentials.py``);
this module turns the one selected on a node into the headers or query
parameters to add, and the strings never to show in an error.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import httpx

from nodes.http.credentials import HttpBasicAuth, HttpBearerAuth, HttpHeaderAuth, HttpQueryAuth, OAuth2Api
from nodes.sdk import Context, CredentialRequirement, NodeError, oauth2_access_token

AuthKind = Literal["none", "header", "basic", "bearer", "query", "oauth2"]
AUTH_TYPES = {
    "header": "http_header_auth",
    "basic": "http_basic_auth",
    "bearer": "http_bearer_auth",
    "query": "http_query_auth",
    "oauth2": OAuth2Api.id,
}
AUTH_DESCRIPTION = (
    "header: a header such as X-API-Key; basic: user and password; bearer: a token; "
    "query: a parameter added to the URL; oauth2: a connected OAuth2 account's access token, refreshed "
    "when it expires or is refused. Credentials are only sent to the URL's own host."
)
CREDENTIAL_CLASSES = {cls.id: cls for cls in (HttpHeaderAuth, HttpBasicAuth, HttpBearerAuth, HttpQueryAuth)}
CREDENTIAL_REQUIREMENTS = tuple(
    CredentialRequirement(type_id, required=False, show_if={"authentication": [kind]})
    for kind, type_id in AUTH_TYPES.items()
)
"""A node's ``credentials`` when its ``authentication`` parameter picks one of :data:`AUTH_TYPES`."""


@dataclass(frozen=True)
class Auth:
    """What a credential adds to requests on its own origin, and the strings never to show.

    ``renew``, for OAuth2, gives the auth to retry with when the origin answers 401.
    """

    headers: Mapping[str, str]
    query: Mapping[str, str]
    secrets: tuple[str, ...]
    renew: Callable[[], Auth] | None = None


NO_AUTH = Auth({}, {}, ())


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def checked_url(raw: str, index: int | None, *, what: str = "the URL") -> httpx.URL:
    """``raw`` as an http(s) URL (``index``: the input item it is for; ``None`` in a trigger).

    Raises:
        NodeError: It is not a valid http:// or https:// URL.
    """
    prefix = "" if index is None else f"item {index}: "
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError) as err:
        raise NodeError(
            f"{prefix}{what} {raw!r} is not a valid URL ({err})",
            description="Enter a full URL such as https://api.example.com/items.",
            item_index=index,
        ) from err
    if url.scheme not in ("http", "https") or not url.host:
        raise NodeError(
            f"{prefix}{what} {raw!r} is not an http:// or https:// URL",
            description="Only http and https URLs can be requested; start the URL with https://.",
            item_index=index,
        )
    return url


def _credential_fields(ctx: Context, kind: str) -> Any:
    type_id = AUTH_TYPES[kind]
    return CREDENTIAL_CLASSES[type_id].parse(ctx.credential(type_id))


def resolve_auth(ctx: Context, kind: str) -> Auth:
    """What the node's credential of ``kind`` (an :data:`AuthKind`) adds to its requests."""
    if kind == "header":
        header = _credential_fields(ctx, kind)
        return Auth({header.name: header.value}, {}, (header.value,))
    if kind == "basic":
        basic = _credential_fields(ctx, kind)
        token = base64.b64encode(f"{basic.user}:{basic.password}".encode()).decode("ascii")
        return Auth({"Authorization": f"Basic {token}"}, {}, (token, basic.password))
    if kind == "bearer":
        bearer = _credential_fields(ctx, kind)
        return Auth({"Authorization": f"Bearer {bearer.token}"}, {}, (bearer.token,))
    if kind == "query":
        query = _credential_fields(ctx, kind)
        return Auth({}, {query.name: query.value}, (query.value, quote(query.value, safe=""), quote_plus(query.value)))
    if kind == "oauth2":
        return _oauth2_auth(ctx)
    return NO_AUTH


def _oauth2_auth(ctx: Context, refused: str | None = None) -> Auth:
    token = oauth2_access_token(ctx, AUTH_TYPES["oauth2"], refused=refused)
    return Auth({"Authorization": f"Bearer {token}"}, {}, (token,), renew=lambda: _oauth2_auth(ctx, token))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    # Short secrets would blank out ordinary words; credentials are never that short in practice.
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
