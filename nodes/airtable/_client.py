"""Calling the Airtable Web API: one client per node run, Airtable's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.airtable.credentials import AirtableApiCredential, AirtableApiFields
from nodes.sdk import NodeError

BATCH_SIZE = 10
"""Airtable takes at most 10 records per create, update or delete request."""
PAGE_SIZE = 100
"""The largest page Airtable serves."""
HINTS = {
    401: "The token is wrong, expired or revoked: create a new one at airtable.com/create/tokens.",
    403: "Give the token the data.records scopes and access to this base (airtable.com/create/tokens), "
    "and check the base id (app...).",
    404: "Check the base id (app...), the table's name or id (tbl...) and the record id (rec...).",
    413: "The request is too large: send fewer or smaller records per item.",
    422: "Check the field names and values against the table (or turn on typecast), and the formula, view and sort.",
    429: "Airtable allows 5 requests a second per base: slow the workflow down (Loop Over Items with a Wait), "
    "or retry the node later.",
}


def where(indexes: Sequence[int]) -> str:
    """``item 3: `` or ``items 3 to 12: `` for a message about a batch of items."""
    if not indexes:
        return ""
    if len(indexes) == 1 or min(indexes) == max(indexes):
        return f"item {indexes[0]}: "
    return f"items {min(indexes)} to {max(indexes)}: "


def table_path(base: str, table: str, record_id: str = "") -> str:
    """``/v0/<base>/<table>[/<record>]`` with each part escaped: table names may hold spaces and slashes."""
    path = f"/v0/{quote(base.strip(), safe='')}/{quote(table.strip(), safe='')}"
    return f"{path}/{quote(record_id.strip(), safe='')}" if record_id.strip() else path


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Airtable's error type and message: ``{"error": {"type", "message"}}``, or ``{"error": "NOT_FOUND"}``."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}", response.text[:200].strip()
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("type") or f"HTTP {response.status_code}"), str(error.get("message") or "")
    if isinstance(error, str):
        return error, ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("error") or f"HTTP {response.status_code}"), str(errors[0].get("message") or "")
    return f"HTTP {response.status_code}", ""


class AirtableClient(RestClient[AirtableApiFields]):
    """A client signed in with the credential's token; use it as a context manager.

    Its :meth:`request` sends one batch of up to 10 records, so its messages name the range of items
    (``items 3 to 12: ``) where the base names one item; it does its own sending for that reason.
    """

    service = "Airtable"
    credential_type = AirtableApiCredential
    not_json_hint = "Check the credential's API URL: it must be Airtable's Web API."

    def connect(self, fields: AirtableApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            secrets=(fields.token,),
        )

    def request(  # type: ignore[override]  # a batch of items instead of one item_index
        self,
        method: str,
        path: str,
        action: str,
        *,
        items: Sequence[int] = (),
        params: Any = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Airtable's JSON answer.

        Args:
            method: ``GET``, ``POST``, ``PATCH`` or ``DELETE``.
            path: From :func:`table_path`, or ``/v0/meta/...``.
            action: What the request does, for the message: ``creating 3 records in 'Tasks'``.
            items: The input items the request is for; the first is the error's item index.
            params: Query parameters (a list of pairs repeats names, as ``fields[]`` needs).
            json: The JSON body.

        Raises:
            NodeError: With Airtable's error type and message and what to do; never the token.
        """
        item_index = items[0] if items else None
        prefix = where(items)
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            raise NodeError(
                self.mask(f"{prefix}{action} failed: Airtable could not be reached ({type(err).__name__}: {err})"),
                description=self.unreachable_hint,
                item_index=item_index,
            ) from err
        if response.is_success:
            try:
                data = response.json()
            except ValueError as err:
                raise NodeError(
                    f"{prefix}{action}: Airtable answered {response.status_code} with something other than JSON",
                    description=self.not_json_hint,
                    item_index=item_index,
                ) from err
            return data if isinstance(data, dict) else {"records": data}
        kind, message = _refusal(response)
        status = response.status_code
        if status == 429:
            text = f"{prefix}Airtable is limiting requests and refused {action} (429 {kind})"
        else:
            text = f"{prefix}Airtable refused {action} ({status} {kind})" + (f": {message}" if message else "")
        hint = HINTS.get(status, "Airtable is failing: retry later." if status >= 500 else "See Airtable's message.")
        raise NodeError(self.mask(text), description=hint, item_index=item_index)
