"""Calling the Freshdesk API v2: one client per node run, paging by ``Link`` headers, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx

from nodes.freshdesk.credentials import FreshdeskApiCredential, FreshdeskApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
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


class FreshdeskClient:
    """An ``httpx`` client signed in with the agent's API key; use it as a context manager."""

    def __init__(self, fields: FreshdeskApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._key = fields.api_key
        self._api = f"{fields.base_url}/api/v2"
        self._http = httpx.Client(
            base_url=self._api,
            # Freshdesk takes the API key as the user name of HTTP basic auth, with any password ("X").
            auth=(fields.api_key, "X"),
            headers={"Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> FreshdeskClient:
        """The client for the ``freshdesk_api`` credential selected on the running node."""
        fields = FreshdeskApiCredential.parse(ctx.credential(FreshdeskApiCredential.id))
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
            detail = f"{type(err).__name__}: {err}".replace(self._key, "***")
            raise NodeError(
                f"{prefix}{action} failed: Freshdesk could not be reached ({detail})",
                description="Check the credential's domain and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            return response
        status = response.status_code
        code, message = _refusal(response)
        label = f"{status} {code}".strip()
        if status == 429:
            wait = response.headers.get("retry-after", "")
            text = f"{prefix}Freshdesk is limiting requests and refused {action} ({label})"
            hint = (
                f"Wait {wait + ' seconds' if wait.isdigit() else 'a minute'} and retry the node, or slow the workflow "
                "down (Loop Over Items with a Wait): Freshdesk allows a set number of requests per minute by plan."
            )
        else:
            text = f"{prefix}Freshdesk refused {action} ({label})"
            hint = HINTS.get(status, "Freshdesk is failing: retry later." if status >= 500 else "See its message.")
        if message:
            text += f": {message}"
        raise NodeError(text.replace(self._key, "***"), description=hint, item_index=item_index)

    def _json(self, response: httpx.Response, action: str, item_index: int | None) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as err:
            raise NodeError(
                f"{'' if item_index is None else f'item {item_index}: '}{action}: Freshdesk answered "
                f"{response.status_code} with something other than JSON",
                description="Check the credential's domain: acme for acme.freshdesk.com.",
                item_index=item_index,
            ) from err

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
        data = self._json(self._send(method, path, action, item_index, params=params, json=json), action, item_index)
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
            response = self._send("GET", url, action, item_index, params=query)
            page = self._json(response, action, item_index)
            found = [entry for entry in page if isinstance(entry, dict)] if isinstance(page, list) else []
            entries.extend(found)
            following = response.links.get("next", {}).get("url")
            if not following or not found or (limit is not None and len(entries) >= limit):
                break
            if not following.startswith(self._api + "/"):
                # The key goes with every request: never follow a link to another host.
                raise NodeError(
                    f"{'' if item_index is None else f'item {item_index}: '}{action}: Freshdesk's next page is "
                    f"outside the helpdesk's address ({following})",
                    description="Check the credential's domain: use the address Freshdesk's own links start with.",
                    item_index=item_index,
                )
            url, query = following, None
        return entries if limit is None else entries[:limit]
