"""Calling Asana's REST API: the ``{"data": ...}`` envelope, offset-token paging, Asana's ``errors`` as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.asana.credentials import AsanaApiCredential, AsanaApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The largest page Asana serves."""
HINTS = {
    400: "Change what Asana named above, then retry.",
    401: "The personal access token is wrong or was revoked: create a new one in Asana's developer console and "
    "paste it into the credential.",
    402: "This needs a paid Asana plan for the workspace.",
    403: "The token's user may not do this: add them to the project or workspace, or ask its admin.",
    404: "Check the ids (task, project, section, workspace): they do not exist, or the token's user cannot see them.",
}


def _refusal(response: httpx.Response) -> str:
    """Asana's ``{"errors": [{"message", "help", "phrase"}]}``: every message, joined."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    return "; ".join(
        str(error.get("message")).strip() for error in errors if isinstance(error, dict) and error.get("message")
    )


class AsanaClient(RestClient[AsanaApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "Asana"
    credential_type = AsanaApiCredential
    not_json_hint = "Check the credential's API URL: Asana's is https://app.asana.com/api/1.0."
    json_object = True
    empty_is_json = False

    def connect(self, fields: AsanaApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            secrets=(fields.token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Asana's messages; a 401 and a 429 have their own wording."""
        status = response.status_code
        detail = _refusal(response)
        if status == 401:
            text = f"Asana did not accept the credential's token while {action} (401)"
            hint = HINTS[401]
        elif status == 429:
            text = f"Asana's rate limit stopped {action} (429)"
            wait = response.headers.get("retry-after", "")
            hint = (
                f"Wait {wait + ' seconds' if wait.isdigit() else 'a minute'} and retry the node, or slow the workflow "
                "down (Loop Over Items with a Wait)."
            )
        else:
            text = f"Asana refused {action} ({status})"
            hint = HINTS.get(status, "Asana is failing: retry later." if status >= 500 else "See Asana's message.")
        if detail:
            text += f": {detail}"
        return self.error(text, hint, item_index)

    def request(  # type: ignore[override]  # the body goes inside Asana's {"data": ...} envelope
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return what Asana put under ``data``.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Below the API URL: ``/tasks``, ``/tasks/<gid>/stories``...
            action: What the request does, for the message: ``updating task 1204``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            data: The body's fields, sent inside Asana's ``{"data": ...}`` envelope.

        Raises:
            NodeError: With Asana's status and messages and what to do; never the token.
        """
        body = None if data is None else {"data": dict(data)}
        found = super().request(method, path, action, item_index=item_index, params=params, json=body).get("data")
        return found if isinstance(found, dict) else {}

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a list, page by page with ``next_page.offset``.

        Raises:
            NodeError: As :meth:`request`.
        """
        entries: list[dict[str, Any]] = []
        offset: str | None = None
        while limit is None or len(entries) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
            query = {**(params or {}), "limit": size}
            if offset:
                query["offset"] = offset
            page = super().request("GET", path, action, item_index=item_index, params=query)
            found = [entry for entry in page.get("data") or [] if isinstance(entry, dict)]
            entries.extend(found)
            offset = (page.get("next_page") or {}).get("offset")
            if not offset or not found:
                break
        return entries if limit is None else entries[:limit]
