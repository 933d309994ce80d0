"""Calling Shopify's Admin REST API: a pinned version, cursor paging by ``Link`` headers, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx

from nodes.sdk import Context, NodeError
from nodes.shopify.credentials import ShopifyApiCredential, ShopifyApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
API_VERSION = "2025-01"
"""Pinned so a Shopify release never changes what the nodes send or get; Shopify supports each for a year."""
PAGE_SIZE = 250
"""The largest page Shopify serves."""
HINTS = {
    400: "Change what Shopify named above, then retry.",
    401: "The access token is wrong or was revoked: copy the Admin API access token of the custom app "
    "(Settings → Apps and sales channels → Develop apps → the app → API credentials) into the credential.",
    402: "The shop is frozen for an unpaid bill: Shopify refuses changes until the bill is paid.",
    403: "The app lacks an access scope for this: give it read_orders and write_orders (or read_products and "
    "write_products) under Configuration → Admin API integration, reinstall it and paste the new token.",
    404: "Check the id (the number in the Shopify admin's address, not the order name #1001) and the shop "
    "in the credential.",
    406: "Check the shop in the credential: it must be the shop's myshopify.com subdomain.",
    422: "Change what Shopify named above, then retry.",
    423: "The shop is locked (an admin locked it or Shopify is migrating it): retry later.",
}


def names(value: Any) -> Any:
    """Tags typed as text separated by commas or as a list, as a list (Shopify tags may hold spaces)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def _refusal(response: httpx.Response) -> str:
    """Shopify's ``errors``: one sentence, or ``{field: [messages]}`` read as ``field message``."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors", data.get("error"))
    if isinstance(errors, str):
        return errors.strip()
    if isinstance(errors, list):
        return "; ".join(str(entry) for entry in errors)
    if isinstance(errors, dict):
        parts = []
        for name, messages in errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                # Shopify names a whole-record problem "base"; its message reads on its own.
                parts.append(str(message) if name == "base" else f"{name} {message}")
        return "; ".join(parts)
    return ""


class ShopifyClient:
    """An ``httpx`` client signed in with the Admin API access token; use it as a context manager."""

    def __init__(self, fields: ShopifyApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.access_token
        self._api = f"{fields.base_url}/admin/api/{API_VERSION}"
        self._http = httpx.Client(
            base_url=self._api,
            headers={"X-Shopify-Access-Token": fields.access_token, "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> ShopifyClient:
        """The client for the ``shopify_api`` credential selected on the running node."""
        fields = ShopifyApiCredential.parse(ctx.credential(ShopifyApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _send(
        self,
        method: str,
        url: str,
        action: str,
        item_index: int | None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, url, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Shopify could not be reached ({detail})",
                description="Check the credential's shop and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            return response
        status = response.status_code
        message = _refusal(response)
        if status == 429:
            wait = response.headers.get("retry-after", "")
            try:
                seconds = f"{float(wait):g} seconds"
            except ValueError:
                seconds = "a few seconds"
            text = f"{prefix}Shopify is limiting requests and refused {action} (429)"
            hint = (
                f"Wait {seconds} and retry the node, or slow the workflow down (Loop Over Items with a Wait): "
                "Shopify allows about 2 requests per second per app."
            )
        else:
            text = f"{prefix}Shopify refused {action} ({status})"
            hint = HINTS.get(status, "Shopify is failing: retry later." if status >= 500 else "See Shopify's message.")
        if message:
            text += f": {message}"
        raise NodeError(text.replace(self._token, "***"), description=hint, item_index=item_index)

    def request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Shopify's JSON answer (``{}`` for an empty one).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Below ``/admin/api/<version>``, e.g. ``/orders/450789469.json``.
            action: What the request does, for the message: ``updating order 450789469``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Shopify's status and errors and what to do; never the token.
        """
        response = self._send(method, path, action, item_index, params=params, json=json)
        return self._json(response, action, item_index)

    def _json(self, response: httpx.Response, action: str, item_index: int | None) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise NodeError(
                f"{'' if item_index is None else f'item {item_index}: '}{action}: Shopify answered "
                f"{response.status_code} with something other than JSON",
                description="Check the credential's shop: acme for acme.myshopify.com.",
                item_index=item_index,
            )
        return data

    def paginate(
        self,
        path: str,
        key: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) under ``key``, following ``Link: <…>; rel="next"``.

        Shopify's next link carries a ``page_info`` cursor and the page size only: the filters of the first
        request live in the cursor, and Shopify refuses them beside it, so the link is followed as given.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the shop.
        """
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        query: Mapping[str, Any] | None = {**(params or {}), "limit": size}
        url = path
        entries: list[dict[str, Any]] = []
        while True:
            response = self._send("GET", url, action, item_index, params=query)
            found = [entry for entry in self._json(response, action, item_index).get(key) or [] if entry]
            entries.extend(found)
            following = response.links.get("next", {}).get("url")
            if not following or not found or (limit is not None and len(entries) >= limit):
                break
            if not following.startswith(self._api + "/"):
                # The token goes with every request: never follow a link to another host.
                raise NodeError(
                    f"{'' if item_index is None else f'item {item_index}: '}{action}: Shopify's next page is "
                    f"outside the shop's address ({following})",
                    description="Check the credential's shop: use the address Shopify's own links start with.",
                    item_index=item_index,
                )
            url, query = following, None
        return entries if limit is None else entries[:limit]
