"""Calling Pushover's API: one client per node run, Pushover's ``{"status": 0, "errors"}`` as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import httpx

from nodes.pushover.credentials import PushoverApiCredential, PushoverApiFields
from nodes.sdk import Context, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
FIELD_HINTS = {
    "token": "Pushover does not know the application token: copy it again from the application's page at "
    "pushover.net/apps into the credential.",
    "user": "Check the user key (on the person's Pushover dashboard) or the group key: it is 30 characters, "
    "and the user must have an active account.",
    "device": "Check the device names: they must be devices of that user (empty: all of them).",
    "sound": "Use one of Pushover's sound names (pushover, bike, cashregister, none...) or a custom sound "
    "the user uploaded.",
    "attachment": "Attach an image (JPEG, PNG, GIF) of at most 5 MB.",
}
STATUS_HINTS = {
    400: "Change what Pushover named above, then retry.",
    429: "The application used up its monthly message limit: wait for the reset on the 1st of the month, "
    "or raise the limit on the application's page.",
}


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """Pushover's errors joined, and the first parameter it marked ``invalid`` (``{"user": "invalid"}``)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase, ""
    if not isinstance(data, dict):
        return response.reason_phrase, ""
    errors = [str(error) for error in data.get("errors") or [] if str(error).strip()]
    invalid = next((name for name, value in data.items() if value == "invalid" and name in FIELD_HINTS), "")
    return "; ".join(errors) or response.reason_phrase, invalid


class PushoverClient:
    """An ``httpx`` client that adds the application token to every request; use it as a context manager.

    Pushover takes the token as a form field (or query parameter), not as a header.
    """

    def __init__(self, fields: PushoverApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.api_token
        self._http = httpx.Client(
            base_url=fields.api_url,
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> PushoverClient:
        """The client for the ``pushover_api`` credential selected on the running node."""
        fields = PushoverApiCredential.parse(ctx.credential(PushoverApiCredential.id))
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
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """Send one request with the token and return Pushover's JSON answer.

        Args:
            method: ``GET`` (the token goes in the query) or ``POST`` (in the form).
            path: ``/1/messages.json``, ``/1/apps/limits.json``...
            action: What the request does, for the message: ``pushing a notification to u...``.
            item_index: The input item the request is for, named in the error.
            data: Form fields.
            files: Uploads by field name: ``(file name, bytes, MIME type)``; the form then goes as multipart.

        Raises:
            NodeError: With Pushover's status and errors and what to do; never the token.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            if method == "GET":
                response = self._http.get(path, params={"token": self._token})
            else:
                form = {"token": self._token, **(data or {})}
                response = self._http.request(method, path, data=form, files=dict(files) if files else None)
        except httpx.HTTPError as err:
            detail = f"{type(err).__name__}: {err}".replace(self._token, "***")
            raise NodeError(
                f"{prefix}{action} failed: Pushover could not be reached ({detail})",
                description="Check the credential's API URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            try:
                answer = response.json()
            except ValueError as err:
                raise NodeError(
                    f"{prefix}{action}: Pushover answered {response.status_code} with something other than JSON",
                    description="Check the credential's API URL: it must be Pushover's API (https://api.pushover.net).",
                    item_index=item_index,
                ) from err
            if isinstance(answer, dict) and answer.get("status") == 1:
                return answer
        status = response.status_code
        errors, invalid = _refusal(response)
        if invalid:
            hint = FIELD_HINTS[invalid]
        else:
            # Pushover asks clients to wait at least 5 seconds before retrying a 5xx.
            hint = STATUS_HINTS.get(status, "Pushover is failing: retry in a minute." if status >= 500 else "")
        text = f"{prefix}Pushover refused {action} ({status}): {errors}"
        raise NodeError(
            text.replace(self._token, "***"), description=hint or "See Pushover's errors.", item_index=item_index
        )
