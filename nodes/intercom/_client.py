"""Calling Intercom's REST API: one client per node run, a pinned version, cursor paging, errors as NodeErrors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.intercom.credentials import IntercomApiCredential, IntercomApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 150
"""The largest page Intercom's search serves."""
HINTS = {
    400: "Change what Intercom named above, then retry.",
    401: "The access token is wrong or was revoked, or the workspace is in another region: copy the app's "
    "access token (Developer Hub → your app → Authentication) and set the credential's API URL to the "
    "workspace's region.",
    403: "The app lacks a permission for this: allow it to read and write users and tags (Developer Hub → "
    "your app → Authentication → Edit permissions), or the workspace's plan does not include it.",
    404: "Check the contact id (in the contact's address in Intercom, or a Create or Search output): the contact "
    "does not exist or was deleted.",
    409: "A contact with this email or external id exists already: search for it and update it instead.",
    422: "Change what Intercom named above, then retry.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Intercom's first error code and every message: ``{"type": "error.list", "errors": [{"code", "message"}]}``."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    errors = [entry for entry in data.get("errors") or [] if isinstance(entry, dict)]
    code = str(errors[0].get("code") or "") if errors else ""
    messages = [str(entry["message"]).strip() for entry in errors if entry.get("message")]
    return code, "; ".join(messages)


def _reset_hint(response: httpx.Response) -> str:
    reset = response.headers.get("x-ratelimit-reset", "")
    when = " (at " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M:%S UTC") + ")" if reset.isdigit() else ""
    return (
        f"Wait until Intercom resets the limit{when} and retry the node, or slow the workflow down (Loop Over Items "
        "with a Wait): Intercom counts an app's requests per 10 seconds."
    )


class IntercomClient(RestClient[IntercomApiFields]):
    """A client signed in with the access token, on a pinned API version; use it as a context manager.

    :meth:`request` returns Intercom's JSON object; its errors carry Intercom's status, error code and messages,
    never the token.
    """

    service = "Intercom"
    credential_type = IntercomApiCredential
    not_json_hint = "Check the credential's API URL: https://api.intercom.io or its region's."
    json_object = True
    empty_is_json = False

    def connect(self, fields: IntercomApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={
                "Authorization": f"Bearer {fields.access_token}",
                "Accept": "application/json",
                "Intercom-Version": fields.api_version,
            },
            secrets=(fields.access_token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Intercom's first error code and every message, with when the limit resets for a 429."""
        status = response.status_code
        code, message = _refusal(response)
        label = f"{status} {code}".strip()
        if status == 429:
            text = f"Intercom's rate limit stopped {action} ({label})"
            hint = _reset_hint(response)
        else:
            text = f"Intercom refused {action} ({label})"
            hint = HINTS.get(
                status, "Intercom is failing: retry later." if status >= 500 else "See Intercom's message."
            )
        if message:
            text += f": {message}"
        return self.error(text, hint, item_index)

    def search(
        self,
        path: str,
        query: dict[str, Any],
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` matches (every one when ``None``) of a search, following ``pages.next.starting_after``.

        Raises:
            NodeError: As :meth:`request`.
        """
        per_page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        pagination: dict[str, Any] = {"per_page": per_page}
        entries: list[dict[str, Any]] = []
        while True:
            body = {"query": query, "pagination": pagination}
            page = self.request("POST", path, action, item_index=item_index, json=body)
            found = [entry for entry in page.get("data") or [] if isinstance(entry, dict)]
            entries.extend(found)
            following = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not following or not found or (limit is not None and len(entries) >= limit):
                break
            pagination = {"per_page": per_page, "starting_after": following}
        return entries if limit is None else entries[:limit]
