"""Calling Linear's GraphQL API: one client per node run, cursor paging, GraphQL ``errors`` as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.linear.credentials import LinearApiCredential, LinearApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""Issues per request: Linear serves up to 250, but a page's query complexity grows with its size."""
HINTS = {
    "AUTHENTICATION_ERROR": "The API key is wrong or was revoked: create a new personal API key (Settings → "
    "Security & access) and paste it into the credential.",
    "FORBIDDEN": "The key's user may not do this: check their access to the team, or the key's permissions.",
    "INVALID_INPUT": "Check the ids (team, state, assignee, labels, issue) and the values against Linear; ids "
    "are UUIDs, issues also take their identifier such as ENG-123.",
    "GRAPHQL_VALIDATION_FAILED": "Linear did not understand the query: check the credential's API URL.",
}


def _wait_hint(response: httpx.Response) -> str:
    reset = response.headers.get("x-ratelimit-requests-reset", "")
    when = ""
    if reset.isdigit():
        when = " (at " + datetime.fromtimestamp(int(reset) / 1000, UTC).strftime("%H:%M UTC") + ")"
    return (
        f"Wait until Linear's limit refills{when} and retry the node, or slow the workflow down "
        "(Loop Over Items with a Wait)."
    )


def _answer(response: httpx.Response) -> dict[str, Any] | None:
    """Linear's JSON answer; a rate limit's plain-text body as a ``RATELIMITED`` error; ``None`` when not JSON."""
    try:
        answer = response.json()
    except ValueError:
        if response.status_code == 429:
            return {"errors": [{"message": response.text.strip(), "extensions": {"code": "RATELIMITED"}}]}
        return None
    return answer if isinstance(answer, dict) else {}


class LinearClient(RestClient[LinearApiFields]):
    """A client signed in with the credential's API key; use it as a context manager.

    Linear's API is GraphQL: :meth:`graphql` replaces :meth:`request`, since GraphQL reports errors in the
    body of a 200 answer.
    """

    service = "Linear"
    credential_type = LinearApiCredential
    not_json_hint = "Check the credential's API URL: Linear's is https://api.linear.app."

    def connect(self, fields: LinearApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            # A personal API key goes in the header as it is; only OAuth tokens take "Bearer".
            headers={"Authorization": fields.api_key, "Accept": "application/json", "User-Agent": "hitl-studio"},
            secrets=(fields.api_key,),
        )

    def graphql(
        self, query: str, variables: Mapping[str, Any], action: str, *, item_index: int | None = None
    ) -> dict[str, Any]:
        """Run one GraphQL operation and return its ``data``.

        Args:
            query: The operation's document.
            variables: Its variables.
            action: What it does, for the message: ``creating an issue``.
            item_index: The input item it is for, named in the error.

        Raises:
            NodeError: For a transport failure, a non-JSON answer, or any entry in GraphQL's ``errors``, with
                Linear's message, error code and what to do; never the key.
        """
        response = self.exchange(
            "POST", "/graphql", action, item_index=item_index, json={"query": query, "variables": dict(variables)}
        )
        answer = _answer(response)
        if answer is None:
            raise self.not_json(response, action, item_index)
        if answer.get("errors") or not response.is_success:
            raise self.refusal(response, action, item_index)
        return answer.get("data") or {}

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """The first GraphQL error's code and message (with its user-presentable text), or the status."""
        errors = (_answer(response) or {}).get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        extensions = first.get("extensions") or {}
        code = str(extensions.get("code") or "").upper()
        message = str(first.get("message") or response.reason_phrase).strip()
        friendly = str(extensions.get("userPresentableMessage") or "").strip()
        if friendly and friendly != message:
            message = f"{message} ({friendly})"
        if code == "AUTHENTICATION_ERROR" or response.status_code == 401:
            text = f"Linear did not accept the credential's API key while {action}: {message}"
            hint = HINTS["AUTHENTICATION_ERROR"]
        elif code == "RATELIMITED" or response.status_code == 429:
            text = f"Linear's rate limit stopped {action}: {message}"
            hint = _wait_hint(response)
        else:
            label = code or str(response.status_code)
            text = f"Linear refused {action} ({label}): {message}"
            hint = HINTS.get(code, "Linear is failing: retry later." if response.status_code >= 500 else "")
            hint = hint or "See Linear's message."
        return self.error(text, hint, item_index)

    def paginate(
        self,
        query: str,
        variables: Mapping[str, Any],
        connection: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
    ) -> list[dict[str, Any]]:
        """The ``nodes`` of the connection ``connection`` across pages, up to ``limit`` (all when ``None``).

        The query takes ``$first`` and ``$after`` and selects ``pageInfo { hasNextPage endCursor }``; each next page
        starts after the previous page's ``endCursor``.

        Raises:
            NodeError: As :meth:`graphql`.
        """
        nodes: list[dict[str, Any]] = []
        cursor: str | None = None
        while limit is None or len(nodes) < limit:
            first = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(nodes))
            data = self.graphql(query, {**variables, "first": first, "after": cursor}, action, item_index=item_index)
            page = data.get(connection) or {}
            found = page.get("nodes") or []
            nodes.extend(found)
            info = page.get("pageInfo") or {}
            cursor = info.get("endCursor")
            if not info.get("hasNextPage") or not cursor or not found:
                break
        return nodes if limit is None else nodes[:limit]
