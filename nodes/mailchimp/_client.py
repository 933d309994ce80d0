"""Calling the Mailchimp Marketing API 3.0: one client per node run, offset paging, problem details as NodeErrors."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.mailchimp.credentials import MailchimpApiCredential, MailchimpApiFields
from nodes.sdk import NodeError

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


class MailchimpClient(RestClient[MailchimpApiFields]):
    """A client signed in with the API key; use it as a context manager.

    :meth:`request` takes paths below ``/3.0`` (``/lists/<list id>/members/<hash>``) and returns Mailchimp's JSON
    object (``{}`` for a 204); its errors carry Mailchimp's status, title and detail, never the key.
    """

    service = "Mailchimp"
    credential_type = MailchimpApiCredential
    unreachable_hint = "Check the API key's data-center suffix (or the credential's API URL) and the network."
    not_json_hint = "Check the credential's API URL, or leave it empty."
    json_object = True

    def connect(self, fields: MailchimpApiFields) -> Connection:
        return Connection(
            base_url=fields.base_url,
            headers={"Accept": "application/json"},
            # Mailchimp takes the key as the password of HTTP basic auth, with any user name.
            auth=("hitl-studio", fields.api_key),
            secrets=(fields.api_key,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Mailchimp's problem title and detail, hinted by title first (Member Exists...), then by status."""
        status = response.status_code
        title, detail = _refusal(response)
        hint = TITLE_HINTS.get(title) or HINTS.get(
            status, "Mailchimp is failing: retry later." if status >= 500 else "See Mailchimp's message."
        )
        text = f"Mailchimp refused {action} ({f'{status} {title}'.strip()})"
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
