"""Calling GitLab's REST API v4: one client per node run, paging by ``Link``/``X-Next-Page``, refusals as NodeErrors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.gitlab.credentials import GitlabApiCredential, GitlabApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The largest page GitLab serves."""
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HINTS = {
    400: "Change what GitLab named above, then retry.",
    401: "The token is wrong, expired or revoked: create a new access token with the api scope "
    "(User settings → Access tokens) and paste it into the credential.",
    403: "The token's user lacks the role for this (Reporter to read, Developer to create and update, Planner or "
    "Owner to delete issues) or the token lacks the api scope.",
    404: "Check the project (its numeric id or full path, such as group/project) and the IID; GitLab also "
    "answers 404 when the token cannot see a private project.",
    405: "The merge request cannot be merged as it is: it is already merged or closed, a draft, or blocked by "
    "its pipeline, approvals or open threads.",
    406: "The source branch conflicts with the target branch: resolve the conflicts, then retry.",
    409: "The source branch changed since that SHA: get the merge request again and use its current sha.",
    422: "Change what GitLab named above, then retry.",
}


def project_path(project: str, *rest: str | int) -> str:
    """``/projects/<id or escaped path>/...``: GitLab takes a full path only with its slashes escaped."""
    parts = [quote(project.strip().strip("/"), safe="")]
    parts.extend(quote(str(part), safe="") for part in rest)
    return "/projects/" + "/".join(parts)


def names(value: Any) -> Any:
    """A list parameter typed as text (``bug, ui``) or a list, as a list of non-empty strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def due_date(value: str) -> str:
    """An empty or ``YYYY-MM-DD`` date, as GitLab takes a due date; ``ValueError`` otherwise."""
    value = value.strip()
    if value and not DATE.match(value):
        raise ValueError("the due date must look like 2026-12-31")
    return value


def _detail(response: httpx.Response) -> str:
    """GitLab's ``message`` (text, a list, or field → problems) or ``error`` (with ``error_description``)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if not isinstance(data, dict):
        return response.reason_phrase
    message = data.get("message", data.get("error"))
    if isinstance(message, dict):
        parts = []
        for name, problems in message.items():
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{name} {', '.join(str(problem) for problem in listed)}")
        return "; ".join(parts) or response.reason_phrase
    if isinstance(message, list):
        return "; ".join(str(part) for part in message) or response.reason_phrase
    if not message:
        return response.reason_phrase
    extra = data.get("error_description")
    return f"{message}: {extra}" if extra else str(message)


def _wait_hint(response: httpx.Response) -> str:
    after = response.headers.get("retry-after", "")
    when = f" (in {after} seconds)" if after.isdigit() else ""
    return (
        f"Wait until GitLab lifts the limit{when} and retry the node, or slow the workflow down "
        "(Loop Over Items with a Wait)."
    )


class GitlabClient(RestClient[GitlabApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "GitLab"
    credential_type = GitlabApiCredential
    unreachable_hint = "Check the credential's server URL and the network, then retry."
    not_json_hint = "Check the credential's server URL: the address GitLab opens at, without /api/v4."

    def connect(self, fields: GitlabApiFields) -> Connection:
        self._base = fields.server_url.removesuffix("/api/v4") + "/api/v4"
        return Connection(
            base_url=self._base,
            headers={"PRIVATE-TOKEN": fields.token, "Accept": "application/json", "User-Agent": "hitl-studio"},
            secrets=(fields.token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """GitLab's message, with how long to wait when it limits the rate."""
        status = response.status_code
        detail = _detail(response)
        if status == 401:
            text = f"GitLab did not accept the credential's token while {action} (401: {detail})"
            hint = HINTS[401]
        elif status == 429:
            text = f"GitLab's rate limit stopped {action} (429: {detail})"
            hint = _wait_hint(response)
        else:
            text = f"GitLab refused {action} ({status}): {detail}"
            hint = HINTS.get(status, "GitLab is failing: retry later." if status >= 500 else "See GitLab's message.")
        return self.error(text, hint, item_index)

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a list, page by page.

        GitLab names the next page in a ``Link: <…>; rel="next"`` header (offset and keyset paging alike) and, for
        offset paging, in ``X-Next-Page``; the link is followed when there is one, the page number otherwise.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the server URL.
        """
        per_page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        first: dict[str, Any] = {**(params or {}), "per_page": per_page}
        url, query = path, first
        entries: list[dict[str, Any]] = []
        while True:
            response = self.send("GET", url, action, item_index=item_index, params=query)
            page = self.decode(response, action, item_index) or []
            entries.extend(page)
            if not page or (limit is not None and len(entries) >= limit):
                break
            following = response.links.get("next", {}).get("url")
            next_page = response.headers.get("x-next-page", "").strip()
            if following:
                if not following.startswith(self._base + "/"):
                    # The token goes with every request: never follow a link to another host.
                    raise self.error(
                        f"{action}: GitLab's next page is outside the server URL ({following})",
                        "Check the credential's server URL: use the address GitLab's own links use.",
                        item_index,
                    )
                url, query = following, None
            elif next_page:
                url, query = path, {**first, "page": next_page}
            else:
                break
        return entries if limit is None else entries[:limit]
