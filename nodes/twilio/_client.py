"""Calling Twilio's REST API: one client per node run, paging by ``next_page_uri``, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.twilio.credentials import TwilioApiCredential, TwilioApiFields

API_VERSION = "2010-04-01"
MAX_PAGE_SIZE = 1000
"""The largest page Twilio serves."""
HINTS = {
    400: "Change what Twilio named above, then retry.",
    401: "Check the Account SID and the Auth Token (Console → Account Info), or the API key SID and secret; "
    "a rotated token or a deleted key stops working at once.",
    403: "The account may not do this: check its geo permissions (Messaging → Settings) and whether it is "
    "suspended or still a trial account.",
    404: "Check the message SID (SM... or MM...): the message does not exist in this account, or was deleted.",
    429: "Twilio is limiting the account's requests: retry the node later, or slow the workflow down "
    "(Loop Over Items with a Wait).",
}
CODE_HINTS = {
    20009: "A message that is still being sent cannot be deleted: wait until it is delivered or failed.",
    21211: "Write the To number in E.164 form: + then country code and number, e.g. +15558675310.",
    21212: "Write the From number in E.164 form (+15017122661), or use a messaging service SID (MG...).",
    21602: "Give the message a body or a media URL.",
    21606: "Use a Twilio number of this account that can send SMS (Phone Numbers → Active numbers) as From.",
    21608: "A trial account sends only to verified numbers: verify the number or upgrade the account.",
    21610: "The recipient replied STOP to this sender: they must reply START before you can message them again.",
    21910: "Send WhatsApp messages from a WhatsApp sender: set the channel on both numbers the same way.",
    63007: "Use the WhatsApp sender the account has enabled (Messaging → Senders → WhatsApp senders) as From.",
}


def _refusal(response: httpx.Response) -> tuple[int | None, str, str]:
    """Twilio's ``{"code", "message", "more_info", "status"}``, or the text of a body that is not its JSON."""
    try:
        data = response.json()
    except ValueError:
        return None, response.text[:200].strip() or response.reason_phrase, ""
    if not isinstance(data, dict):
        return None, response.reason_phrase, ""
    code = data.get("code")
    return (
        code if isinstance(code, int) else None,
        str(data.get("message") or response.reason_phrase),
        str(data.get("more_info") or ""),
    )


class TwilioClient(RestClient[TwilioApiFields]):
    """A client signed in with the credential (HTTP basic auth); use it as a context manager."""

    service = "Twilio"
    credential_type = TwilioApiCredential
    not_json_hint = "Check the credential's API URL: it must be Twilio's REST API (https://api.twilio.com)."

    def connect(self, fields: TwilioApiFields) -> Connection:
        if fields.auth_type == "api_key":
            user, secret = fields.api_key_sid, fields.api_key_secret
        else:
            user, secret = fields.account_sid, fields.auth_token
        self._account = fields.account_sid
        self._base = fields.api_url
        return Connection(
            base_url=fields.api_url,
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            auth=(user, secret),
            secrets=(secret,),
        )

    def account_path(self, *resource: str) -> str:
        """``/2010-04-01/Accounts/<sid>[/<resource>...].json``, each part escaped."""
        parts = "".join("/" + quote(part, safe="") for part in resource)
        return f"/{API_VERSION}/Accounts/{self._account}{parts}.json"

    def request(  # type: ignore[override]  # Twilio takes form bodies, not JSON
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return Twilio's JSON answer (``{}`` for a 204, a list wrapped as ``{"result"}``).

        Args:
            method: ``GET``, ``POST`` or ``DELETE``.
            path: From :meth:`account_path`, or a ``next_page_uri``.
            action: What the request does, for the message: ``sending a message to +1555...``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            data: Form fields (Twilio takes form-encoded bodies); a list value repeats the field.

        Raises:
            NodeError: With Twilio's status, error code, message and what to do; never the secret.
        """
        response = self.send(method, path, action, item_index=item_index, params=params, data=data)
        answer = self.decode(response, action, item_index)
        return answer if isinstance(answer, dict) else {"result": answer}

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Twilio's status, error code and message; the code's hint first, and its ``more_info`` page."""
        status = response.status_code
        code, message, more_info = _refusal(response)
        label = f"{status}, error {code}" if code is not None else str(status)
        text = f"Twilio refused {action} ({label}): {message}"
        hint = CODE_HINTS.get(code or 0) or HINTS.get(
            status, "Twilio is failing: retry later." if status >= 500 else "See Twilio's message."
        )
        if more_info:
            hint = f"{hint} Details: {more_info}"
        return self.error(text, hint, item_index)

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
        """Up to ``limit`` entries (every one when ``None``) of the list under ``key``, following ``next_page_uri``.

        Raises:
            NodeError: As :meth:`request`, or when a next page points away from the API URL.
        """
        page_size = MAX_PAGE_SIZE if limit is None else min(MAX_PAGE_SIZE, limit)
        query: dict[str, Any] | None = {**(params or {}), "PageSize": page_size}
        url = path
        entries: list[dict[str, Any]] = []
        while True:
            answer = self.request("GET", url, action, item_index=item_index, params=query)
            page = answer.get(key) or []
            entries.extend(page)
            following = answer.get("next_page_uri")
            if not following or not page or (limit is not None and len(entries) >= limit):
                break
            following = str(following)
            relative = following.startswith("/") and not following.startswith("//")
            if not relative and not following.startswith(self._base + "/"):
                # The credential goes with every request: never follow a link to another host.
                raise self.error(
                    f"{action}: Twilio's next page is outside the API URL ({following})",
                    "Check the credential's API URL: use https://api.twilio.com.",
                    item_index,
                )
            # The next page's URI carries the filters and the page token itself.
            url, query = following, None
        return entries if limit is None else entries[:limit]
