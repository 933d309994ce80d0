"""Calling Pipedrive's REST API v1: one client per node run, start/limit paging, Pipedrive's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

import httpx

from nodes.pipedrive.credentials import PipedriveApiCredential, PipedriveApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
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


class PipedriveClient:
    """An ``httpx`` client signed in with the credential's API token; use it as a context manager."""

    def __init__(self, fields: PipedriveApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.api_token
        self._http = httpx.Client(
            base_url=f"{fields.base_url}/api/v1",
            # The header rather than ?api_token=: a token in the URL ends up in proxies' and servers' logs.
            headers={"x-api-token": fields.api_token, "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> PipedriveClient:
        """The client for the ``pipedrive_api`` credential selected on the running node."""
        fields = PipedriveApiCredential.parse(ctx.credential(PipedriveApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def request(
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
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, url, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Pipedrive could not be reached ({detail})",
                description="Check the credential's company domain and the network, then retry.",
                item_index=item_index,
            ) from err
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict) and data.get("success") is not False:
            return data
        status = response.status_code
        if not isinstance(data, dict):
            raise NodeError(
                f"{prefix}{action}: Pipedrive answered {status} with something other than JSON",
                description="Check the credential's company domain: acme for acme.pipedrive.com.",
                item_index=item_index,
            )
        error, info = _refusal(response)
        if status == 429:
            reset = response.headers.get("x-ratelimit-reset", "")
            text = f"{prefix}Pipedrive is limiting requests and refused {action} (429)"
            hint = (
                f"Wait {reset + ' seconds' if reset.isdigit() else 'a few seconds'} and retry the node, or slow "
                "the workflow down (Loop Over Items with a Wait)."
            )
        else:
            text = f"{prefix}Pipedrive refused {action} ({status})"
            hint = HINTS.get(status, "Pipedrive is failing: retry later." if status >= 500 else "See its message.")
        details = "; ".join(part for part in (error, info) if part)
        if details:
            text += f": {details}"
        raise NodeError(text.replace(self._token, "***"), description=hint, item_index=item_index)

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
