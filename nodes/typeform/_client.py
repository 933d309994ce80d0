"""Calling Typeform's APIs: one client per node run, Typeform's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.typeform.credentials import TypeformApiCredential, TypeformApiFields

RESPONSES_PAGE_SIZE = 1000
"""The largest page of responses Typeform serves."""
FORMS_PAGE_SIZE = 200
"""The largest page of forms Typeform serves."""
HINTS = {
    400: "Change what Typeform named above, then retry.",
    401: "The personal access token is wrong or was revoked: generate one (Account → Your settings → Personal "
    "tokens) and paste it into the credential; for an account in the EU data center, set the API URL to "
    "https://api.eu.typeform.com.",
    403: "The token lacks a scope for this (forms:read, responses:read, or responses:write to delete), or the "
    "form belongs to another account: generate a token with the scope, as the form's owner.",
    404: "Check the form id: the part after /to/ in the form's link (https://acme.typeform.com/to/<id>).",
    429: "Typeform allows 2 requests per second per account: retry the node shortly, or slow the workflow down.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Typeform's code and description, with each detail: ``{"code", "description", "details": [...]}``."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    description = str(data.get("description") or data.get("message") or "").strip()
    details = [
        f"{entry['field']}: {entry.get('description')}" if entry.get("field") else str(entry.get("description"))
        for entry in data.get("details") or []
        if isinstance(entry, dict) and entry.get("description")
    ]
    if details:
        description = f"{description} ({'; '.join(details)})" if description else "; ".join(details)
    return str(data.get("code") or ""), description


class TypeformClient(RestClient[TypeformApiFields]):
    """A client signed in with the personal access token; use it as a context manager.

    :meth:`request` returns Typeform's JSON object (``{}`` for an empty one); its errors carry Typeform's status,
    code and description, never the token.
    """

    service = "Typeform"
    credential_type = TypeformApiCredential
    not_json_hint = "Check the credential's API URL: https://api.typeform.com or the EU one."
    json_object = True

    def connect(self, fields: TypeformApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            secrets=(fields.token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Typeform's code and description, with how long to wait when it limits the rate."""
        status = response.status_code
        code, description = _refusal(response)
        hint = HINTS.get(status, "Typeform is failing: retry later." if status >= 500 else "See Typeform's message.")
        wait = response.headers.get("retry-after", "")
        if status == 429 and wait.isdigit():
            hint = f"Wait {wait} seconds and retry the node: Typeform allows 2 requests per second per account."
        text = f"Typeform refused {action} ({f'{status} {code}'.strip()})"
        if description:
            text += f": {description}"
        return self.error(text, hint, item_index)

    def responses(
        self,
        form_id: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` responses (every one when ``None``) of a form, newest first.

        Typeform pages responses by token: the next page is asked for with ``before`` set to the token of the
        oldest response so far, until a page comes back short.

        Raises:
            NodeError: As :meth:`request`.
        """
        page_size = RESPONSES_PAGE_SIZE if limit is None else min(RESPONSES_PAGE_SIZE, limit)
        path = f"/forms/{quote(form_id, safe='')}/responses"
        entries: list[dict[str, Any]] = []
        query: dict[str, Any] = {**(params or {}), "page_size": page_size}
        while True:
            page = self.request("GET", path, action, item_index=item_index, params=query)
            found = [entry for entry in page.get("items") or [] if isinstance(entry, dict)]
            entries.extend(found)
            token = found[-1].get("token") if found else None
            if len(found) < page_size or not token or (limit is not None and len(entries) >= limit):
                break
            query = {**query, "before": token}
        return entries if limit is None else entries[:limit]

    def pages(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a numbered list, such as the forms, to ``page_count``.

        Raises:
            NodeError: As :meth:`request`.
        """
        page_size = FORMS_PAGE_SIZE if limit is None else min(FORMS_PAGE_SIZE, limit)
        entries: list[dict[str, Any]] = []
        number = 1
        while True:
            query = {**(params or {}), "page": number, "page_size": page_size}
            page = self.request("GET", path, action, item_index=item_index, params=query)
            found = [entry for entry in page.get("items") or [] if isinstance(entry, dict)]
            entries.extend(found)
            count = page.get("page_count")
            last = number >= count if isinstance(count, int) else len(found) < page_size
            if not found or last or (limit is not None and len(entries) >= limit):
                break
            number += 1
        return entries if limit is None else entries[:limit]
