"""Calling Zulip's REST API: one client per node run, Zulip's ``{"result": "error"}`` answers as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.zulip.credentials import ZulipApiCredential, ZulipApiFields

CODE_HINTS = {
    "INVALID_API_KEY": "Check the credential's email and API key: copy them again from Personal settings → Bots.",
    "UNAUTHORIZED": "Check the credential's email and API key: copy them again from Personal settings → Bots.",
    "USER_DEACTIVATED": "The bot or user was deactivated: reactivate it (Organization settings → Bots) or use "
    "another one.",
    "STREAM_DOES_NOT_EXIST": "Check the stream's name or id, and that the bot may post in it (subscribe it to "
    "private streams).",
}
MESSAGE_HINTS = {
    "Invalid message(s)": "Check the message id: the message does not exist, or the bot cannot see it.",
    "permission": "The bot may only change its own messages, within the organisation's editing time limit; "
    "moving or deleting others' messages needs an administrator's key.",
}


def _refusal(response: httpx.Response) -> tuple[str, str, Any]:
    """Zulip's ``code`` and ``msg``, and the ``retry-after`` seconds of a rate limit."""
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200].strip() or response.reason_phrase, None
    if not isinstance(data, dict):
        return "", response.reason_phrase, None
    wait = data.get("retry-after", response.headers.get("retry-after"))
    return str(data.get("code") or ""), str(data.get("msg") or response.reason_phrase), wait


def _hint(status: int, code: str, message: str, wait: Any) -> str:
    if status == 429 or code == "RATE_LIMIT_HIT":
        after = f"{wait} seconds" if wait is not None else "a while"
        return f"Zulip is limiting the bot: wait {after} before retrying, or send fewer messages."
    if code in CODE_HINTS:
        return CODE_HINTS[code]
    for fragment, hint in MESSAGE_HINTS.items():
        if fragment in message:
            return hint
    if status == 404 and not code:
        return "Check the credential's server URL: the address people open Zulip at, without /api/v1."
    if status >= 500:
        return "Zulip is failing: retry later."
    return "Change what Zulip named above, then retry."


class ZulipClient(RestClient[ZulipApiFields]):
    """A client signed in with the credential's email and API key (basic auth); a context manager."""

    service = "Zulip"
    credential_type = ZulipApiCredential
    unreachable_hint = "Check the credential's server URL and the network, then retry."
    not_json_hint = "Check the credential's server URL: the address people open Zulip at, without /api/v1."

    def connect(self, fields: ZulipApiFields) -> Connection:
        return Connection(
            base_url=f"{fields.server_url}/api/v1",
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            auth=(fields.email, fields.api_key),
            secrets=(fields.api_key,),
        )

    def request(  # type: ignore[override]  # Zulip takes form bodies, not JSON
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return Zulip's JSON answer.

        Args:
            method: ``GET``, ``POST``, ``PATCH`` or ``DELETE``.
            path: Under ``/api/v1``: ``/messages``, ``/messages/<id>``...
            action: What the request does, for the message: ``sending a message to stream general``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            data: Form fields (Zulip takes form-encoded bodies; lists go as JSON text).

        Raises:
            NodeError: With Zulip's status, code and message and what to do; never the key.
        """
        response = self.send(method, path, action, item_index=item_index, params=params, data=data)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("result") != "success":
            raise self.error(
                f"{action}: the server answered {response.status_code} with something other than Zulip's JSON",
                self.not_json_hint,
                item_index,
            )
        return answer

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Zulip's ``code`` and ``msg``; the hint goes by the code, the message and the rate limit's wait."""
        status = response.status_code
        code, message, wait = _refusal(response)
        label = f"{status} {code}" if code else str(status)
        return self.error(
            f"Zulip refused {action} ({label}): {message}", _hint(status, code, message, wait), item_index
        )
