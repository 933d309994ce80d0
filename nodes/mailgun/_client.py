"""Calling Mailgun's v3 API: one client per node run, ``paging.next`` links, Mailgun's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import httpx

from nodes.mailgun.credentials import MailgunApiCredential, MailgunApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 60.0
"""Messages with large attachments take a while to upload."""
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


class MailgunClient:
    """An ``httpx`` client signed in with the credential's key (basic auth as ``api``); a context manager."""

    def __init__(self, fields: MailgunApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._key = fields.api_key
        self._base = fields.base_url
        self.domain = fields.domain
        self._http = httpx.Client(
            base_url=fields.base_url,
            auth=("api", fields.api_key),
            headers={"Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> MailgunClient:
        """The client for the ``mailgun_api`` credential selected on the running node."""
        fields = MailgunApiCredential.parse(ctx.credential(MailgunApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def request(
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
        """Send one request and return Mailgun's JSON answer.

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
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, url, params=params, data=data, files=list(files) or None)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._key, "***")
            raise NodeError(
                f"{prefix}{action} failed: Mailgun could not be reached ({detail})",
                description="Check the credential's region (or custom API URL) and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            try:
                answer = response.json()
            except ValueError as err:
                raise NodeError(
                    f"{prefix}{action}: Mailgun answered {response.status_code} with something other than JSON",
                    description="Check the credential's custom API URL: it must be Mailgun's API.",
                    item_index=item_index,
                ) from err
            return answer if isinstance(answer, dict) else {"items": answer}
        status = response.status_code
        hint = HINTS.get(status, "Mailgun is failing: retry later." if status >= 500 else "See Mailgun's message.")
        text = f"{prefix}Mailgun refused {action} ({status}): {_refusal(response)}"
        raise NodeError(text.replace(self._key, "***"), description=hint, item_index=item_index)

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
                raise NodeError(
                    f"{'' if item_index is None else f'item {item_index}: '}{action}: Mailgun's next page is "
                    f"outside the API URL ({following})",
                    description="Check the credential's region: use the one Mailgun's own links point to.",
                    item_index=item_index,
                )
            # The link carries the filters and the position itself.
            url, query = str(following), None
        return entries if limit is None else entries[:limit]
