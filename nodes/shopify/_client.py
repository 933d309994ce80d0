"""Calling Shopify's Admin REST API: a pinned version, cursor paging by ``Link`` headers, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.shopify.credentials import ShopifyApiCredential, ShopifyApiFields

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


class ShopifyClient(RestClient[ShopifyApiFields]):
    """A client signed in with the Admin API access token; use it as a context manager.

    :meth:`request` takes paths below ``/admin/api/<version>`` (``/orders/450789469.json``) and returns Shopify's
    JSON object (``{}`` for an empty one); its errors carry Shopify's status and errors, never the token.
    """

    service = "Shopify"
    credential_type = ShopifyApiCredential
    unreachable_hint = "Check the credential's shop and the network, then retry."
    not_json_hint = "Check the credential's shop: acme for acme.myshopify.com."
    json_object = True

    def connect(self, fields: ShopifyApiFields) -> Connection:
        self._api = f"{fields.base_url}/admin/api/{API_VERSION}"
        return Connection(
            base_url=self._api,
            headers={"X-Shopify-Access-Token": fields.access_token, "Accept": "application/json"},
            secrets=(fields.access_token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Shopify's errors, with how long to wait when it limits the rate."""
        status = response.status_code
        message = _refusal(response)
        if status == 429:
            wait = response.headers.get("retry-after", "")
            try:
                seconds = f"{float(wait):g} seconds"
            except ValueError:
                seconds = "a few seconds"
            text = f"Shopify is limiting requests and refused {action} (429)"
            hint = (
                f"Wait {seconds} and retry the node, or slow the workflow down (Loop Over Items with a Wait): "
                "Shopify allows about 2 requests per second per app."
            )
        else:
            text = f"Shopify refused {action} ({status})"
            hint = HINTS.get(status, "Shopify is failing: retry later." if status >= 500 else "See Shopify's message.")
        if message:
            text += f": {message}"
        return self.error(text, hint, item_index)

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
            response = self.send("GET", url, action, item_index=item_index, params=query)
            found = [entry for entry in self.decode(response, action, item_index).get(key) or [] if entry]
            entries.extend(found)
            following = response.links.get("next", {}).get("url")
            if not following or not found or (limit is not None and len(entries) >= limit):
                break
            if not following.startswith(self._api + "/"):
                # The token goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Shopify's next page is outside the shop's address ({following})",
                    "Check the credential's shop: use the address Shopify's own links start with.",
                    item_index,
                )
            url, query = following, None
        return entries if limit is None else entries[:limit]
