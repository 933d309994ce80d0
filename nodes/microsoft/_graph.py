"""Calling Microsoft Graph: tokens, one client per node run, ``@odata.nextLink`` paging, Graph's refusals as NodeErrors.

A node signs in one of two ways: with the ``microsoft_graph`` credential (an app
using the client credentials flow, whose token is cached per credential until
shortly before it expires) or with a connected ``oauth2`` credential (a person's
delegated token, which the studio refreshes). A token Graph refuses (401) is
renewed once. Throttled requests (429, 503) are sent again when Graph's
Retry-After is short; a long one fails the item with the wait in the message.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import field_validator

from nodes._rest import Connection, RestClient
from nodes.http.credentials import OAuth2Api
from nodes.microsoft.credentials import GRAPH_URL, MicrosoftGraphCredential, MicrosoftGraphFields
from nodes.sdk import (
    Context,
    CredentialRequirement,
    NodeError,
    Parameters,
    oauth2_access_token,
    param,
)

DEFAULT_TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 100
"""Entries asked for per page ($top): every list the nodes read serves at least this many."""
MAX_THROTTLE_WAITS = 3
MAX_THROTTLE_WAIT_SECONDS = 10.0
"""Wait out a Retry-After this short; a longer one fails the item with the wait in the message."""
TOKEN_RENEW_EARLY_SECONDS = 300.0
"""Take a new app token this long before the old one expires: a run may use it for a while after taking it."""
MAX_UPLOAD_STALLS = 3

Authentication = Literal["client_credentials", "oauth2"]
AUTHENTICATION = {"authentication": ["oauth2"]}
CREDENTIALS = (
    CredentialRequirement(
        MicrosoftGraphCredential.id, required=False, show_if={"authentication": ["client_credentials"]}
    ),
    CredentialRequirement(OAuth2Api.id, required=False, show_if=AUTHENTICATION),
)
"""A Graph node's ``credentials``: the one its ``authentication`` parameter picks."""

TokenSource = Callable[[str | None, int | None], str]
"""Gives an access token: ``(refused token or None, item index)``; a refused one is replaced."""


class GraphParameters(Parameters):
    """What every Graph node asks first: how to sign in (and, for a connected account, where Graph is)."""

    authentication: Authentication = param(
        "client_credentials",
        title="Authentication",
        description="client_credentials: a Microsoft Graph (app) credential acting for any user its application "
        "permissions allow; oauth2: a connected OAuth2 account (Microsoft provider) acting as that person.",
        no_expressions=True,
    )
    graph_url: str = param(
        GRAPH_URL,
        title="Graph API URL",
        description="Microsoft Graph's address for the connected account; national clouds: "
        "https://graph.microsoft.us/v1.0.",
        show_if=AUTHENTICATION,
        advanced=True,
        no_expressions=True,
    )

    @field_validator("graph_url")
    @classmethod
    def _graph_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("the Graph API URL must start with https://")
        return value.rstrip("/")


def user_field(what: str, show_if: Mapping[str, list[Any]] | None = None) -> Any:
    """The ``user`` parameter: whose ``what`` (mailbox, drive, tasks) the node works on."""
    return param(
        "",
        title="User",
        description=f"The user whose {what} to use: their id or user principal name (ada@contoso.com). "
        "Empty with an OAuth2 account: the signed-in person's.",
        placeholder="ada@contoso.com",
        show_if=show_if,
    )


def check_user(authentication: str, user: str) -> None:
    """Refuse an empty user for an app: it has no mailbox, drive or tasks of its own.

    Raises:
        ValueError: For the parameter model's validator.
    """
    if authentication == "client_credentials" and not user.strip():
        raise ValueError(
            "with client credentials, set the user (id or user principal name): an app has no mailbox, drive or "
            "tasks of its own"
        )


def user_base(user: str) -> str:
    """``/users/<id or UPN>``, or ``/me`` for the signed-in person when ``user`` is empty."""
    user = user.strip()
    return f"/users/{quote(user, safe='@')}" if user else "/me"


