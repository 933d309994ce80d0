"""Calling the Zendesk REST API v2: one client per node run, cursor paging, Zendesk's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.zendesk.credentials import ZendeskApiCredential, ZendeskApiFields

PAGE_SIZE = 100
"""The largest page Zendesk's cursor pagination serves for tickets."""
HINTS = {
    400: "Change what Zendesk named above, then retry.",
    401: "Check the agent's email and the API token in the credential, and that token access is enabled "
    "(Admin Center → Apps and integrations → Zendesk API).",
    403: "The agent may not do this: use an admin's email in the credential, or give the agent the permission "
    "(deleting tickets needs an admin or a role that allows it).",
    404: "Check the ticket id: the ticket does not exist, was deleted, or the agent cannot see it.",
    409: "Someone changed the ticket at the same moment: retry the node.",
    422: "Change what Zendesk named above, then retry.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Zendesk's error and what it says.

    Most endpoints answer ``{"error": "RecordInvalid", "description": "...", "details": {field: [{"description"}]}}``;
    a few answer ``{"error": {"title", "message"}}`` or, for a 401, only ``{"error": "Couldn't authenticate you"}``.
    """
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("title") or ""), str(error.get("message") or "")
    if isinstance(error, str) and " " in error.strip() and not data.get("description"):
        # A sentence rather than an error code, as in a 401's {"error": "Couldn't authenticate you"}.
        return "", error.strip()
    description = str(data.get("description") or "").strip()
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    problems = [
        str(problem.get("description"))
        for listed in details.values()
        for problem in (listed if isinstance(listed, list) else [listed])
        if isinstance(problem, dict) and problem.get("description")
    ]
    if problems:
        description = f"{description}: {'; '.join(problems)}" if description else "; ".join(problems)
    return str(error or ""), description


class ZendeskClient(RestClient[ZendeskApiFields]):
    """A client signed in with the agent's email and API token; use it as a context manager."""

    service = "Zendesk"
    credential_type = ZendeskApiCredential
    unreachable_hint = "Check the credential's subdomain and the network, then retry."
    not_json_hint = "Check the credential's subdomain: acme for acme.zendesk.com."

    def connect(self, fields: ZendeskApiFields) -> Connection:
        self._api = f"{fields.base_url}/api/v2"
        return Connection(
            base_url=self._api,
            headers={"Accept": "application/json"},
            # Zendesk's API token scheme: basic auth as "<email>/token" with the token as password.
            auth=(f"{fields.email}/token", fields.api_token),
            secrets=(fields.api_token,),
        )

    def decode(self, response: httpx.Response, action: str, item_index: int | None = None) -> dict[str, Any]:
        """Zendesk's JSON object (``{}`` for an empty answer, such as a delete's 204); anything else is not Zendesk."""
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self.not_json(response, action, item_index)
        return data

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Zendesk's error and description, with how long to wait when it limits the rate."""
        status = response.status_code
        error, description = _refusal(response)
        label = f"{status} {error}".strip()
        if status == 429:
            wait = response.headers.get("retry-after", "")
            text = f"Zendesk is limiting requests and refused {action} ({label})"
            hint = (
                f"Wait {wait + ' seconds' if wait.isdigit() else 'a minute'} and retry the node, or slow the "
                "workflow down (Loop Over Items with a Wait): Zendesk allows a set number of requests per minute."
            )
        else:
            text = f"Zendesk refused {action} ({label})"
            hint = HINTS.get(status, "Zendesk is failing: retry later." if status >= 500 else "See Zendesk's message.")
        if description:
            text += f": {description}"
        return self.error(text, hint, item_index)

    def paginate(
        self,
        url: str,
        key: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) under ``key``, with cursor pagination.

        Zendesk answers ``{key: [...], "meta": {"has_more"}, "links": {"next"}}``; the next page is the
        ``links.next`` URL, followed only while ``meta.has_more`` is true.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the account.
        """
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        query: Mapping[str, Any] | None = {**(params or {}), "page[size]": size}
        entries: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", url, action, item_index=item_index, params=query)
            found = [entry for entry in page.get(key) or [] if isinstance(entry, dict)]
            entries.extend(found)
            following = (page.get("links") or {}).get("next")
            more = (page.get("meta") or {}).get("has_more")
            if not more or not following or not found or (limit is not None and len(entries) >= limit):
                break
            if not str(following).startswith(self._api + "/"):
                # The token goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Zendesk's next page is outside the account's address ({following})",
                    "Check the credential's subdomain: use the address Zendesk's own links start with.",
                    item_index,
                )
            url, query = str(following), None
        return entries if limit is None else entries[:limit]
