"""Calling the Freshdesk API v2: one client per node run, paging by ``Link`` headers, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.freshdesk.credentials import FreshdeskApiCredential, FreshdeskApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The largest page Freshdesk serves."""
HINTS = {
    400: "Change what Freshdesk named above, then retry.",
    401: "The API key is wrong or the agent was deactivated: copy the key from Profile settings → View API key "
    "into the credential.",
    403: "The agent may not do this: give their role the permission (deleting tickets, for one), or use an "
    "admin's API key.",
    404: "Check the ticket id: the ticket does not exist, or was deleted for good.",
    409: "Freshdesk holds something with the same value already: change what it named above.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Freshdesk's code and what it says.

    Validation answers ``{"description", "errors": [{"field", "message", "code"}]}``; others ``{"code", "message"}``;
    a missing ticket often has no body at all.
    """
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    errors = [entry for entry in data.get("errors") or [] if isinstance(entry, dict)]
    if errors:
        problems = [
            f"{entry['field']}: {entry.get('message')}" if entry.get("field") else str(entry.get("message"))
            for entry in errors
        ]
        description = str(data.get("description") or "").strip()
        detail = "; ".join(problems)
        return str(errors[0].get("code") or ""), f"{description}: {detail}" if description else detail
    return str(data.get("code") or ""), str(data.get("message") or data.get("description") or "").strip()


class FreshdeskClient(RestClient[FreshdeskApiFields]):
    """A client signed in with the agent's API key; use it as a context manager."""

    service = "Freshdesk"
    credential_type = FreshdeskApiCredential
    unreachable_hint = "Check the credential's domain and the network, then retry."
    not_json_hint = "Check the credential's domain: acme for acme.freshdesk.com."

    def connect(self, fields: FreshdeskApiFields) -> Connection:
        self._api = f"{fields.base_url}/api/v2"
        return Connection(
            base_url=self._api,
            headers={"Accept": "application/json"},
            # Freshdesk takes the API key as the user name of HTTP basic auth, with any password ("X").
            auth=(fields.api_key, "X"),
            secrets=(fields.api_key,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Freshdesk's code and messages, with how long to wait when it limits the rate."""
        status = response.status_code
        code, message = _refusal(response)
        label = f"{status} {code}".strip()
        if status == 429:
            wait = response.headers.get("retry-after", "")
            text = f"Freshdesk is limiting requests and refused {action} ({label})"
            hint = (
                f"Wait {wait + ' seconds' if wait.isdigit() else 'a minute'} and retry the node, or slow the workflow "
                "down (Loop Over Items with a Wait): Freshdesk allows a set number of requests per minute by plan."
            )
        else:
            text = f"Freshdesk refused {action} ({label})"
            hint = HINTS.get(status, "Freshdesk is failing: retry later." if status >= 500 else "See its message.")
        if message:
            text += f": {message}"
        return self.error(text, hint, item_index)

    def request(  # type: ignore[override]  # always an object: a list comes under "list"
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Freshdesk's JSON answer (``{}`` for a delete's 204).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Below ``/api/v2``, e.g. ``/tickets/7/reply``.
            action: What the request does, for the message: ``replying to ticket 7``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Freshdesk's status, code and messages and what to do; never the key.
        """
        data = super().request(method, path, action, item_index=item_index, params=params, json=json)
        return data if isinstance(data, dict) else {"list": data}

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a list, following ``Link: <…>; rel="next"``.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the helpdesk.
        """
        per_page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        query: Mapping[str, Any] | None = {**(params or {}), "per_page": per_page}
        url = path
        entries: list[dict[str, Any]] = []
        while True:
            response = self.send("GET", url, action, item_index=item_index, params=query)
            page = self.decode(response, action, item_index)
            found = [entry for entry in page if isinstance(entry, dict)] if isinstance(page, list) else []
            entries.extend(found)
            following = response.links.get("next", {}).get("url")
            if not following or not found or (limit is not None and len(entries) >= limit):
                break
            if not following.startswith(self._api + "/"):
                # The key goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Freshdesk's next page is outside the helpdesk's address ({following})",
                    "Check the credential's domain: use the address Freshdesk's own links start with.",
                    item_index,
                )
            url, query = following, None
        return entries if limit is None else entries[:limit]
