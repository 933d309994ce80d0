"""Calling Opsgenie's Alert API v2: asynchronous writes followed to their outcome, Opsgenie's refusals as NodeErrors."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.opsgenie.credentials import OpsgenieApiCredential, OpsgenieApiFields
from nodes.sdk import NodeError

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


class OpsgenieClient(RestClient[OpsgenieApiFields]):
    """A client signed in with the integration's key; use it as a context manager.

    :meth:`request` sends one request and returns Opsgenie's JSON object; its errors carry Opsgenie's status,
    message and field errors and what to do, never the key.
    """

    service = "Opsgenie"
    credential_type = OpsgenieApiCredential
    unreachable_hint = "Check the credential's region or API URL and the network, then retry."
    not_json_hint = "Check the credential's region or API URL: it must be Opsgenie's API."
    json_object = True
    empty_is_json = False

    def connect(self, fields: OpsgenieApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"GenieKey {fields.api_key}", "Accept": "application/json"},
            secrets=(fields.api_key,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Opsgenie's message and field errors; a 401 and a 429 have their own wording."""
        status = response.status_code
        detail = _refusal(response)
        if status == 401:
            text = f"Opsgenie did not accept the credential's API key while {action} (401)"
            hint = HINTS[401]
        elif status == 429:
            text = f"Opsgenie's rate limit stopped {action} (429)"
            hint = (
                "Wait a minute and retry the node, or slow the workflow down (Loop Over Items with a Wait): Opsgenie "
                "limits requests per minute by plan."
            )
        else:
            text = f"Opsgenie refused {action} ({status})"
            hint = HINTS.get(status, "Opsgenie is failing: retry later." if status >= 500 else "See its message.")
        if detail:
            text += f": {detail}"
        return self.error(text, hint, item_index)

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
            checking = f"checking the outcome of {action}"
            response = self.exchange("GET", status_path, checking, item_index=item_index)
            if response.status_code == 404:
                continue
            if not response.is_success:
                raise self.refusal(response, checking, item_index)
            data = self.decode(response, action, item_index).get("data") or {}
            if data.get("isSuccess") is False:
                raise self.error(
                    f"Opsgenie could not finish {action}: {data.get('status') or 'it failed'} (request {request_id})",
                    HINTS[404] if "not exist" in str(data.get("status")) else "See Opsgenie's message.",
                    item_index,
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
