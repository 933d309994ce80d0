"""Calling GitHub's REST API: one client per node run, paging by ``Link`` headers, GitHub's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.github.credentials import GithubApiCredential, GithubApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The largest page GitHub serves."""
API_VERSION = "2022-11-28"
JSON_MEDIA_TYPE = "application/vnd.github+json"
RAW_MEDIA_TYPE = "application/vnd.github.raw+json"
HINTS = {
    401: "The personal access token is wrong, expired or revoked: create a new one and paste it into the credential.",
    403: "The token lacks a permission for this: give it access to the repository and the permission the "
    "operation needs (Issues, Contents or Administration: read and write), or the repo scope for a classic token.",
    404: "Check the owner, the repository's name and the number, path, tag or id; GitHub also answers 404 when "
    "the token cannot see a private repository, so check the token's repository access too.",
    409: "The repository changed meanwhile (or is empty): retry the node.",
    422: "Change what GitHub named above, then retry.",
}


def repo_path(owner: str, repository: str, *rest: str | int) -> str:
    """``/repos/<owner>/<repo>/...`` with each part escaped."""
    parts = [quote(owner.strip(), safe=""), quote(repository.strip(), safe="")]
    parts.extend(quote(str(part), safe="") for part in rest)
    return "/repos/" + "/".join(parts)


def names(value: Any) -> Any:
    """A list parameter typed as text (``bug, ui``) or a list, as a list of non-empty names."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def _detail(response: httpx.Response) -> str:
    """GitHub's ``message``, with each entry of a 422's ``errors`` list."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if not isinstance(data, dict):
        return response.reason_phrase
    message = str(data.get("message") or response.reason_phrase).strip()
    details = []
    for error in data.get("errors") or []:
        if isinstance(error, str):
            details.append(error)
        elif isinstance(error, dict):
            if error.get("message"):
                details.append(str(error["message"]))
            else:
                where = ".".join(str(error[key]) for key in ("resource", "field") if error.get(key))
                text = f"{where} {error.get('code', 'invalid')}".strip()
                if "value" in error:
                    text += f" ({error['value']!r})"
                details.append(text)
    return f"{message}: {'; '.join(details)}" if details else message


def _rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers:
        return True
    return "rate limit" in response.text.lower()


def _reset_hint(response: httpx.Response) -> str:
    reset = response.headers.get("x-ratelimit-reset", "")
    when = ""
    if reset.isdigit():
        when = " (at " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M UTC") + ")"
    elif response.headers.get("retry-after", "").isdigit():
        when = f" (in {response.headers['retry-after']} seconds)"
    return (
        f"Wait until GitHub resets the limit{when} and retry the node, or slow the workflow down "
        "(Loop Over Items with a Wait)."
    )


class GithubClient(RestClient[GithubApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "GitHub"
    credential_type = GithubApiCredential
    not_json_hint = "Check the credential's API URL: it must be GitHub's REST API (…/api/v3 on Enterprise)."

    def connect(self, fields: GithubApiFields) -> Connection:
        self._base = fields.api_url
        return Connection(
            base_url=fields.api_url,
            headers={
                "Authorization": f"Bearer {fields.token}",
                "Accept": JSON_MEDIA_TYPE,
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "hitl-studio",
            },
            secrets=(fields.token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """GitHub's message (with a 422's field errors), telling a spent rate limit from a missing permission."""
        status = response.status_code
        detail = _detail(response)
        if status == 401:
            text = f"GitHub did not accept the credential's token while {action} (401: {detail})"
            hint = HINTS[401]
        elif _rate_limited(response):
            text = f"GitHub's rate limit stopped {action} ({status}: {detail})"
            hint = _reset_hint(response)
        else:
            text = f"GitHub refused {action} ({status}): {detail}"
            hint = HINTS.get(status, "GitHub is failing: retry later." if status >= 500 else "See GitHub's message.")
        return self.error(text, hint, item_index)

    def raw(
        self, path: str, action: str, *, item_index: int | None = None, params: Mapping[str, Any] | None = None
    ) -> bytes:
        """The raw bytes of a file's contents (GitHub leaves files over 1 MB out of the JSON answer)."""
        response = self.send(
            "GET", path, action, item_index=item_index, params=params, headers={"Accept": RAW_MEDIA_TYPE}
        )
        return response.content

    def paginate(
        self,
        path: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries (every one when ``None``) of a list, following ``Link: <…>; rel="next"``.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the API URL.
        """
        per_page = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
        query: dict[str, Any] | None = {**(params or {}), "per_page": per_page}
        url = path
        entries: list[dict[str, Any]] = []
        while True:
            response = self.send("GET", url, action, item_index=item_index, params=query)
            page = response.json() if response.content else []
            if isinstance(page, dict):
                # Some lists come wrapped (``{"total_count": n, "repositories": [...]}``).
                page = next((value for value in page.values() if isinstance(value, list)), [])
            entries.extend(page)
            following = response.links.get("next", {}).get("url")
            if not following or not page or (limit is not None and len(entries) >= limit):
                break
            if not following.startswith(self._base + "/"):
                # The token goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: GitHub's next page is outside the API URL ({following})",
                    "Check the credential's API URL: use the URL GitHub's own links start with.",
                    item_index,
                )
            url, query = following, None
        return entries if limit is None else entries[:limit]
