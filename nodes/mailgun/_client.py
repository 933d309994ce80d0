"""Calling Mailgun's v3 API: one client per node run, ``paging.next`` links, Mailgun's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.mailgun.credentials import MailgunApiCredential, MailgunApiFields
from nodes.sdk import NodeError

HINTS = {
    400: "Change what Mailgun named above, then retry.",
    401: "Mailgun refused the API key: paste the domain's sending key or the account's private API key, and pick "
    "the region the domain lives in (an EU domain is unknown to the US API, and the other way round).",
    402: "The Mailgun plan does not allow this: upgrade it, or check the account's billing.",
    403: "The key may not do this (a sending key can only send): use the account's private API key.",
    404: "Check the credential's domain and region: the domain must be a sending domain of this account.",
    413: "The message is over 25 MB: attach fewer or smaller files.",
    429: "Mailgun is limiting the account's requests: retry the node later, or slow the workflow down "
    "(Loop Over Items with a Wait).",
}
FileField = tuple[str, tuple[str, bytes, str]]
"""A multipart upload: ``(field name, (file name, bytes, MIME type))``."""


def _refusal(response: httpx.Response) -> str:
    """Mailgun's ``{"message"}``; a 401 comes as the plain text ``Forbidden``."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"]).strip()
    return response.reason_phrase


class MailgunClient(RestClient[MailgunApiFields]):
    """A client signed in with the credential's key (basic auth as ``api``); a context manager."""

    service = "Mailgun"
    credential_type = MailgunApiCredential
    default_timeout = 60.0
    """Messages with large attachments take a while to upload."""
    unreachable_hint = "Check the credential's region (or custom API URL) and the network, then retry."
    not_json_hint = "Check the credential's custom API URL: it must be Mailgun's API."

    def connect(self, fields: MailgunApiFields) -> Connection:
        self._base = fields.base_url
        self.domain = fields.domain
        return Connection(
            base_url=fields.base_url,
            headers={"Accept": "application/json"},
            auth=("api", fields.api_key),
            secrets=(fields.api_key,),
        )

    def request(  # type: ignore[override]  # Mailgun takes form bodies and uploads, not JSON
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Sequence[FileField] = (),
    ) -> dict[str, Any]:
        """Send one request and return Mailgun's JSON answer (a list wrapped as ``{"items": [...]}``).

        Args:
            method: ``GET`` or ``POST``.
            url: Below the API URL (``/v3/<domain>/messages``), or a ``paging.next`` link.
            action: What the request does, for the message: ``sending the email to ada@example.com``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            data: Form fields; a list value repeats the field (several ``to`` or ``o:tag``).
            files: Attachments; with them the form goes as multipart.

        Raises:
            NodeError: With Mailgun's status and message and what to do; never the key.
        """
        response = self.send(
            method, url, action, item_index=item_index, params=params, data=data, files=list(files) or None
        )
        try:
            # Mailgun answers every request with a body: an empty one is not Mailgun's.
            answer = response.json()
        except ValueError as err:
            raise self.not_json(response, action, item_index) from err
        return answer if isinstance(answer, dict) else {"items": answer}

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Mailgun's message (a 401 comes as plain text) and the hint for its status."""
        status = response.status_code
        hint = HINTS.get(status, "Mailgun is failing: retry later." if status >= 500 else "See Mailgun's message.")
        return self.error(f"Mailgun refused {action} ({status}): {_refusal(response)}", hint, item_index)

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        page_size: int,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of an ``items`` list, following ``paging.next``.

        Mailgun always gives a next link; the page after the last one is empty.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the API URL.
        """
        size = page_size if limit is None else min(page_size, limit)
        url: str = path
        query: dict[str, Any] | None = {**(params or {}), "limit": size}
        entries: list[dict[str, Any]] = []
        while True:
            answer = self.request("GET", url, action, item_index=item_index, params=query)
            page = answer.get("items") or []
            entries.extend(page)
            following = (answer.get("paging") or {}).get("next")
            if not following or not page or (limit is not None and len(entries) >= limit):
                break
            if not str(following).startswith(self._base + "/"):
                # The key goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Mailgun's next page is outside the API URL ({following})",
                    "Check the credential's region: use the one Mailgun's own links point to.",
                    item_index,
                )
            # The link carries the filters and the position itself.
            url, query = str(following), None
        return entries if limit is None else entries[:limit]
