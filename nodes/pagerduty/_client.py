"""Calling PagerDuty: the REST API v2 (offset paging) and the Events API v2, their refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.pagerduty.credentials import (
    PagerdutyApiCredential,
    PagerdutyApiFields,
    PagerdutyEventsCredential,
    PagerdutyEventsFields,
)
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The largest page PagerDuty's classic (offset) pagination serves."""
ACCEPT = "application/vnd.pagerduty+json;version=2"
Query = Sequence[tuple[str, Any]]
"""Query parameters as pairs, so array filters repeat their name (``statuses[]=a&statuses[]=b``)."""
HINTS = {
    400: "Change what PagerDuty named above, then retry.",
    401: "The API token is wrong or was deleted: create a REST API key (Integrations → API Access Keys) and paste "
    "it into the credential.",
    402: "The account's plan does not include this: check the PagerDuty plan.",
    403: "The token may not do this: a read-only API key cannot change incidents, and a user's token needs a role "
    "that may manage them.",
    404: "Check the incident id (such as PT4KHLK): the incident does not exist or the token cannot see it.",
}
EVENT_HINTS = {
    400: "Change what PagerDuty named above: the integration key must be a service's Events API v2 key "
    "(32 characters), and a trigger needs a summary, a source and a severity.",
    413: "The event is too large: PagerDuty takes at most 512 KB; send fewer custom details.",
}


def _limit_hint(response: httpx.Response) -> str:
    wait = response.headers.get("retry-after", "") or response.headers.get("ratelimit-reset", "")
    when = f"{wait} seconds" if wait.isdigit() else "a minute"
    return (
        f"Wait {when} and retry the node, or slow the workflow down (Loop Over Items with a Wait): PagerDuty "
        "allows a set number of requests per minute."
    )


def _refusal(response: httpx.Response) -> str:
    """PagerDuty's ``{"error": {"message", "code", "errors": [...]}}`` as one line."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return ""
    message = str(error.get("message") or "").strip()
    if error.get("code") is not None:
        message = f"{message} (code {error['code']})".strip()
    details = [str(entry) for entry in error.get("errors") or [] if str(entry).strip()]
    return f"{message}: {'; '.join(details)}" if details else message


class PagerdutyClient(RestClient[PagerdutyApiFields]):
    """A client for the REST API, signed in with the credential's token; use it as a context manager.

    Writes carry the ``From`` header: PagerDuty records who made a change from it and refuses a write without it.
    """

    service = "PagerDuty"
    credential_type = PagerdutyApiCredential
    not_json_hint = "Check the credential's API URL: PagerDuty's is https://api.pagerduty.com."
    json_object = True

    def connect(self, fields: PagerdutyApiFields) -> Connection:
        self._from = fields.from_email
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Token token={fields.api_token}", "Accept": ACCEPT},
            secrets=(fields.api_token,),
        )

    def request(  # type: ignore[override]  # params as pairs, and writes carry From
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Query | dict[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return PagerDuty's JSON answer.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``; all but ``GET`` carry the ``From`` header.
            path: Below the API URL: ``/incidents``, ``/incidents/<id>/notes``...
            action: What the request does, for the message: ``resolving incident PT4KHLK``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With PagerDuty's status, message, code and errors and what to do; never the token.
        """
        headers = {"From": self._from} if method != "GET" else None
        response = self.send(method, path, action, item_index=item_index, params=params, json=json, headers=headers)
        return self.decode(response, action, item_index)

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """PagerDuty's message, code and errors; a 401 and a 429 have their own wording."""
        status = response.status_code
        detail = _refusal(response)
        if status == 401:
            text = f"PagerDuty did not accept the credential's token while {action} (401)"
            hint = HINTS[401]
        elif status == 429:
            text = f"PagerDuty's rate limit stopped {action} (429)"
            hint = _limit_hint(response)
        else:
            text = f"PagerDuty refused {action} ({status})"
            hint = HINTS.get(status, "PagerDuty is failing: retry later." if status >= 500 else "See its message.")
        if detail:
            text += f": {detail}"
        return self.error(text, hint, item_index)

    def paginate(
        self,
        path: str,
        key: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Query = (),
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) under ``key``, page by page with ``offset``.

        PagerDuty answers ``{key: [...], "limit", "offset", "more"}``; the next page starts where this one ended,
        while ``more`` is true.

        Raises:
            NodeError: As :meth:`request`.
        """
        entries: list[dict[str, Any]] = []
        offset = 0
        while limit is None or len(entries) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
            page = self.request(
                "GET",
                path,
                action,
                item_index=item_index,
                params=[*params, ("limit", size), ("offset", offset)],
            )
            found = [entry for entry in page.get(key) or [] if isinstance(entry, dict)]
            entries.extend(found)
            if not page.get("more") or not found:
                break
            offset += len(found)
        return entries if limit is None else entries[:limit]


class PagerdutyEventsClient(RestClient[PagerdutyEventsFields]):
    """A client for the Events API v2; the routing key travels in each event, not in a header."""

    service = "PagerDuty"
    credential_type = PagerdutyEventsCredential
    not_json_hint = "Check the credential's Events API URL: PagerDuty's is https://events.pagerduty.com."
    json_object = True
    empty_is_json = False

    def connect(self, fields: PagerdutyEventsFields) -> Connection:
        self.default_routing_key = fields.routing_key
        self._key = ""
        return Connection(base_url=fields.events_url, headers={"Accept": "application/json"})

    def mask(self, text: str) -> str:
        """``text`` with the routing key of the event being sent replaced by ``***``."""
        return text.replace(self._key, "***") if self._key else text

    def enqueue(self, event: dict[str, Any], action: str, *, item_index: int) -> dict[str, Any]:
        """Send one event to ``/v2/enqueue`` and return PagerDuty's answer (``status``, ``message``, ``dedup_key``).

        Raises:
            NodeError: With PagerDuty's status, message and errors and what to do; never the routing key.
        """
        self._key = str(event.get("routing_key") or "")
        response = self.send("POST", "/v2/enqueue", action, item_index=item_index, json=event)
        return self.decode(response, action, item_index)

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """PagerDuty's status, message and errors for a refused event."""
        status = response.status_code
        if status == 429:
            text = f"PagerDuty is throttling events and refused {action} (429)"
            hint = _limit_hint(response)
        else:
            text = f"PagerDuty refused {action} ({status})"
            hint = EVENT_HINTS.get(status, "PagerDuty is failing: retry later." if status >= 500 else "")
            hint = hint or "See PagerDuty's message."
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            # {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}
            message = str(data.get("message") or data.get("status") or "").strip()
            details = [str(entry) for entry in data.get("errors") or [] if str(entry).strip()]
            if message or details:
                text += ": " + ": ".join(part for part in (message, "; ".join(details)) if part)
        return self.error(text, hint, item_index)
