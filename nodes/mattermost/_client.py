"""Calling the Mattermost REST API v4: one client per node run, Mattermost's refusals as NodeErrors."""

from __future__ import annotations

from typing import Any, Self

import httpx

from nodes.mattermost.credentials import MattermostApiCredential, MattermostApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
HINTS = {
    400: "Check the ids (26 characters, from the channel's or post's 'Copy link') and the values sent.",
    401: "The token is wrong, expired or revoked: create a new personal access token (Profile → Security) "
    "or reset the bot's token, and paste it into the credential.",
    403: "The token's user may not do this: add the user or bot to the channel's team and channel, "
    "or give it the permission (a user can only change their own posts).",
    404: "Check the id: the channel or post does not exist, or was deleted.",
    413: "The message is too large: Mattermost takes at most 16383 characters.",
    429: "Mattermost is limiting requests: retry the node later, or slow the workflow down.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Mattermost's error id and message: ``{"id", "message", "status_code"}``; or the text of the body."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if isinstance(data, dict):
        return str(data.get("id") or ""), str(data.get("message") or "")
    return "", ""


class MattermostClient:
    """An ``httpx`` client signed in with the credential's token; use it as a context manager."""

    def __init__(self, fields: MattermostApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.token
        self._http = httpx.Client(
            base_url=f"{fields.base_url}/api/v4",
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> MattermostClient:
        """The client for the ``mattermost_api`` credential selected on the running node."""
        fields = MattermostApiCredential.parse(ctx.credential(MattermostApiCredential.id))
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
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return Mattermost's JSON answer.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: Under ``/api/v4``: ``/posts``, ``/channels/<id>/posts``...
            action: What the request does, for the message: ``creating a post in <channel>``.
            item_index: The item being processed, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With Mattermost's status, error id and message and what to do; never the token.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Mattermost could not be reached ({detail})",
                description="Check the credential's server URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            try:
                data = response.json()
            except ValueError as err:
                raise NodeError(
                    f"{prefix}{action}: the server answered {response.status_code} with something other than JSON",
                    description="Check the credential's server URL: it must be the Mattermost server's address.",
                    item_index=item_index,
                ) from err
            return data if isinstance(data, dict) else {"list": data}
        error_id, message = _refusal(response)
        status = response.status_code
        if status == 404 and not error_id:
            # Not Mattermost's JSON: the URL leads somewhere else.
            hint = "Check the credential's server URL: the address people open Mattermost at, without /api/v4."
        else:
            hint = HINTS.get(status, "Mattermost is failing: retry later." if status >= 500 else "See its message.")
        label = f"{status} {error_id}" if error_id else str(status)
        text = f"{prefix}Mattermost refused {action} ({label})" + (f": {message}" if message else "")
        raise NodeError(text.replace(self._token, "***"), description=hint, item_index=item_index)
