"""Calling HubSpot's CRM v3 API: one client per node run, ``after`` cursors, HubSpot's refusals as NodeErrors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.hubspot.credentials import HUBSPOT_API_URL, HubspotApiCredential, HubspotApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The largest page HubSpot's list endpoints serve."""
SEARCH_PAGE_SIZE = 200
"""The largest page HubSpot's search endpoints serve."""
HINTS = {
    400: "Change what HubSpot named above: properties go by their internal names (Settings → Properties), "
    "and a choice property takes one of its option values.",
    401: "The access token is wrong or was rotated: copy the private app's current access token "
    "(Settings → Integrations → Private apps) into the credential.",
    403: "The private app lacks a scope this needs: add it under Settings → Integrations → Private apps → Scopes "
    "(crm.objects.contacts or crm.objects.deals, read or write), then retry.",
    404: "Check the id or email: the record does not exist, or was deleted.",
    409: "A record with this unique value (such as the email) exists already: update it instead.",
}
DAILY_LIMIT_HINT = (
    "The account's daily API limit is used up: wait until midnight in the account's time zone, "
    "or raise the limit with HubSpot's API add-on."
)
BURST_LIMIT_HINT = "Slow the workflow down (Loop Over Items with a Wait), or retry the node in a few seconds."


def object_path(object_type: str, object_id: str = "", *rest: str) -> str:
    """``/crm/v3/objects/<type>[/<id>/...]`` with the id escaped (an email may be an id)."""
    url = f"/crm/v3/objects/{object_type}"
    for part in (object_id, *rest):
        if part:
            url += "/" + quote(part.strip(), safe="@")
    return url


def _refusal(response: httpx.Response) -> dict[str, Any]:
    """HubSpot's ``{"status": "error", "message", "category", "correlationId", "errors", "policyName"}``."""
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:200].strip()}
    return data if isinstance(data, dict) else {}


def _readable(message: str) -> str:
    """``Property values were not valid: [{"message": ...}, ...]`` with the JSON list read out as its messages."""
    head, bracket, rest = message.partition(": [")
    if not bracket:
        return message
    try:
        problems = json.loads("[" + rest)
    except ValueError:
        return message
    texts = [str(problem["message"]) for problem in problems if isinstance(problem, dict) and problem.get("message")]
    return f"{head}: {'; '.join(texts)}" if texts else message


def _message(refusal: Mapping[str, Any]) -> str:
    """HubSpot's message, with the entries of ``errors`` it does not already say (the scopes a 403 misses)."""
    message = _readable(str(refusal.get("message") or "").strip())
    details = []
    for error in refusal.get("errors") or []:
        if not isinstance(error, dict):
            continue
        text = str(error.get("message") or "").strip()
        context = error.get("context") if isinstance(error.get("context"), dict) else {}
        for name, values in context.items():
            if isinstance(values, list) and values:
                text += f" ({name}: {', '.join(str(value) for value in values)})"
        if text and text not in message:
            details.append(text)
    return "; ".join([message, *details]) if details else message


class HubspotClient(RestClient[HubspotApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "HubSpot"
    credential_type = HubspotApiCredential
    not_json_hint = f"Check the credential's API URL: it must be HubSpot's API ({HUBSPOT_API_URL})."

    def connect(self, fields: HubspotApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.access_token}", "Accept": "application/json"},
            secrets=(fields.access_token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """HubSpot's category and message; a rate limit names its policy; the correlation id goes in the hint."""
        status = response.status_code
        refusal = _refusal(response)
        message = _message(refusal)
        if status == 429:
            policy = str(refusal.get("policyName") or "")
            text = f"HubSpot's rate limit{f' ({policy})' if policy else ''} stopped {action} (429)"
            hint = DAILY_LIMIT_HINT if policy == "DAILY" else BURST_LIMIT_HINT
        else:
            category = str(refusal.get("category") or "").strip()
            text = f"HubSpot refused {action} ({status}{f' {category}' if category else ''})"
            hint = HINTS.get(status, "HubSpot is failing: retry later." if status >= 500 else "See HubSpot's message.")
        if message:
            text += f": {message}"
        if refusal.get("correlationId"):
            hint += f" HubSpot support can trace the request by its correlation id {refusal['correlationId']}."
        return self.error(text, hint, item_index)

    def list_all(
        self,
        url: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` records of a list (every one when ``None``), following ``paging.next.after``."""
        query = dict(params or {})
        records: list[dict[str, Any]] = []
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(records))
            page = self.request("GET", url, action, item_index=item_index, params={**query, "limit": size})
            results = [record for record in page.get("results") or [] if isinstance(record, dict)]
            records.extend(results)
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results or (limit is not None and len(records) >= limit):
                break
            query["after"] = after
        return records if limit is None else records[:limit]

    def search(
        self, url: str, body: Mapping[str, Any], action: str, *, limit: int | None, item_index: int | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` records a search finds (every one when ``None``), following ``paging.next.after``.

        HubSpot serves at most 10,000 results of one search; narrow the filters to reach the others.
        """
        records: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            size = SEARCH_PAGE_SIZE if limit is None else min(SEARCH_PAGE_SIZE, limit - len(records))
            page_body = {**body, "limit": size, **({"after": after} if after else {})}
            page = self.request("POST", url, action, item_index=item_index, json=page_body)
            results = [record for record in page.get("results") or [] if isinstance(record, dict)]
            records.extend(results)
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results or (limit is not None and len(records) >= limit):
                break
        return records if limit is None else records[:limit]
