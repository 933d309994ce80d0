"""Calling Intercom's REST API: one client per node run, a pinned version, cursor paging, errors as NodeErrors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

import httpx

from nodes.intercom.credentials import IntercomApiCredential, IntercomApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 150
"""The largest page Intercom's search serves."""
HINTS = {
    400: "Change what Intercom named above, then retry.",
    401: "The access token is wrong or was revoked, or the workspace is in another region: copy the app's "
    "access token (Developer Hub → your app → Authentication) and set the credential's API URL to the "
    "workspace's region.",
    403: "The app lacks a permission for this: allow it to read and write users and tags (Developer Hub → "
    "your app → Authentication → Edit permissions), or the workspace's plan does not include it.",
    404: "Check the contact id (in the contact's address in Intercom, or a Create or Search output): the contact "
    "does not exist or was deleted.",
    409: "A contact with this email or external id exists already: search for it and update it instead.",
    422: "Change what Intercom named above, then retry.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Intercom's first error code and every message: ``{"type": "error.list", "errors": [{"code", "message"}]}``."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if not isinstance(data, dict):
        return "", ""
    errors = [entry for entry in data.get("errors") or [] if isinstance(entry, dict)]
    code = str(errors[0].get("code") or "") if errors else ""
    messages = [str(entry["message"]).strip() for entry in errors if entry.get("message")]
    return code, "; ".join(messages)


def _reset_hint(response: httpx.Response) -> str:
    reset = response.headers.get("x-ratelimit-reset", "")
    when = " (at " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M:%S UTC") + ")" if reset.isdigit() else ""
    return (
        f"Wait until Intercom resets the limit{when} and retry the node, or slow the workflow down (Loop Over Items "
        "with a Wait): Intercom counts an app's requests per 10 seconds."
    )


class IntercomClient:
    """An ``httpx`` client signed in with the access token, on a pinned API version; use it as a context manager."""

    def __init__(self, fields: IntercomApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.access_token
        self._http = httpx.Client(
            base_url=fields.api_url,
            headers={
                "Authorization": f"Bearer {fields.access_token}",
                "Accept": "application/json",
                "Intercom-Version": fields.api_version,
            },
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> IntercomClient:
        """The client for the ``intercom_api`` credential selected on the running node."""
        fields = IntercomApiCredential.parse(ctx.credential(IntercomApiCredential.id))
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
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Intercom's JSON answer.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Below the API URL, e.g. ``/contacts/<id>``.
            action: What the request does, for the message: ``updating contact 6329bd9f``.
            item_index: The input item the request is for, named in the error.
            json: The JSON body.

        Raises:
            NodeError: With Intercom's status, error code and messages and what to do; never the token.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Intercom could not be reached ({detail})",
                description="Check the credential's API URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            try:
                data = response.json()
            except ValueError:
                data = None
            if not isinstance(data, dict):
                raise NodeError(
                    f"{prefix}{action}: Intercom answered {response.status_code} with something other than JSON",
                    description="Check the credential's API URL: https://api.intercom.io or its region's.",
                    item_index=item_index,
                )
            return data
        status = response.status_code
        code, message = _refusal(response)
        label = f"{status} {code}".strip()
        if status == 429:
            text = f"{prefix}Intercom's rate limit stopped {action} ({label})"
            hint = _reset_hint(response)
        else:
            text = f"{prefix}Intercom refused {action} ({label})"
            hint = HINTS.get(
                status, "Intercom is failing: retry later." if status >= 500 else "See Intercom's message."
            )
        if message:
            text += f": {message}"
        raise NodeError(text.replace(self._token, "***"), description=hint, item_index=item_index)

    def search(
        self,
        path: str,
        query: dict[str, Any],
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` matches (every one when ``None``) of a search, following ``pages.next.starting_after``.

        Raises:
            NodeError: As :meth:`request`.
        """
        per_page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        pagination: dict[str, Any] = {"per_page": per_page}
        entries: list[dict[str, Any]] = []
        while True:
            body = {"query": query, "pagination": pagination}
            page = self.request("POST", path, action, item_index=item_index, json=body)
            found = [entry for entry in page.get("data") or [] if isinstance(entry, dict)]
            entries.extend(found)
            following = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if not following or not found or (limit is not None and len(entries) >= limit):
                break
            pagination = {"per_page": per_page, "starting_after": following}
        return entries if limit is None else entries[:limit]
