"""Calling Zulip's REST API: one client per node run, Zulip's ``{"result": "error"}`` answers as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx

from nodes.sdk import Context, NodeError
from nodes.zulip.credentials import ZulipApiCredential, ZulipApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
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


class ZulipClient:
    """An ``httpx`` client signed in with the credential's email and API key (basic auth); a context manager."""

    def __init__(self, fields: ZulipApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._key = fields.api_key
        self._http = httpx.Client(
            base_url=f"{fields.server_url}/api/v1",
            auth=(fields.email, fields.api_key),
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> ZulipClient:
        """The client for the ``zulip_api`` credential selected on the running node."""
        fields = ZulipApiCredential.parse(ctx.credential(ZulipApiCredential.id))
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
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, params=params, data=data)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._key, "***")
            raise NodeError(
                f"{prefix}{action} failed: Zulip could not be reached ({detail})",
                description="Check the credential's server URL and the network, then retry.",
                item_index=item_index,
            ) from err
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.is_success and isinstance(answer, dict) and answer.get("result") == "success":
            return answer
        if response.is_success:
            raise NodeError(
                f"{prefix}{action}: the server answered {response.status_code} with something other than Zulip's JSON",
                description="Check the credential's server URL: the address people open Zulip at, without /api/v1.",
                item_index=item_index,
            )
        status = response.status_code
        code, message, wait = _refusal(response)
        label = f"{status} {code}" if code else str(status)
        text = f"{prefix}Zulip refused {action} ({label}): {message}"
        raise NodeError(
            text.replace(self._key, "***"), description=_hint(status, code, message, wait), item_index=item_index
        )
