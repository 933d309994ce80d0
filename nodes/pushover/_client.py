"""Calling Pushover's API: one client per node run, Pushover's ``{"status": 0, "errors"}`` as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.pushover.credentials import PushoverApiCredential, PushoverApiFields
from nodes.sdk import NodeError

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


class PushoverClient(RestClient[PushoverApiFields]):
    """A client that adds the application token to every request; use it as a context manager.

    Pushover takes the token as a form field (or query parameter), not as a header.
    """

    service = "Pushover"
    credential_type = PushoverApiCredential
    not_json_hint = "Check the credential's API URL: it must be Pushover's API (https://api.pushover.net)."

    def connect(self, fields: PushoverApiFields) -> Connection:
        self._token = fields.api_token
        return Connection(
            base_url=fields.api_url,
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            secrets=(fields.api_token,),
        )

    def request(  # type: ignore[override]  # Pushover takes form bodies and uploads, not JSON
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

        Pushover may refuse with a 2xx and ``"status": 0``, so the body decides, not the status alone.

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
        if method == "GET":
            response = self.exchange(method, path, action, item_index=item_index, params={"token": self._token})
        else:
            form = {"token": self._token, **(data or {})}
            response = self.exchange(
                method, path, action, item_index=item_index, data=form, files=dict(files) if files else None
            )
        if response.is_success:
            try:
                answer = response.json()
            except ValueError as err:
                raise self.not_json(response, action, item_index) from err
            if isinstance(answer, dict) and answer.get("status") == 1:
                return answer
        raise self.refusal(response, action, item_index)

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Pushover's errors; the hint goes by the parameter it marked invalid, else by the status."""
        status = response.status_code
        errors, invalid = _refusal(response)
        if invalid:
            hint = FIELD_HINTS[invalid]
        else:
            # Pushover asks clients to wait at least 5 seconds before retrying a 5xx.
            hint = STATUS_HINTS.get(status, "Pushover is failing: retry in a minute." if status >= 500 else "")
        return self.error(
            f"Pushover refused {action} ({status}): {errors}", hint or "See Pushover's errors.", item_index
        )
