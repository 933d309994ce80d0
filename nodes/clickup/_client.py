"""Calling ClickUp's API v2: one client per node run, page-numbered lists, ClickUp's ``err``/``ECODE`` as NodeErrors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.clickup.credentials import ClickupApiCredential, ClickupApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""How many tasks ClickUp serves a page; it takes no page size."""
Query = Sequence[tuple[str, Any]]
"""Query parameters as pairs, so array filters repeat their name (``statuses[]=a&statuses[]=b``)."""
TOKEN_CODES = frozenset({"OAUTH_017", "OAUTH_019", "OAUTH_021", "OAUTH_025", "OAUTH_077"})
"""ECODEs of a missing, revoked or wrong token; ClickUp's other 401s mean the token's user has no access."""
HINTS = {
    400: "Change what ClickUp named above, then retry.",
    401: "The token's user cannot reach this: check the list or task id, and that the user is a member of its "
    "workspace (ClickUp answers 'Team not authorized' for ids it will not show).",
    403: "The token's user may not do this in the space: ask its owner for the permission.",
    404: "Check the task id: the task does not exist or was deleted.",
}
TOKEN_HINT = (
    "The API token is wrong or was regenerated: copy it again from Settings → Apps and paste it into the credential."
)


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """ClickUp's ``{"err", "ECODE"}``: the message and the code."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip(), ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("err") or "").strip(), str(data.get("ECODE") or "").strip()


def _reset_hint(response: httpx.Response) -> str:
    reset = response.headers.get("x-ratelimit-reset", "")
    when = ""
    if reset.isdigit():
        when = " (at " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M:%S UTC") + ")"
    return (
        f"Wait until ClickUp's limit resets{when} and retry the node, or slow the workflow down (Loop Over Items with "
        "a Wait): a token may make 100 requests a minute on most plans."
    )


class ClickupClient(RestClient[ClickupApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "ClickUp"
    credential_type = ClickupApiCredential
    not_json_hint = "Check the credential's API URL: ClickUp's is https://api.clickup.com/api/v2."
    json_object = True

    def connect(self, fields: ClickupApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            # A personal token goes in the header as it is; only OAuth access tokens take "Bearer".
            headers={"Authorization": fields.token, "Accept": "application/json"},
            secrets=(fields.token,),
        )

    def request(  # type: ignore[override]  # query parameters as pairs
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Query | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return ClickUp's JSON answer (``{}`` for an empty one, such as a delete's 204).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Below the API URL: ``/list/<id>/task``, ``/task/<id>``...
            action: What the request does, for the message: ``updating task 86a1b2c3``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters, as pairs.
            json: The JSON body.

        Raises:
            NodeError: With ClickUp's status, ``err`` and ``ECODE`` and what to do; never the token.
        """
        response = self.send(method, path, action, item_index=item_index, params=params, json=json)
        return self.decode(response, action, item_index)

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """ClickUp's ``err`` and ``ECODE``; a refused token and a 429 have their own wording."""
        status = response.status_code
        message, code = _refusal(response)
        label = f"{status} {code}".strip()
        if status == 401 and (code in TOKEN_CODES or not code):
            text = f"ClickUp did not accept the credential's token while {action} ({label})"
            hint = TOKEN_HINT
        elif status == 429:
            text = f"ClickUp's rate limit stopped {action} ({label})"
            hint = _reset_hint(response)
        else:
            text = f"ClickUp refused {action} ({label})"
            hint = HINTS.get(status, "ClickUp is failing: retry later." if status >= 500 else "See ClickUp's message.")
        if message:
            text += f": {message}"
        return self.error(text, hint, item_index)

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Query = (),
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` tasks (every one when ``None``) of a list, page by page (``page`` from 0).

        ClickUp serves :data:`PAGE_SIZE` tasks a page and says ``last_page: true`` on the last one.

        Raises:
            NodeError: As :meth:`request`.
        """
        entries: list[dict[str, Any]] = []
        page = 0
        while limit is None or len(entries) < limit:
            answer = self.request("GET", path, action, item_index=item_index, params=[*params, ("page", page)])
            found = [entry for entry in answer.get("tasks") or [] if isinstance(entry, dict)]
            entries.extend(found)
            last = answer.get("last_page")
            # Older answers lack last_page: then only a short page is the last.
            if last is True or not found or (last is None and len(found) < PAGE_SIZE):
                break
            page += 1
        return entries if limit is None else entries[:limit]
