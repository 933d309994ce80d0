"""Calling the Mailchimp Marketing API 3.0: one client per node run, offset paging, problem details as NodeErrors."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Self

import httpx

from nodes.mailchimp.credentials import MailchimpApiCredential, MailchimpApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 1000
"""The largest page Mailchimp serves."""
HINTS = {
    400: "Change what Mailchimp named above, then retry.",
    401: "The API key is wrong or was disabled: create one (Profile → Extras → API keys) and paste it whole, with "
    "its data-center suffix (-us21).",
    403: "The key's user may not do this, or the account is suspended: use a key of an account owner or admin.",
    404: "Check the audience id (Audience → Settings → Audience name and defaults) and the email address: the "
    "contact is not in that audience.",
    429: "Mailchimp allows 10 requests at once per account: retry the node shortly, or run fewer workflows at once.",
}
TITLE_HINTS = {
    "Member Exists": "The contact is already in the audience: use add_or_update, which updates them.",
    "Forgotten Email Not Subscribed": "The contact was deleted permanently: only they can join again, through "
    "one of the audience's signup forms.",
    "Member In Compliance State": "The contact unsubscribed or bounced: set the status to pending, so Mailchimp "
    "asks them to confirm by email.",
}


def subscriber_hash(email_or_hash: str) -> str:
    """Mailchimp's id of a member: the MD5 of the lower-cased email; a value without an @ is taken as the id."""
    value = email_or_hash.strip()
    if "@" not in value:
        return value.lower()
    return hashlib.md5(value.lower().encode(), usedforsecurity=False).hexdigest()


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """The problem's title and what it says: each field's error when there are some, else the detail."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    problems = [
        f"{entry['field']}: {entry.get('message')}" if entry.get("field") else str(entry.get("message"))
        for entry in data.get("errors") or []
        if isinstance(entry, dict) and entry.get("message")
    ]
    detail = "; ".join(problems) if problems else str(data.get("detail") or "").strip()
    return str(data.get("title") or "").strip(), detail


class MailchimpClient:
    """An ``httpx`` client signed in with the API key; use it as a context manager."""

    def __init__(self, fields: MailchimpApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._key = fields.api_key
        self._http = httpx.Client(
            base_url=fields.base_url,
            # Mailchimp takes the key as the password of HTTP basic auth, with any user name.
            auth=("hitl-studio", fields.api_key),
            headers={"Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> MailchimpClient:
        """The client for the ``mailchimp_api`` credential selected on the running node."""
        fields = MailchimpApiCredential.parse(ctx.credential(MailchimpApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

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
        """Send one request and return Mailchimp's JSON answer (``{}`` for a 204).

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``.
            path: Below ``/3.0``, e.g. ``/lists/<list id>/members/<hash>``.
            action: What the request does, for the message: ``getting ada@example.com from audience 4ca5``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Mailchimp's status, title and detail and what to do; never the key.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._key, "***")
            raise NodeError(
                f"{prefix}{action} failed: Mailchimp could not be reached ({detail})",
                description="Check the API key's data-center suffix (or the credential's API URL) and the network.",
                item_index=item_index,
            ) from err
        if response.is_success:
            if not response.content:
                return {}
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise NodeError(
                    f"{prefix}{action}: Mailchimp answered {response.status_code} with something other than JSON",
                    description="Check the credential's API URL, or leave it empty.",
                    item_index=item_index,
                )
            return data
        status = response.status_code
        title, detail = _refusal(response)
        hint = TITLE_HINTS.get(title) or HINTS.get(
            status, "Mailchimp is failing: retry later." if status >= 500 else "See Mailchimp's message."
        )
        text = f"{prefix}Mailchimp refused {action} ({f'{status} {title}'.strip()})"
        if detail:
            text += f": {detail}"
        raise NodeError(text.replace(self._key, "***"), description=hint, item_index=item_index)

    def paginate(
        self,
        path: str,
        key: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) under ``key``, by ``offset`` and ``count``.

        Mailchimp answers ``{key: [...], "total_items": n}``; pages are read until ``total_items`` are in.

        Raises:
            NodeError: As :meth:`request`.
        """
        count = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        entries: list[dict[str, Any]] = []
        while True:
            query = {**(params or {}), "count": count, "offset": len(entries)}
            page = self.request("GET", path, action, item_index=item_index, params=query)
            found = [entry for entry in page.get(key) or [] if isinstance(entry, dict)]
            entries.extend(found)
            total = page.get("total_items")
            done = isinstance(total, int) and len(entries) >= total
            if not found or done or (limit is not None and len(entries) >= limit):
                break
        return entries if limit is None else entries[:limit]
