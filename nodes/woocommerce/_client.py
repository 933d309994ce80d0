"""Calling the WooCommerce REST API v3: one client per node run, page numbers, WooCommerce's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.woocommerce.credentials import WoocommerceApiCredential, WoocommerceApiFields

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


class WoocommerceClient(RestClient[WoocommerceApiFields]):
    """A client signed in with the consumer key and secret; use it as a context manager."""

    service = "WooCommerce"
    credential_type = WoocommerceApiCredential
    unreachable_hint = "Check the credential's store URL and the network, then retry."
    not_json_hint = NO_ROUTE_HINT
    empty_is_json = False

    def connect(self, fields: WoocommerceApiFields) -> Connection:
        return Connection(
            base_url=f"{fields.store_url}/wp-json/wc/v3",
            headers={"Accept": "application/json"},
            # Over https WooCommerce takes the key and secret as HTTP basic credentials.
            auth=(fields.consumer_key, fields.consumer_secret),
            secrets=(fields.consumer_key, fields.consumer_secret),
        )

    def unreachable(self, err: httpx.HTTPError, action: str, item_index: int | None) -> NodeError:
        return self.error(
            f"{action} failed: the store could not be reached ({type(err).__name__}: {err})",
            self.unreachable_hint,
            item_index,
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """WooCommerce's code and message; a missing route means the address is not a WooCommerce store."""
        status = response.status_code
        code, message = _refusal(response)
        if code == "rest_no_route" or (status == 404 and not code):
            hint = NO_ROUTE_HINT
        else:
            hint = HINTS.get(status, "The store is failing: retry later." if status >= 500 else "See its message.")
        text = f"WooCommerce refused {action} ({f'{status} {code}'.strip()})"
        if message:
            text += f": {message}"
        return self.error(text, hint, item_index)

    def not_json(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        # A WordPress page instead of JSON: the address is a site without the REST API, or a login page.
        return self.error(
            f"{action}: the store answered with something other than WooCommerce's JSON", NO_ROUTE_HINT, item_index
        )

    def request(  # type: ignore[override]  # always a JSON object
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
        response = self.send(method, path, action, item_index=item_index, params=params, json=json)
        data = self.decode(response, action, item_index)
        if not isinstance(data, dict):
            raise self.not_json(response, action, item_index)
        return data

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
            response = self.send("GET", path, action, item_index=item_index, params=query)
            found = self.decode(response, action, item_index)
            if not isinstance(found, list):
                raise self.not_json(response, action, item_index)
            entries.extend(entry for entry in found if isinstance(entry, dict))
            pages = response.headers.get("x-wp-totalpages", "")
            # Without the header (a caching proxy may drop it), a full page means there may be another.
            more = page < int(pages) if pages.isdigit() else len(found) == per_page
            if not found or not more or (limit is not None and len(entries) >= limit):
                break
            page += 1
        return entries if limit is None else entries[:limit]
