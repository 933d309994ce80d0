"""Calling SendGrid's v3 API: one client per node run, ``_metadata.next`` paging, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.sendgrid.credentials import SendgridApiCredential, SendgridApiFields

HINTS = {
    400: "Change what SendGrid named above, then retry.",
    401: "The API key is wrong or was deleted: create a new one (Settings → API Keys) and paste it into "
    "the credential.",
    403: "The API key lacks the access this needs (Mail Send, or Marketing for contacts), or the sender is not "
    "verified: edit the key's permissions, or verify the From address (Settings → Sender Authentication).",
    404: "Check the id: the contact does not exist, or was deleted.",
    413: "The email is over 30 MB: attach fewer or smaller files.",
}


def _refusal(response: httpx.Response) -> str:
    """SendGrid's ``{"errors": [{"message", "field", "help"}]}`` as ``field: message; ...``, or the body's text."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors:
        return response.reason_phrase
    details = []
    for error in errors:
        if isinstance(error, dict):
            field = error.get("field")
            message = str(error.get("message") or "").strip()
            details.append(f"{field}: {message}" if field else message)
    return "; ".join(detail for detail in details if detail) or response.reason_phrase


def _rate_hint(response: httpx.Response) -> str:
    reset = response.headers.get("x-ratelimit-reset", "")
    when = " (at " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M:%S UTC") + ")" if reset.isdigit() else ""
    return (
        f"SendGrid is limiting the key's requests: retry the node after the limit resets{when}, or slow the "
        "workflow down (Loop Over Items with a Wait)."
    )


class SendgridClient(RestClient[SendgridApiFields]):
    """A client signed in with the credential's API key; use it as a context manager.

    Mail Send answers 202 with no body: call :meth:`send` for it, :meth:`request` for JSON answers.
    """

    service = "SendGrid"
    credential_type = SendgridApiCredential
    not_json_hint = "Check the credential's API URL: it must be SendGrid's API (https://api.sendgrid.com)."

    def connect(self, fields: SendgridApiFields) -> Connection:
        self._base = fields.api_url
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.api_key}", "Accept": "application/json"},
            secrets=(fields.api_key,),
        )

    def decode(self, response: httpx.Response, action: str, item_index: int | None = None) -> dict[str, Any]:
        """SendGrid's JSON answer (``{}`` for an empty one), a list wrapped as ``{"result": [...]}``."""
        answer = super().decode(response, action, item_index)
        return answer if isinstance(answer, dict) else {"result": answer}

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """SendGrid's errors (``field: message; ...``), with when its rate limit resets."""
        status = response.status_code
        detail = _refusal(response)
        if status == 429:
            hint = _rate_hint(response)
        else:
            hint = HINTS.get(status, "SendGrid is failing: retry later." if status >= 500 else "See its message.")
        return self.error(f"SendGrid refused {action} ({status}): {detail}", hint, item_index)

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a ``result`` list, following ``_metadata.next``.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the API URL.
        """
        url, query = path, params
        entries: list[dict[str, Any]] = []
        while True:
            answer = self.request("GET", url, action, item_index=item_index, params=query)
            page = answer.get("result") or []
            entries.extend(page)
            following = (answer.get("_metadata") or {}).get("next")
            if not following or not page or (limit is not None and len(entries) >= limit):
                break
            if not str(following).startswith(self._base + "/"):
                # The key goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: SendGrid's next page is outside the API URL ({following})",
                    "Check the credential's API URL: use the URL SendGrid's own links start with.",
                    item_index,
                )
            url, query = str(following), None
        return entries if limit is None else entries[:limit]
