"""Calling the Matrix Client-Server API (v3): one client per node run, Matrix errors as NodeErrors.

A rate-limited request (``M_LIMIT_EXCEEDED``) is retried after the ``retry_after_ms`` the homeserver asks for,
when that is short; the message node's transaction ids make a retried send safe.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.matrix.credentials import MatrixApiCredential, MatrixApiFields
from nodes.sdk import NodeError

CLIENT_API = "/_matrix/client/v3"
MAX_RATE_LIMIT_WAITS = 3
MAX_RATE_LIMIT_WAIT_SECONDS = 10.0
"""Wait out a rate limit this short; a longer one fails the item with the wait in the message."""
HINTS = {
    "M_UNKNOWN_TOKEN": "The access token is wrong, or its session was logged out: log in again and paste the new "
    "token into the credential.",
    "M_MISSING_TOKEN": "Paste the account's access token into the credential.",
    "M_FORBIDDEN": "The account is not in the room, or its power level is too low: invite it and let it join, or "
    "raise its power level.",
    "M_NOT_FOUND": "Check the room id (!...:server, under the room's Settings → Advanced).",
    "M_INVALID_PARAM": "Check the room id: it starts with ! (an alias such as #room:server is not an id).",
    "M_TOO_LARGE": "The message is too large for the homeserver: shorten it.",
    "M_UNRECOGNIZED": "Check the credential's homeserver URL: the homeserver does not know this API path.",
}


def _refusal(response: httpx.Response) -> tuple[str, str, float | None]:
    """Matrix's ``{"errcode", "error", "retry_after_ms"}``, with the wait in seconds (body or Retry-After)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return "", response.text[:200].strip() or response.reason_phrase, None
    wait: float | None = None
    if isinstance(data.get("retry_after_ms"), int | float):
        wait = data["retry_after_ms"] / 1000
    elif response.headers.get("retry-after", "").isdigit():
        wait = float(response.headers["retry-after"])
    return str(data.get("errcode") or ""), str(data.get("error") or response.reason_phrase), wait


class MatrixClient(RestClient[MatrixApiFields]):
    """A client signed in with the credential's access token; use it as a context manager."""

    service = "the homeserver"
    credential_type = MatrixApiCredential
    unreachable_hint = "Check the credential's homeserver URL and the network, then retry."
    not_json_hint = "Check the credential's homeserver URL: it must be the Matrix client API's address."

    def __init__(self, fields: MatrixApiFields, timeout: float | None = None) -> None:
        super().__init__(fields, timeout)
        # Waiting out a rate limit must not outlive the node's timeout.
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def connect(self, fields: MatrixApiFields) -> Connection:
        return Connection(
            base_url=fields.homeserver_url + CLIENT_API,
            headers={"Authorization": f"Bearer {fields.access_token}", "Accept": "application/json"},
            secrets=(fields.access_token,),
        )

    def _may_wait(self, seconds: float | None, waits: int) -> bool:
        if seconds is None or seconds > MAX_RATE_LIMIT_WAIT_SECONDS or waits >= MAX_RATE_LIMIT_WAITS:
            return False
        return self._deadline is None or time.monotonic() + seconds < self._deadline

    def request(  # type: ignore[override]  # waits out rate limits; no ``tolerate``
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """Send one request and return the homeserver's JSON answer, waiting out a short rate limit.

        Args:
            method: ``GET`` or ``PUT``.
            path: Under ``/_matrix/client/v3``: ``/rooms/<id>/messages``...
            action: What the request does, for the message: ``sending a message to !room:server``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.

        Raises:
            NodeError: With the Matrix error code and message and what to do; never the token.
        """
        waits = 0
        while True:
            response = self.exchange(method, path, action, item_index=item_index, params=params, json=json)
            if response.is_success:
                break
            _, _, wait = _refusal(response)
            if response.status_code == 429 and self._may_wait(wait, waits):
                waits += 1
                time.sleep(wait or 0)
                continue
            raise self.refusal(response, action, item_index)
        try:
            # Every Matrix answer has a body: an empty one is not the homeserver's.
            answer = response.json()
        except ValueError as err:
            raise self.not_json(response, action, item_index) from err
        return answer if isinstance(answer, dict) else {"result": answer}

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """The Matrix ``errcode`` and error; the hint goes by the errcode, or the wait a rate limit asks for."""
        errcode, message, wait = _refusal(response)
        status = response.status_code
        if status == 429 or errcode == "M_LIMIT_EXCEEDED":
            after = f"wait {wait:g} seconds" if wait is not None else "wait a while"
            hint = f"The homeserver is limiting the account: {after} before retrying, or send fewer messages."
        elif errcode in HINTS:
            hint = HINTS[errcode]
        elif not errcode and status == 404:
            hint = HINTS["M_UNRECOGNIZED"]
        else:
            hint = "The homeserver is failing: retry later." if status >= 500 else "See the homeserver's message."
        label = f"{status} {errcode}" if errcode else str(status)
        return self.error(f"the homeserver refused {action} ({label}): {message}", hint, item_index)
