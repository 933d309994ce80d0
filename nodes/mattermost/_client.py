"""Calling the Mattermost REST API v4: one client per node run, Mattermost's refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.mattermost.credentials import MattermostApiCredential, MattermostApiFields
from nodes.sdk import NodeError

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


class MattermostClient(RestClient[MattermostApiFields]):
    """A client signed in with the credential's token; use it as a context manager."""

    service = "Mattermost"
    credential_type = MattermostApiCredential
    unreachable_hint = "Check the credential's server URL and the network, then retry."
    not_json_hint = "Check the credential's server URL: it must be the Mattermost server's address."

    def connect(self, fields: MattermostApiFields) -> Connection:
        return Connection(
            base_url=f"{fields.base_url}/api/v4",
            headers={"Authorization": f"Bearer {fields.token}", "Accept": "application/json"},
            secrets=(fields.token,),
        )

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
        """Send one request and return Mattermost's JSON answer, a list wrapped as ``{"list": [...]}``.

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
        response = self.send(method, path, action, item_index=item_index, params=params, json=json)
        try:
            # Every Mattermost answer has a body: an empty one is not Mattermost's.
            data = response.json()
        except ValueError as err:
            raise self.not_json(response, action, item_index) from err
        return data if isinstance(data, dict) else {"list": data}

    def not_json(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        return self.error(
            f"{action}: the server answered {response.status_code} with something other than JSON",
            self.not_json_hint,
            item_index,
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Mattermost's status, error id and message; a 404 without an error id means the URL is wrong."""
        error_id, message = _refusal(response)
        status = response.status_code
        if status == 404 and not error_id:
            # Not Mattermost's JSON: the URL leads somewhere else.
            hint = "Check the credential's server URL: the address people open Mattermost at, without /api/v4."
        else:
            hint = HINTS.get(status, "Mattermost is failing: retry later." if status >= 500 else "See its message.")
        label = f"{status} {error_id}" if error_id else str(status)
        text = f"Mattermost refused {action} ({label})" + (f": {message}" if message else "")
        return self.error(text, hint, item_index)
