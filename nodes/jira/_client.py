"""Calling the Jira Cloud REST API v3: one client per node run, both of Jira's paging styles, refusals as NodeErrors."""

from __future__ import annotations

import json as jsonlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.jira.credentials import JiraCloudApiCredential, JiraCloudApiFields
from nodes.sdk import NodeError

PAGE_SIZE = 100
"""The most issues or comments Jira serves per page when fields are asked for."""
HINTS = {
    400: "Change what Jira named above (field names and values must match the project's create and edit "
    "screens), then retry.",
    401: "The email or API token is wrong, or the token was revoked: create a new token at "
    "id.atlassian.com/manage-profile/security/api-tokens and check the email in the credential.",
    403: "The account lacks the project permission for this (Browse, Create, Edit, Delete or Transition issues, "
    "or Add comments): ask a Jira admin to grant it.",
    404: "Check the issue key (PROJ-123) and the comment id; Jira also answers 404 when the account may not "
    "see the issue.",
    409: "Jira was busy with the same issue: retry the node.",
}


def issue_path(key: str, *rest: str | int) -> str:
    """``/rest/api/3/issue/<key>/...`` with each part escaped."""
    parts = [quote(key.strip(), safe="")]
    parts.extend(quote(str(part), safe="") for part in rest)
    return "/rest/api/3/issue/" + "/".join(parts)


def names(value: Any) -> Any:
    """A list parameter typed as text (``bug, ui``) or a list, as a list of non-empty strings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def json_object(value: Any, what: str) -> Any:
    """A JSON object typed as text (the JSON widget and expressions may hand it over so) as a dict."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = jsonlib.loads(value)
        except ValueError as err:
            raise ValueError(f"the {what} are not valid JSON ({err})") from err
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"the {what} must be a JSON object")
    return value


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document: Jira Cloud's v3 API takes rich text only in this format.

    Blank lines separate paragraphs; a single line break stays a line break inside its paragraph.
    """
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        content: list[dict[str, Any]] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def _detail(response: httpx.Response) -> str:
    """Jira's ``errorMessages`` and ``errors`` (field → message) in one line; or the text of the body."""
    try:
        data = response.json()
    except ValueError:
        return re.sub(r"<[^>]+>", " ", response.text[:300]).strip() or response.reason_phrase
    if not isinstance(data, dict):
        return response.reason_phrase
    parts = [str(message) for message in data.get("errorMessages") or []]
    errors = data.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{name}: {message}" for name, message in errors.items())
    if not parts and data.get("message"):
        parts.append(str(data["message"]))
    return "; ".join(parts) or response.reason_phrase


class JiraClient(RestClient[JiraCloudApiFields]):
    """A client signed in with the account's email and API token; use it as a context manager."""

    service = "Jira"
    credential_type = JiraCloudApiCredential
    unreachable_hint = "Check the credential's site URL and the network, then retry."
    not_json_hint = "Check the credential's site URL: the address Jira opens at (https://<your-team>.atlassian.net)."

    def connect(self, fields: JiraCloudApiFields) -> Connection:
        return Connection(
            base_url=fields.site_url,
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            auth=(fields.email, fields.api_token),
            secrets=(fields.api_token,),
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Jira's messages and field errors, with how long to wait when it limits the rate."""
        status = response.status_code
        detail = _detail(response)
        if status == 401:
            text = f"Jira did not accept the credential's email and API token while {action} (401: {detail})"
            hint = HINTS[401]
        elif status == 429:
            after = response.headers.get("retry-after", "")
            text = f"Jira's rate limit stopped {action} (429: {detail})"
            hint = (
                f"Wait{f' {after} seconds' if after.isdigit() else ' a minute'} and retry the node, or slow the "
                "workflow down (Loop Over Items with a Wait)."
            )
        else:
            text = f"Jira refused {action} ({status}): {detail}"
            hint = HINTS.get(status, "Jira is failing: retry later." if status >= 500 else "See Jira's message.")
        return self.error(text, hint, item_index)

    def search(
        self,
        jql: str,
        fields: list[str],
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
    ) -> list[dict[str, Any]]:
        """The issues ``jql`` finds, up to ``limit`` (all when ``None``), following ``nextPageToken``.

        Uses ``POST /rest/api/3/search/jql``, the search Jira Cloud keeps (the ``startAt`` one is retired).

        Raises:
            NodeError: As :meth:`request`.
        """
        issues: list[dict[str, Any]] = []
        token: str | None = None
        while limit is None or len(issues) < limit:
            body: dict[str, Any] = {
                "jql": jql,
                "fields": fields,
                "maxResults": PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(issues)),
            }
            if token:
                body["nextPageToken"] = token
            answer = self.request("POST", "/rest/api/3/search/jql", action, item_index=item_index, json=body)
            page = answer.get("issues") or []
            issues.extend(page)
            token = answer.get("nextPageToken")
            if answer.get("isLast") or not token or not page:
                break
        return issues if limit is None else issues[:limit]

    def paginate(
        self,
        path: str,
        key: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The ``key`` entries of an offset-paged list (``startAt``/``maxResults``/``total``), up to ``limit``.

        Raises:
            NodeError: As :meth:`request`.
        """
        entries: list[dict[str, Any]] = []
        while limit is None or len(entries) < limit:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
            query = {**(params or {}), "startAt": len(entries), "maxResults": size}
            answer = self.request("GET", path, action, item_index=item_index, params=query)
            page = answer.get(key) or []
            entries.extend(page)
            if not page or len(entries) >= int(answer.get("total", 0)):
                break
        return entries if limit is None else entries[:limit]
