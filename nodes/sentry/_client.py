"""Calling Sentry's web API: one client per node run, cursor paging by ``Link`` headers, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.sentry.credentials import SentryApiCredential, SentryApiFields

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


class SentryClient(RestClient[SentryApiFields]):
    """A client signed in with the credential's token; use it as a context manager.

    :meth:`request` sends one request and returns Sentry's JSON object (``{}`` for an empty one, such as a
    delete's 202); its errors carry Sentry's status and detail and what to do, never the token.
    """

    service = "Sentry"
    credential_type = SentryApiCredential
    unreachable_hint = "Check the credential's Sentry URL and the network, then retry."
    not_json_hint = "Check the credential's Sentry URL: it must be the address Sentry opens at."
    json_object = True

    def connect(self, fields: SentryApiFields) -> Connection:
        self._api = f"{fields.api_url}/api/0"
        self.organization = fields.organization
        return Connection(
            base_url=self._api,
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            secrets=(fields.token,),
        )

    def organization_path(self, *rest: str) -> str:
        """``/organizations/<org>/[...]/`` with each part escaped; Sentry's paths end with a slash."""
        parts = [quote(self.organization, safe=""), *(quote(part.strip(), safe="") for part in rest)]
        return "/organizations/" + "/".join(parts) + "/"

    def project_path(self, project: str, *rest: str) -> str:
        """``/projects/<org>/<project>/[...]/`` with each part escaped."""
        parts = [quote(self.organization, safe=""), quote(project.strip(), safe=""), *rest]
        return "/projects/" + "/".join(parts) + "/"

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Sentry's detail; a 401 and a 429 have their own wording."""
        status = response.status_code
        detail = _refusal(response)
        if status == 401:
            text = f"Sentry did not accept the credential's token while {action} (401)"
            hint = HINTS[401]
        elif status == 429:
            text = f"Sentry's rate limit stopped {action} (429)"
            wait = response.headers.get("retry-after", "")
            hint = (
                f"Wait {wait + ' seconds' if wait.isdigit() else 'a moment'} and retry the node, or slow the workflow "
                "down (Loop Over Items with a Wait)."
            )
        else:
            text = f"Sentry refused {action} ({status})"
            hint = HINTS.get(status, "Sentry is failing: retry later." if status >= 500 else "See Sentry's message.")
        if detail:
            text += f": {detail}"
        return self.error(text, hint, item_index)

    def not_json(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        return self.error(
            f"{action}: Sentry answered {response.status_code} with something other than a JSON object",
            self.not_json_hint,
            item_index,
        )

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
            response = self.send("GET", url, action, item_index=item_index, params=query)
            page = response.json() if response.content else []
            found = [entry for entry in page if isinstance(entry, dict)] if isinstance(page, list) else []
            entries.extend(found)
            following = response.links.get("next") or {}
            if following.get("results") != "true" or not found or (limit is not None and len(entries) >= limit):
                break
            if not str(following.get("url", "")).startswith(self._api + "/"):
                # The token goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Sentry's next page is outside the Sentry URL ({following.get('url')})",
                    "Check the credential's Sentry URL: use the address Sentry's own links start with.",
                    item_index,
                )
            url, query = str(following["url"]), None
        return entries if limit is None else entries[:limit]
