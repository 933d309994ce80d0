"""Calling Pipedrive's REST API v1: one client per node run, start/limit paging, Pipedrive's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.pipedrive.credentials import PipedriveApiCredential, PipedriveApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 500
"""The largest page Pipedrive's v1 lists serve."""
GENERIC_INFO = "developers.pipedrive.com"
"""Pipedrive's ``error_info`` usually only points at its documentation: such a hint adds nothing to the message."""
HINTS = {
    400: "Change what Pipedrive named above (the person, organization and stage ids must exist), then retry.",
    401: "The API token is wrong or was regenerated: copy the current one from Personal preferences → API "
    "into the credential.",
    402: "The company's Pipedrive plan does not include this: upgrade it, or leave the feature out.",
    403: "The token's user may not do this: ask a Pipedrive admin for the permission (Settings → Permission sets).",
    404: "Check the deal id: the deal does not exist, or was deleted.",
    410: "The deal was deleted: it cannot be changed any more.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Pipedrive's ``{"success": false, "error", "error_info"}``: the error, and its info when it says more."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip(), ""
    if not isinstance(data, dict):
        return "", ""
    info = str(data.get("error_info") or "").strip()
    return str(data.get("error") or "").strip(), "" if GENERIC_INFO in info else info


class PipedriveClient(RestClient[PipedriveApiFields]):
    """A client signed in with the credential's API token; use it as a context manager."""

    service = "Pipedrive"
    credential_type = PipedriveApiCredential
    unreachable_hint = "Check the credential's company domain and the network, then retry."
    not_json_hint = "Check the credential's company domain: acme for acme.pipedrive.com."

    def connect(self, fields: PipedriveApiFields) -> Connection:
        return Connection(
            base_url=f"{fields.base_url}/api/v1",
            # The header rather than ?api_token=: a token in the URL ends up in proxies' and servers' logs.
            headers={"x-api-token": fields.api_token, "Accept": "application/json"},
            secrets=(fields.api_token,),
        )

    def request(  # type: ignore[override]  # no ``tolerate``: Pipedrive's ``success`` flag decides
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Pipedrive's whole answer, ``{"success", "data", "additional_data"}``.

        Pipedrive may refuse with a 2xx and ``"success": false``, so the body decides, not the status alone.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            url: Below ``/api/v1``: ``/deals``, ``/deals/7``...
            action: What the request does, for the message: ``updating deal 7``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Pipedrive's status and error and what to do; never the token.
        """
        response = self.exchange(method, url, action, item_index=item_index, params=params, json=json)
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict) and data.get("success") is not False:
            return data
        if not isinstance(data, dict):
            raise self.not_json(response, action, item_index)
        raise self.refusal(response, action, item_index)

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Pipedrive's error and error info, with when its rate limit resets."""
        status = response.status_code
        error, info = _refusal(response)
        if status == 429:
            reset = response.headers.get("x-ratelimit-reset", "")
            text = f"Pipedrive is limiting requests and refused {action} (429)"
            hint = (
                f"Wait {reset + ' seconds' if reset.isdigit() else 'a few seconds'} and retry the node, or slow "
                "the workflow down (Loop Over Items with a Wait)."
            )
        else:
            text = f"Pipedrive refused {action} ({status})"
            hint = HINTS.get(status, "Pipedrive is failing: retry later." if status >= 500 else "See its message.")
        details = "; ".join(part for part in (error, info) if part)
        if details:
            text += f": {details}"
        return self.error(text, hint, item_index)

    def paginate(
        self,
        url: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        entries_of: Callable[[Any], list[dict[str, Any]]] = lambda data: data or [],
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``), paging with ``start`` and ``limit``.

        Pipedrive answers ``additional_data.pagination`` with ``more_items_in_collection`` and
        ``next_start``; an empty list comes as ``"data": null``.

        Args:
            entries_of: Picks the entries out of ``data`` (a search nests them under ``items``).
        """
        start = 0
        entries: list[dict[str, Any]] = []
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
            query = {**(params or {}), "start": start, "limit": size}
            answer = self.request("GET", url, action, item_index=item_index, params=query)
            found = [entry for entry in entries_of(answer.get("data")) if isinstance(entry, dict)]
            entries.extend(found)
            pagination = (answer.get("additional_data") or {}).get("pagination") or {}
            if not pagination.get("more_items_in_collection") or not found:
                break
            if limit is not None and len(entries) >= limit:
                break
            start = int(pagination.get("next_start") or start + len(found))
        return entries if limit is None else entries[:limit]
