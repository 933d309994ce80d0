"""Calling Sentry's web API: one client per node run, cursor paging by ``Link`` headers, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote

import httpx

from nodes.sdk import Context, NodeError
from nodes.sentry.credentials import SentryApiCredential, SentryApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
PAGE_SIZE = 100
"""The largest page Sentry serves."""
HINTS = {
    400: "Change what Sentry named above, then retry.",
    401: "The auth token is wrong or was revoked: create a new one (User settings → Personal Tokens) and paste it "
    "into the credential.",
    403: "The token may not do this: give it the event:read and event:write scopes (event:admin to delete), and "
    "make its user a member of the project's team.",
    404: "Check the organization slug in the credential and the project slug or issue id: they do not exist, or the "
    "token cannot see them.",
}


def _prefix(item_index: int | None) -> str:
    return f"item {item_index}: " if item_index is not None else ""


def _refusal(response: httpx.Response) -> str:
    """Sentry's ``{"detail": "..."}``, or a serializer's ``{field: ["problem", ...]}``, as one line."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(data, dict):
        return ""
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail.strip()
    if isinstance(detail, dict):
        return str(detail.get("message") or "").strip()
    problems = []
    for name, listed in data.items():
        for problem in listed if isinstance(listed, list) else [listed]:
            problems.append(f"{name}: {problem}")
    return "; ".join(problems)


class SentryClient:
    """An ``httpx`` client signed in with the credential's token; use it as a context manager."""

    def __init__(self, fields: SentryApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.token
        self._api = f"{fields.api_url}/api/0"
        self.organization = fields.organization
        self._http = httpx.Client(
            base_url=self._api,
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> SentryClient:
        """The client for the ``sentry_api`` credential selected on the running node."""
        fields = SentryApiCredential.parse(ctx.credential(SentryApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def organization_path(self, *rest: str) -> str:
        """``/organizations/<org>/[...]/`` with each part escaped; Sentry's paths end with a slash."""
        parts = [quote(self.organization, safe=""), *(quote(part.strip(), safe="") for part in rest)]
        return "/organizations/" + "/".join(parts) + "/"

    def project_path(self, project: str, *rest: str) -> str:
        """``/projects/<org>/<project>/[...]/`` with each part escaped."""
        parts = [quote(self.organization, safe=""), quote(project.strip(), safe=""), *rest]
        return "/projects/" + "/".join(parts) + "/"

    def _send(
        self, method: str, url: str, action: str, item_index: int | None, params: Any, json: Any
    ) -> httpx.Response:
        prefix = _prefix(item_index)
        try:
            response = self._http.request(method, url, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Sentry could not be reached ({detail})",
                description="Check the credential's Sentry URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            return response
        status = response.status_code
        detail = _refusal(response)
        if status == 401:
            text = f"{prefix}Sentry did not accept the credential's token while {action} (401)"
            hint = HINTS[401]
        elif status == 429:
            text = f"{prefix}Sentry's rate limit stopped {action} (429)"
            wait = response.headers.get("retry-after", "")
            hint = (
                f"Wait {wait + ' seconds' if wait.isdigit() else 'a moment'} and retry the node, or slow the workflow "
                "down (Loop Over Items with a Wait)."
            )
        else:
            text = f"{prefix}Sentry refused {action} ({status})"
            hint = HINTS.get(status, "Sentry is failing: retry later." if status >= 500 else "See Sentry's message.")
        if detail:
            text += f": {detail}"
        raise NodeError(text.replace(self._token, "***"), description=hint, item_index=item_index)

    def request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Sentry's JSON answer (``{}`` for an empty one, such as a delete's 202).

        Args:
            method: ``GET``, ``PUT`` or ``DELETE``.
            path: From :meth:`organization_path` or :meth:`project_path`.
            action: What the request does, for the message: ``resolving issue 42``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Sentry's status and detail and what to do; never the token.
        """
        response = self._send(method, path, action, item_index, params, json)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise NodeError(
                f"{_prefix(item_index)}{action}: Sentry answered {response.status_code} with something other than "
                "a JSON object",
                description="Check the credential's Sentry URL: it must be the address Sentry opens at.",
                item_index=item_index,
            )
        return data

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a list, following Sentry's cursors.

        Sentry always sends a ``rel="next"`` link; its ``results="true"`` says whether that page holds anything.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the Sentry URL.
        """
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        query: dict[str, Any] | None = {**(params or {}), "per_page": size}
        url = path
        entries: list[dict[str, Any]] = []
        while True:
            response = self._send("GET", url, action, item_index, query, None)
            page = response.json() if response.content else []
            found = [entry for entry in page if isinstance(entry, dict)] if isinstance(page, list) else []
            entries.extend(found)
            following = response.links.get("next") or {}
            if following.get("results") != "true" or not found or (limit is not None and len(entries) >= limit):
                break
            if not str(following.get("url", "")).startswith(self._api + "/"):
                # The token goes with every request: never follow a link to another host.
                raise NodeError(
                    f"{_prefix(item_index)}{action}: Sentry's next page is outside the Sentry URL "
                    f"({following.get('url')})",
                    description="Check the credential's Sentry URL: use the address Sentry's own links start with.",
                    item_index=item_index,
                )
            url, query = str(following["url"]), None
        return entries if limit is None else entries[:limit]
