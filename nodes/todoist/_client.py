"""Calling the Todoist API v1: one client per node run, cursor paging, Todoist's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.todoist.credentials import TodoistApiCredential, TodoistApiFields

PAGE_SIZE = 200
"""The largest page Todoist serves."""
HINTS = {
    400: "Change what Todoist named above (ids, labels, priority 1 to 4, the due date or filter), then retry.",
    401: "The API token is wrong or was reset: copy it again from Todoist → Settings → Integrations → Developer.",
    403: "The token's user may not change this project: ask its owner to share it.",
    404: "Check the task id: the task does not exist, was deleted, or is in a project the token cannot see.",
}


def task_path(task_id: str, *rest: str) -> str:
    """``/tasks/<id>/...`` with each part escaped."""
    return "/tasks/" + "/".join(quote(part.strip(), safe="") for part in (task_id, *rest))


def _detail(response: httpx.Response) -> tuple[str, str]:
    """Todoist's ``error`` (with the argument ``error_extra`` names) and its ``error_tag``; or the body's text."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase, ""
    if not isinstance(data, dict):
        return response.reason_phrase, ""
    message = str(data.get("error") or response.reason_phrase)
    extra = data.get("error_extra") if isinstance(data.get("error_extra"), dict) else {}
    if extra.get("argument"):
        message += f" ({extra['argument']})"
    return message, str(data.get("error_tag") or "")


class TodoistClient(RestClient[TodoistApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "Todoist"
    credential_type = TodoistApiCredential
    not_json_hint = "Check the credential's API URL: Todoist's is https://api.todoist.com."

    def connect(self, fields: TodoistApiFields) -> Connection:
        return Connection(
            base_url=f"{fields.api_url.removesuffix('/api/v1')}/api/v1",
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            secrets=(fields.token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Todoist's status, error tag and message, with how long to wait when it limits the rate."""
        status = response.status_code
        message, tag = _detail(response)
        label = f"{status} {tag}" if tag else str(status)
        if status == 401:
            text = f"Todoist did not accept the credential's token while {action} ({label}: {message})"
            hint = HINTS[401]
        elif status == 429:
            after = response.headers.get("retry-after", "")
            text = f"Todoist's rate limit stopped {action} ({label}: {message})"
            hint = (
                f"Wait{f' {after} seconds' if after.isdigit() else ' a minute'} and retry the node; Todoist allows "
                "about 1000 requests per 15 minutes."
            )
        else:
            text = f"Todoist refused {action} ({label}): {message}"
            hint = HINTS.get(status, "Todoist is failing: retry later." if status >= 500 else "See Todoist's message.")
        return self.error(text, hint, item_index)

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``results`` of a cursor-paged list, up to ``limit`` (all when ``None``), following ``next_cursor``.

        Raises:
            NodeError: As :meth:`request`.
        """
        results: list[dict[str, Any]] = []
        cursor: str | None = None
        while limit is None or len(results) < limit:
            query: dict[str, Any] = {
                **(params or {}),
                "limit": PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(results)),
            }
            if cursor:
                query["cursor"] = cursor
            answer = self.request("GET", path, action, item_index=item_index, params=query)
            page = answer.get("results") or []
            results.extend(page)
            cursor = answer.get("next_cursor")
            if not cursor or not page:
                break
        return results if limit is None else results[:limit]
