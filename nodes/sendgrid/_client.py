"""Calling SendGrid's v3 API: one client per node run, ``_metadata.next`` paging, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from nodes.sdk import Context, NodeError
from nodes.sendgrid.credentials import SendgridApiCredential, SendgridApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
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


class SendgridClient:
    """An ``httpx`` client signed in with the credential's API key; use it as a context manager."""

    def __init__(self, fields: SendgridApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._key = fields.api_key
        self._base = fields.api_url
        self._http = httpx.Client(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.api_key}", "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> SendgridClient:
        """The client for the ``sendgrid_api`` credential selected on the running node."""
        fields = SendgridApiCredential.parse(ctx.credential(SendgridApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def send(
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """Send one request and return SendGrid's successful response (Mail Send answers 202 with no body).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            url: Below the API URL (``/v3/mail/send``), or a ``_metadata.next`` link.
            action: What the request does, for the message: ``sending the email to ada@example.com``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.
            missing_ok: Return ``None`` for a 404 instead of failing (a search that found nothing).

        Raises:
            NodeError: With SendGrid's status and errors and what to do; never the key.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, url, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._key, "***")
            raise NodeError(
                f"{prefix}{action} failed: SendGrid could not be reached ({detail})",
                description="Check the credential's API URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            return response
        status = response.status_code
        if missing_ok and status == 404:
            return None
        detail = _refusal(response)
        if status == 429:
            hint = _rate_hint(response)
        else:
            hint = HINTS.get(status, "SendGrid is failing: retry later." if status >= 500 else "See its message.")
        text = f"{prefix}SendGrid refused {action} ({status}): {detail}"
        raise NodeError(text.replace(self._key, "***"), description=hint, item_index=item_index)

    def request(
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """As :meth:`send`, returning the JSON answer (``{}`` for an empty body or a 404 that is ``missing_ok``)."""
        response = self.send(
            method, url, action, item_index=item_index, params=params, json=json, missing_ok=missing_ok
        )
        if response is None or not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError as err:
            raise NodeError(
                f"{'' if item_index is None else f'item {item_index}: '}{action}: SendGrid answered "
                f"{response.status_code} with something other than JSON",
                description="Check the credential's API URL: it must be SendGrid's API (https://api.sendgrid.com).",
                item_index=item_index,
            ) from err
        return answer if isinstance(answer, dict) else {"result": answer}

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
                raise NodeError(
                    f"{'' if item_index is None else f'item {item_index}: '}{action}: SendGrid's next page is "
                    f"outside the API URL ({following})",
                    description="Check the credential's API URL: use the URL SendGrid's own links start with.",
                    item_index=item_index,
                )
            url, query = str(following), None
        return entries if limit is None else entries[:limit]
