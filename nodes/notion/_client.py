"""Calling the Notion API: one client per node run, pagination, Notion's refusals as NodeErrors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from nodes._rest import Connection, RestClient
from nodes.notion.credentials import NotionApiCredential, NotionApiFields
from nodes.sdk import NodeError

NOTION_VERSION = "2022-06-28"
PAGE_SIZE = 100
"""The largest page Notion serves, and the most blocks one append takes."""
ID_AT_END = re.compile(
    r"(?<![0-9a-f])([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.IGNORECASE
)
SHARE = "share the page or database with the integration (••• → Connections)"
HINTS = {
    "unauthorized": "The token is wrong or was revoked: copy the integration's secret again from "
    "notion.so/my-integrations.",
    "restricted_resource": f"The integration may not do this: {SHARE}, and give it the capabilities it needs.",
    "object_not_found": f"Check the id, and {SHARE}.",
    "validation_error": "Check the property names and types against the database, and the filter and sorts.",
    "invalid_json": "Check the JSON in the node's settings.",
    "invalid_request": "Check the node's settings against Notion's API reference.",
    "conflict_error": "Another change happened at the same time: retry the node.",
    "rate_limited": "Notion allows about three requests a second: slow the workflow down (Loop Over Items with "
    "a Wait), or retry the node later.",
}


def notion_id(value: str) -> str:
    """The id (dashed, lower-case) in an id or a notion.so link, or ``ValueError``."""
    text = value.strip()
    path = urlsplit(text).path if "://" in text else text.split("?", 1)[0].split("#", 1)[0]
    match = ID_AT_END.search(path.rstrip("/"))
    if not match:
        raise ValueError("give the id (32 hexadecimal characters) or the notion.so link")
    compact = match.group(1).replace("-", "").lower()
    return f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"


class NotionClient(RestClient[NotionApiFields]):
    """A client signed in with the integration's token; use it as a context manager."""

    service = "Notion"
    credential_type = NotionApiCredential
    not_json_hint = "Check the credential's API URL: it must be Notion's API."

    def connect(self, fields: NotionApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.token}", "Notion-Version": NOTION_VERSION},
            secrets=(fields.token,),
        )

    def decode(self, response: httpx.Response, action: str, item_index: int | None = None) -> dict[str, Any]:
        """Notion's JSON object; every answer of Notion is one, so anything else means a wrong API URL."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self.error(
                f"{action}: Notion answered {response.status_code} with something other than a JSON object",
                self.not_json_hint,
                item_index,
            )
        return data

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Notion's error ``code`` and message; the hint goes by the code, which says more than the status."""
        try:
            data = response.json()
        except ValueError:
            data = None
        error = data if isinstance(data, dict) and data.get("object") == "error" else {}
        status = response.status_code
        code = str(error.get("code") or f"HTTP {status}")
        message = str(error.get("message") or response.text[:200]).strip()
        if status == 429:
            text = f"Notion is limiting requests and refused {action} (429 {code})"
        else:
            text = f"Notion refused {action} ({status} {code})" + (f": {message}" if message else "")
        hint = HINTS.get(code, "Notion is failing: retry later." if status >= 500 else "See Notion's message.")
        return self.error(text, hint, item_index)

    def paginate(
        self,
        method: str,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``results`` of every page (``limit`` None) or the first ``limit`` of them.

        Notion pages with ``has_more``/``next_cursor``; the cursor goes back as ``start_cursor``, in the JSON
        body of a POST (database queries) and in the query of a GET (block children).

        Raises:
            NodeError: As :meth:`request`.
        """
        results: list[dict[str, Any]] = []
        cursor: str | None = None
        while limit is None or len(results) < limit:
            page: dict[str, Any] = {"page_size": PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(results))}
            if cursor:
                page["start_cursor"] = cursor
            if method == "GET":
                answer = self.request(method, path, action, item_index=item_index, params=page)
            else:
                answer = self.request(method, path, action, item_index=item_index, json={**(body or {}), **page})
            results.extend(answer.get("results") or [])
            cursor = answer.get("next_cursor") if answer.get("has_more") else None
            if not cursor:
                break
        return results if limit is None else results[:limit]
