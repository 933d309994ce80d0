"""Calling the Todoist API v1: one client per node run, cursor paging, Todoist's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote

import httpx

from nodes.sdk import Context, NodeError
from nodes.todoist.credentials import TodoistApiCredential, TodoistApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
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


class TodoistClient:
    """An ``httpx`` client signed in with the credential's token; use it as a context manager."""

    def __init__(self, fields: TodoistApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.token
        self._http = httpx.Client(
            base_url=f"{fields.api_url.removesuffix('/api/v1')}/api/v1",
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> TodoistClient:
        """The client for the ``todoist_api`` credential selected on the running node."""
        fields = TodoistApiCredential.parse(ctx.credential(TodoistApiCredential.id))
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
    ) -> Any:
        """Send one request and return Todoist's JSON answer (``{}`` for a 204).

        Args:
            method: ``GET``, ``POST`` or ``DELETE``.
            path: Below ``/api/v1``, e.g. from :func:`task_path`.
            action: What the request does, for the message: ``closing task <id>``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Todoist's status, error tag and message and what to do; never the token.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Todoist could not be reached ({detail})",
                description="Check the credential's API URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError as err:
                raise NodeError(
                    f"{prefix}{action}: Todoist answered {response.status_code} with something other than JSON",
                    description="Check the credential's API URL: Todoist's is https://api.todoist.com.",
                    item_index=item_index,
                ) from err
        status = response.status_code
        message, tag = _detail(response)
        label = f"{status} {tag}" if tag else str(status)
        if status == 401:
            text = f"{prefix}Todoist did not accept the credential's token while {action} ({label}: {message})"
            hint = HINTS[401]
        elif status == 429:
            after = response.headers.get("retry-after", "")
            text = f"{prefix}Todoist's rate limit stopped {action} ({label}: {message})"
            hint = (
                f"Wait{f' {after} seconds' if after.isdigit() else ' a minute'} and retry the node; Todoist allows "
                "about 1000 requests per 15 minutes."
            )
        else:
            text = f"{prefix}Todoist refused {action} ({label}): {message}"
            hint = HINTS.get(status, "Todoist is failing: retry later." if status >= 500 else "See Todoist's message.")
        raise NodeError(text.replace(self._token, "***"), description=hint, item_index=item_index)

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
