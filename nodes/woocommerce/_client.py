"""Calling the WooCommerce REST API v3: one client per node run, page numbers, WooCommerce's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx

from nodes.sdk import Context, NodeError
from nodes.woocommerce.credentials import WoocommerceApiCredential, WoocommerceApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 100
"""The largest page WooCommerce serves."""
HINTS = {
    400: "Change what WooCommerce named above, then retry.",
    401: "Check the consumer key and secret (WooCommerce → Settings → Advanced → REST API) and that the store "
    "URL starts with https://; if they are right, the web server drops the Authorization header: ask the host to "
    "pass it on to WordPress.",
    403: "The key may not do this: give it Read/Write permission, for a user who can manage WooCommerce.",
    404: "Check the order id: the order does not exist or was deleted for good.",
    410: "The order is already in the bin: delete it with 'Delete permanently' on.",
    429: "The store's host is limiting requests: retry the node later, or slow the workflow down.",
}
NO_ROUTE_HINT = (
    "Check the store URL: it must be the WordPress site with WooCommerce active, and its permalinks must not be "
    "'Plain' (Settings → Permalinks)."
)


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """WooCommerce's code and message, with what it says about each invalid parameter.

    WordPress answers ``{"code", "message", "data": {"status", "params": {name: problem}}}``.
    """
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    message = str(data.get("message") or "").strip()
    details = data.get("data") if isinstance(data.get("data"), dict) else {}
    params = details.get("params") if isinstance(details.get("params"), dict) else {}
    problems = [str(problem) for problem in params.values() if problem]
    if problems:
        message = f"{message} ({'; '.join(problems)})" if message else "; ".join(problems)
    return str(data.get("code") or ""), message


class WoocommerceClient:
    """An ``httpx`` client signed in with the consumer key and secret; use it as a context manager."""

    def __init__(self, fields: WoocommerceApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._secrets = (fields.consumer_key, fields.consumer_secret)
        self._http = httpx.Client(
            base_url=f"{fields.store_url}/wp-json/wc/v3",
            # Over https WooCommerce takes the key and secret as HTTP basic credentials.
            auth=(fields.consumer_key, fields.consumer_secret),
            headers={"Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> WoocommerceClient:
        """The client for the ``woocommerce_api`` credential selected on the running node."""
        fields = WoocommerceApiCredential.parse(ctx.credential(WoocommerceApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _hide(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _send(
        self,
        method: str,
        path: str,
        action: str,
        item_index: int | None,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            raise NodeError(
                self._hide(f"{prefix}{action} failed: the store could not be reached ({type(err).__name__}: {err})"),
                description="Check the credential's store URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            return response
        status = response.status_code
        code, message = _refusal(response)
        if code == "rest_no_route" or (status == 404 and not code):
            hint = NO_ROUTE_HINT
        else:
            hint = HINTS.get(status, "The store is failing: retry later." if status >= 500 else "See its message.")
        text = f"{prefix}WooCommerce refused {action} ({f'{status} {code}'.strip()})"
        if message:
            text += f": {message}"
        raise NodeError(self._hide(text), description=hint, item_index=item_index)

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
        """Send one request and return WooCommerce's JSON object.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Below ``/wp-json/wc/v3``, e.g. ``/orders/727``.
            action: What the request does, for the message: ``updating order 727``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With WooCommerce's status, code and message and what to do; never the key or secret.
        """
        data = self._json(self._send(method, path, action, item_index, params=params, json=json), action, item_index)
        if not isinstance(data, dict):
            raise self._not_json(action, item_index)
        return data

    def _json(self, response: httpx.Response, action: str, item_index: int | None) -> Any:
        try:
            return response.json()
        except ValueError as err:
            # A WordPress page instead of JSON: the address is a site without the REST API, or a login page.
            raise self._not_json(action, item_index) from err

    @staticmethod
    def _not_json(action: str, item_index: int | None) -> NodeError:
        return NodeError(
            f"{'' if item_index is None else f'item {item_index}: '}{action}: the store answered with something "
            "other than WooCommerce's JSON",
            description=NO_ROUTE_HINT,
            item_index=item_index,
        )

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a list, page by page up to ``X-WP-TotalPages``.

        Raises:
            NodeError: As :meth:`request`.
        """
        per_page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        entries: list[dict[str, Any]] = []
        page = 1
        while True:
            query = {**(params or {}), "page": page, "per_page": per_page}
            response = self._send("GET", path, action, item_index, params=query)
            found = self._json(response, action, item_index)
            if not isinstance(found, list):
                raise self._not_json(action, item_index)
            entries.extend(entry for entry in found if isinstance(entry, dict))
            pages = response.headers.get("x-wp-totalpages", "")
            # Without the header (a caching proxy may drop it), a full page means there may be another.
            more = page < int(pages) if pages.isdigit() else len(found) == per_page
            if not found or not more or (limit is not None and len(entries) >= limit):
                break
            page += 1
        return entries if limit is None else entries[:limit]
