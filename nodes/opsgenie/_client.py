"""Calling Opsgenie's Alert API v2: asynchronous writes followed to their outcome, Opsgenie's refusals as NodeErrors."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote

import httpx

from nodes.opsgenie.credentials import OpsgenieApiCredential, OpsgenieApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 100
"""The largest page Opsgenie serves."""
FIRST_POLL_SECONDS = 0.1
LONGEST_POLL_SECONDS = 2.0
HINTS = {
    400: "Change what Opsgenie named above, then retry.",
    401: "The API key is wrong, disabled, or of the other region: copy the key of an API integration (Settings → "
    "Integrations → API) into the credential, and pick the account's region (US or EU).",
    402: "The account's plan does not include this: check the Opsgenie plan.",
    403: "The key may not do this: give the API integration read, create-and-update (and, to delete, delete) access.",
    404: "Check the identifier and its type (id, alias or tiny id): the alert does not exist or was deleted.",
    422: "Change what Opsgenie named above, then retry.",
}


def _prefix(item_index: int | None) -> str:
    return f"item {item_index}: " if item_index is not None else ""


def _refusal(response: httpx.Response) -> str:
    """Opsgenie's ``{"message", "errors": {field: problem}, "took", "requestId"}`` as one line."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(data, dict):
        return ""
    message = str(data.get("message") or "").strip()
    errors = data.get("errors") if isinstance(data.get("errors"), dict) else {}
    details = [f"{name}: {problem}" for name, problem in errors.items()]
    return f"{message} ({'; '.join(details)})" if details else message


def alert_path(identifier: str, *rest: str) -> str:
    """``/v2/alerts/<identifier>[/...]`` with the identifier escaped: aliases are free text."""
    return "/".join(["/v2/alerts", quote(identifier.strip(), safe=""), *rest])


class OpsgenieClient:
    """An ``httpx`` client signed in with the integration's key; use it as a context manager."""

    def __init__(self, fields: OpsgenieApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._key = fields.api_key
        self._http = httpx.Client(
            base_url=fields.api_url,
            headers={"Authorization": f"GenieKey {fields.api_key}", "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> OpsgenieClient:
        """The client for the ``opsgenie_api`` credential selected on the running node."""
        fields = OpsgenieApiCredential.parse(ctx.credential(OpsgenieApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _send(
        self,
        method: str,
        path: str,
        action: str,
        item_index: int | None,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> httpx.Response:
        prefix = _prefix(item_index)
        try:
            return self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._key, "***")
            raise NodeError(
                f"{prefix}{action} failed: Opsgenie could not be reached ({detail})",
                description="Check the credential's region or API URL and the network, then retry.",
                item_index=item_index,
            ) from err

    def _json(self, response: httpx.Response, action: str, item_index: int | None) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise NodeError(
                f"{_prefix(item_index)}{action}: Opsgenie answered {response.status_code} with something other "
                "than JSON",
                description="Check the credential's region or API URL: it must be Opsgenie's API.",
                item_index=item_index,
            )
        return data

    def _raise(self, response: httpx.Response, action: str, item_index: int | None) -> None:
        prefix = _prefix(item_index)
        status = response.status_code
        detail = _refusal(response)
        if status == 401:
            text = f"{prefix}Opsgenie did not accept the credential's API key while {action} (401)"
            hint = HINTS[401]
        elif status == 429:
            text = f"{prefix}Opsgenie's rate limit stopped {action} (429)"
            hint = (
                "Wait a minute and retry the node, or slow the workflow down (Loop Over Items with a Wait): Opsgenie "
                "limits requests per minute by plan."
            )
        else:
            text = f"{prefix}Opsgenie refused {action} ({status})"
            hint = HINTS.get(status, "Opsgenie is failing: retry later." if status >= 500 else "See its message.")
        if detail:
            text += f": {detail}"
        raise NodeError(text.replace(self._key, "***"), description=hint, item_index=item_index)

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
        """Send one request and return Opsgenie's JSON answer.

        Args:
            method: ``GET``, ``POST`` or ``DELETE``.
            path: From :func:`alert_path`, or ``/v2/alerts``.
            action: What the request does, for the message: ``closing alert <id>``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Opsgenie's status, message and field errors and what to do; never the key.
        """
        response = self._send(method, path, action, item_index, params, json)
        if not response.is_success:
            self._raise(response, action, item_index)
        return self._json(response, action, item_index)

    def write(
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int,
        attempts: int,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send a write Opsgenie processes later (it answers 202 with a ``requestId``) and report its outcome.

        Opsgenie only checks the request's form before answering; whether the alert existed, and the id of a new one,
        come from ``GET /v2/alerts/requests/<requestId>``, which answers 404 until the request is processed. This asks
        up to ``attempts`` times, waiting 0.1 s, then twice as long each time (at most 2 s).

        Returns:
            ``requestId`` and ``result``, and once processed ``processed: true`` with Opsgenie's request status
            (``action``, ``alertId``, ``alias``, ``status``, ``isSuccess``, ``processedAt``...); otherwise
            ``processed: false``.

        Raises:
            NodeError: As :meth:`request`, or when Opsgenie reports the request failed (``isSuccess: false``).
        """
        accepted = self.request(method, path, action, item_index=item_index, params=params, json=json)
        request_id = str(accepted.get("requestId") or "")
        outcome: dict[str, Any] = {"requestId": request_id, "result": accepted.get("result"), "processed": False}
        delay = FIRST_POLL_SECONDS
        for _ in range(attempts if request_id else 0):
            time.sleep(delay)
            delay = min(delay * 2, LONGEST_POLL_SECONDS)
            status_path = f"/v2/alerts/requests/{quote(request_id, safe='')}"
            response = self._send("GET", status_path, f"checking the outcome of {action}", item_index, None, None)
            if response.status_code == 404:
                continue
            if not response.is_success:
                self._raise(response, f"checking the outcome of {action}", item_index)
            data = self._json(response, action, item_index).get("data") or {}
            if data.get("isSuccess") is False:
                raise NodeError(
                    f"{_prefix(item_index)}Opsgenie could not finish {action}: {data.get('status') or 'it failed'} "
                    f"(request {request_id})",
                    description=HINTS[404] if "not exist" in str(data.get("status")) else "See Opsgenie's message.",
                    item_index=item_index,
                )
            return {**outcome, **data, "processed": True}
        return outcome

    def paginate(
        self,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` alerts (every one when ``None``) of ``GET /v2/alerts``, page by page with ``offset``.

        Raises:
            NodeError: As :meth:`request`.
        """
        entries: list[dict[str, Any]] = []
        while limit is None or len(entries) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
            query = {**(params or {}), "offset": len(entries), "limit": size}
            page = self.request("GET", "/v2/alerts", action, item_index=item_index, params=query)
            found = [entry for entry in page.get("data") or [] if isinstance(entry, dict)]
            entries.extend(found)
            if not (page.get("paging") or {}).get("next") or len(found) < size:
                break
        return entries if limit is None else entries[:limit]