def segment(value: str) -> str:
    """An id or name as one escaped path segment."""
    return quote(value.strip(), safe="")


def split_list(value: Any) -> Any:
    """A list parameter typed as text (``a@x.com, b@x.com``) or a list, as a list of non-empty strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


@dataclass(frozen=True)
class Permissions:
    """The Graph permissions a node needs, named in the hint of a 403."""

    application: str
    delegated: str


_tokens: dict[tuple[str, str, str, str], tuple[str, float]] = {}
_token_locks: dict[tuple[str, str, str, str], threading.Lock] = {}
_tokens_guard = threading.Lock()
AADSTS_HINTS = {
    "AADSTS7000215": "The client secret is wrong: paste the secret's Value (not its Secret ID) into the credential.",
    "AADSTS7000222": "The client secret has expired: create one under Certificates & secrets and paste its Value.",
    "AADSTS700016": "No app with this client ID is registered in the tenant: check the Application (client) ID, and "
    "that the tenant ID is the app's directory.",
    "AADSTS90002": "No tenant has this ID: use the Directory (tenant) ID from the app registration's Overview.",
    "AADSTS900023": "The tenant ID is not valid: use the Directory (tenant) ID (a GUID) or the tenant's domain.",
    "AADSTS1002012": "The scope was refused: check the credential's Graph API URL.",
    "AADSTS70011": "The scope was refused: check the credential's Graph API URL.",
}
TOKEN_ERROR_HINTS = {
    "invalid_client": "Check the client secret (its Value, not its ID) and that it has not expired.",
    "unauthorized_client": "Check the client ID, and that the app registration belongs to this tenant.",
    "invalid_request": "Check the tenant ID and the client ID.",
}


def _token_key(fields: MicrosoftGraphFields) -> tuple[str, str, str, str]:
    # The secret takes part as a digest: a changed secret is another cache entry, and the key holds no secret.
    digest = hashlib.sha256(fields.client_secret.encode()).hexdigest()
    return fields.token_url(), fields.client_id, fields.scope(), digest


def fetch_token(
    fields: MicrosoftGraphFields,
    *,
    fresh: bool = False,
    refused: str | None = None,
    timeout: float | None = None,
    item_index: int | None = None,
) -> str:
    """An app access token for ``fields``, from the cache while it is valid, else from the token endpoint.

    Args:
        fields: The credential.
        fresh: Ask the token endpoint even if a cached token is still valid (testing the credential).
        refused: A token Graph refused: never hand it out again.
        timeout: Seconds for the token request.
        item_index: The item being processed, named in the error.

    Raises:
        NodeError: Microsoft Entra ID refused the app or could not be reached; never with the secret.
    """
    key = _token_key(fields)
    with _tokens_guard:
        lock = _token_locks.setdefault(key, threading.Lock())
    # One request per credential at a time: runs starting together share the token the first one gets.
    with lock:
        cached = _tokens.get(key)
        if cached and not fresh and cached[0] != refused and time.monotonic() < cached[1]:
            return cached[0]
        token, lifetime = _request_token(fields, timeout, item_index)
        _tokens[key] = (token, time.monotonic() + lifetime - min(TOKEN_RENEW_EARLY_SECONDS, lifetime / 2))
        return token


def _request_token(fields: MicrosoftGraphFields, timeout: float | None, item_index: int | None) -> tuple[str, float]:
    prefix = f"item {item_index}: " if item_index is not None else ""
    form = {
        "grant_type": "client_credentials",
        "client_id": fields.client_id,
        "client_secret": fields.client_secret,
        "scope": fields.scope(),
    }
    seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
    try:
        response = httpx.post(fields.token_url(), data=form, headers={"Accept": "application/json"}, timeout=seconds)
    except httpx.HTTPError as err:
        raise NodeError(
            f"{prefix}Microsoft's sign-in at {fields.login_url} could not be reached ({type(err).__name__})",
            description="Check the credential's sign-in URL and the network, then retry.",
            item_index=item_index,
        ) from err
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    token = body.get("access_token")
    if response.is_success and isinstance(token, str) and token:
        try:
            lifetime = float(body.get("expires_in") or 3599)
        except (TypeError, ValueError):
            lifetime = 3599.0
        return token, lifetime
    error = str(body.get("error") or f"HTTP {response.status_code}")
    # Entra's description goes on with trace and correlation ids on further lines; the first says what is wrong.
    reason = str(body.get("error_description") or "").strip().splitlines()
    first = reason[0] if reason else response.reason_phrase
    code = first.split(":", 1)[0].strip()
    hint = AADSTS_HINTS.get(code) or TOKEN_ERROR_HINTS.get(error, "See Microsoft's message.")
    message = (
        f"{prefix}Microsoft Entra ID refused the app {fields.client_id} in tenant {fields.tenant_id} "
        f"({response.status_code} {error}): {first}"
    )
    raise NodeError(message.replace(fields.client_secret, "***"), description=hint, item_index=item_index)


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, unverified (only to show who signed in); ``{}`` for an opaque token."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _graph_error(response: httpx.Response) -> tuple[str, str]:
    """Graph's ``{"error": {"code", "message", "innerError"}}`` as (code, message); or the body's text."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip() or response.reason_phrase
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or response.reason_phrase)
    return "", response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class GraphClient(RestClient[str]):
    """An ``httpx`` client for Graph that signs each request with a current token; use it as a context manager.

    Unlike other clients it is not built from one credential's fields: the token comes from ``tokens`` per
    request (renewed when Graph refuses it), so :meth:`connect` takes only the Graph URL and :meth:`mask`
    hides the current token.

    Args:
        tokens: Where access tokens come from (see :data:`TokenSource`).
        graph_url: Graph's address with its version, without a trailing slash.
        authentication: How the node signs in, for the hints of a 401 and a 403.
        permissions: What the node needs, named when Graph answers 403.
        not_found: What to check when Graph answers 404.
        timeout: The node's remaining seconds, if it has a timeout.
    """

    service = "Microsoft Graph"
    credential_type = MicrosoftGraphCredential
    unreachable_hint = "Check the Graph API URL and the network, then retry."
    not_json_hint = "Check the Graph API URL: it must be Graph's address with its version (…/v1.0)."

    def __init__(
        self,
        tokens: TokenSource,
        graph_url: str,
        *,
        authentication: Authentication,
        permissions: Permissions,
        not_found: str,
        timeout: float | None = None,
    ) -> None:
        self._tokens = tokens
        self._token: str | None = None
        self._authentication = authentication
        self._permissions = permissions
        self._not_found = not_found
        self._deadline = None if timeout is None else time.monotonic() + timeout
        super().__init__(graph_url, timeout)

    def connect(self, fields: str) -> Connection:
        self._base = fields
        # Redirects are followed by hand (httpx's default): a download's redirect leads to a pre-authenticated
        # URL on another host.
        return Connection(base_url=fields, headers={"Accept": "application/json"})

    @classmethod
    def for_node(  # type: ignore[override]  # the credential is the one the node's authentication picks
        cls, ctx: Context, params: GraphParameters, *, permissions: Permissions, not_found: str
    ) -> GraphClient:
        """The client for the credential the node's ``authentication`` picks."""
        timeout = ctx.remaining_seconds()
        if params.authentication == "oauth2":

            def delegated(refused: str | None, item_index: int | None) -> str:
                try:
                    return oauth2_access_token(ctx, OAuth2Api.id, refused=refused)
                except NodeError as err:
                    prefix = f"item {item_index}: " if item_index is not None else ""
                    raise NodeError(prefix + err.message, description=err.description, item_index=item_index) from err

            return cls(
                delegated,
                params.graph_url,
                authentication="oauth2",
                permissions=permissions,
                not_found=not_found,
                timeout=timeout,
            )
        fields = MicrosoftGraphCredential.parse(ctx.credential(MicrosoftGraphCredential.id))

        def app(refused: str | None, item_index: int | None) -> str:
            return fetch_token(fields, refused=refused, timeout=ctx.remaining_seconds(), item_index=item_index)

        return cls(
            app,
            fields.graph_url,
            authentication="client_credentials",
            permissions=permissions,
            not_found=not_found,
            timeout=timeout,
        )

    def mask(self, text: str) -> str:
        """``text`` with the current access token replaced by ``***``."""
        return text.replace(self._token, "***") if self._token else text

    def _may_wait(self, seconds: float | None, waits: int) -> bool:
        if seconds is None or seconds > MAX_THROTTLE_WAIT_SECONDS or waits >= MAX_THROTTLE_WAITS:
            return False
        return self._deadline is None or time.monotonic() + seconds < self._deadline

    def _send(
        self,
        method: str,
        url: str,
        action: str,
        item_index: int | None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        redirect_ok: bool = False,
    ) -> httpx.Response:
        """One request, renewing a refused token once and waiting out short throttling; raises on a refusal.

        ``signed=False`` sends no token: upload sessions and download links are pre-authenticated, and
        Graph refuses a token on them.
        """
        renewed = False
        waits = 0
        while True:
            sent = dict(headers or {})
            if signed:
                if self._token is None:
                    self._token = self._tokens(None, item_index)
                sent["Authorization"] = f"Bearer {self._token}"
            try:
                # Pre-authenticated URLs carry no token, so their own redirects are safe to follow.
                response = self._http.request(
                    method, url, params=params, json=json, content=content, headers=sent, follow_redirects=not signed
                )
            except httpx.HTTPError as err:
                raise self.unreachable(err, action, item_index) from err
            if signed and response.status_code == 401 and not renewed:
                renewed = True
                self._token = self._tokens(self._token, item_index)
                continue
            wait = _retry_after(response) if response.status_code in (429, 503) else None
            if self._may_wait(wait, waits):
                waits += 1
                time.sleep(wait or 0.0)
                continue
            if response.is_success or (redirect_ok and response.is_redirect):
                return response
            raise self.refusal(response, action, item_index)

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Graph's code and message, hinted by status and by how the node signs in."""
        status = response.status_code
        code, message = _graph_error(response)
        label = f"{status} {code}" if code else str(status)
        app = self._authentication == "client_credentials"
        if status == 401:
            text = f"Microsoft Graph did not accept the access token while {action} ({label}): {message}"
            hint = (
                "Check the credential's tenant ID and Graph API URL: the token must come from the tenant the data "
                "lives in."
                if app
                else "Reconnect the OAuth2 credential (Microsoft provider) under Credentials."
            )
        elif status == 429 or (status == 503 and _retry_after(response) is not None):
            wait = _retry_after(response)
            after = f"wait {wait:g} seconds" if wait is not None else "wait a while"
            text = f"Microsoft Graph is throttling requests and refused {action} ({label}): {message}"
            hint = f"{after.capitalize()} and retry, or slow the workflow down (Loop Over Items with a Wait)."
        else:
            text = f"Microsoft Graph refused {action} ({label}): {message}"
            if status == 403:
                hint = (
                    f"Grant the app the application permission {self._permissions.application} (Entra ID → App "
                    "registrations → API permissions) and an admin's consent."
                    if app
                    else f"Connect the OAuth2 credential with the delegated scope {self._permissions.delegated}."
                )
            elif status == 404:
                hint = self._not_found
            elif status == 409:
                hint = "Something with that name already exists, or it changed meanwhile: pick another name, or retry."
            elif status == 413:
                hint = "The request is too large for Graph: send a smaller file or fewer attachments."
            elif status == 423:
                hint = "The item is locked (open for editing or checked out): retry later."
            elif status == 507:
                hint = "The drive is full: free some space, then retry."
            elif status >= 500:
                hint = "Microsoft Graph is failing: retry later."
            else:
                hint = "Change what Graph's message names, then retry."
        return self.error(text, hint, item_index)

    def request(  # type: ignore[override]  # a raw body with its type; every request goes through _send
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """Send one request and return Graph's JSON answer (``{}`` for an empty one, such as a 202 or 204).

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``.
            path: Below the Graph API URL: ``/users/<id>/messages``...
            action: What the request does, for the message: ``sending mail as ada@contoso.com``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters (``$filter``, ``$top``...).
            json: The JSON body.
            content: A raw body (file contents), with ``content_type``.
            content_type: The raw body's media type.

        Raises:
            NodeError: With Graph's status, code and message and what to do; never the token.
        """
        headers = {"Content-Type": content_type} if content is not None and content_type else None
        response = self._send(
            method, path, action, item_index, params=params, json=json, content=content, headers=headers
        )
        return self.decode(response, action, item_index)

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a collection, following ``@odata.nextLink``.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the Graph API URL.
        """
        top = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        query: dict[str, Any] | None = {**(params or {}), "$top": top}
        url = path
        entries: list[dict[str, Any]] = []
        while True:
            page = self.decode(self._send("GET", url, action, item_index, params=query), action, item_index)
            values = page.get("value") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise self.error(
                    f"{action}: Microsoft Graph's answer has no list of values", self.not_json_hint, item_index
                )
            entries.extend(values)
            following = page.get("@odata.nextLink")
            if not following or not values or (limit is not None and len(entries) >= limit):
                break
            if not str(following).startswith(self._base + "/"):
                # The token goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Graph's next page is outside the Graph API URL ({following})",
                    "Check the Graph API URL: use the address Graph's own links start with.",
                    item_index,
                )
            url, query = str(following), None
        return entries if limit is None else entries[:limit]

    def download(self, path: str, action: str, *, item_index: int | None = None) -> bytes:
        """The bytes behind a ``…/content`` path, following Graph's redirect to the file's download URL.

        Raises:
            NodeError: As :meth:`request`, or when the download URL fails.
        """
        response = self._send("GET", path, action, item_index, redirect_ok=True)
        if response.is_redirect:
            location = str(response.url.join(response.headers.get("location", "")))
            # The download URL is pre-authenticated for a short while; the token stays with Graph.
            response = self._send("GET", location, action, item_index, signed=False)
        return response.content

    def upload_session(
        self,
        path: str,
        item: Mapping[str, Any],
        data: bytes,
        action: str,
        *,
        chunk_bytes: int,
        item_index: int | None = None,
    ) -> dict[str, Any]:
        """Upload ``data`` through an upload session at ``path`` (``…/createUploadSession``) in chunks.

        Each chunk is a PUT of ``chunk_bytes`` (a multiple of 320 KiB, as Graph requires) to the session's
        pre-authenticated URL with its ``Content-Range``; Graph answers 202 with the ranges it still expects,
        then the new drive item. A failed upload cancels its session.

        Raises:
            NodeError: As :meth:`request`, or when the session stops moving forward.
        """
        session = self.request("POST", path, action, item_index=item_index, json={"item": dict(item)})
        upload_url = str(session.get("uploadUrl") or "")
        if not upload_url:
            raise self.error(
                f"{action}: Microsoft Graph started an upload session without an upload URL",
                "Retry the node; if it keeps failing, upload the file in smaller parts.",
                item_index,
            )
        total = len(data)
        start, stalls = 0, 0
        try:
            while True:
                end = min(start + chunk_bytes, total) - 1
                response = self._send(
                    "PUT",
                    upload_url,
                    action,
                    item_index,
                    content=data[start : end + 1],
                    headers={"Content-Range": f"bytes {start}-{end}/{total}"},
                    signed=False,
                )
                if response.status_code in (200, 201):
                    return self.decode(response, action, item_index)
                expected = self.decode(response, action, item_index).get("nextExpectedRanges") or []
                following = int(str(expected[0]).split("-", 1)[0]) if expected else end + 1
                stalls = stalls + 1 if following <= start else 0
                if stalls > MAX_UPLOAD_STALLS or following >= total:
                    raise self.error(
                        f"{action}: the upload session stopped moving forward at byte {following} of {total}",
                        "Retry the node.",
                        item_index,
                    )
                start = following
        except NodeError:
            # A session keeps its bytes for days unless cancelled.
            with contextlib.suppress(httpx.HTTPError):
                self._http.delete(upload_url)
            raise
