"""Calling a Discord webhook: one client per node run, Discord's refusals as NodeErrors."""

from __future__ import annotations

from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.discord.credentials import DiscordWebhookCredential, DiscordWebhookFields
from nodes.sdk import NodeError

HINTS_BY_CODE = {
    10015: "The webhook was deleted: create a new one in the channel's Integrations settings "
    "and update the credential.",
    50027: "The webhook URL's token is wrong: copy the whole URL again from the channel's Integrations settings.",
    10008: "Check the message id: it is the id a Send operation returned, of a message this webhook sent.",
    10003: "Check the thread id: the thread must belong to the webhook's channel.",
    50006: "Give the message a content, an embed or a file.",
    50035: "Discord refused a value: see the field it names (content is at most 2000 characters, "
    "at most 10 embeds, embed titles at most 256).",
    40005: "The file is too large for this server: Discord allows 25 MB without boosts.",
}
HINTS_BY_STATUS = {
    401: "The webhook URL's token is wrong: copy the whole URL again from the channel's Integrations settings.",
    403: "The webhook may not do this: a webhook can only change its own messages.",
    404: "Check the webhook URL (and the message id): the webhook or the message does not exist.",
    413: "The file is too large for this server: Discord allows 25 MB without boosts.",
}


def _first_field_error(errors: Any, path: str = "") -> str:
    """``embeds.0.title: Must be 256 or fewer in length.`` from Discord's nested ``errors`` object."""
    if not isinstance(errors, dict):
        return ""
    found = errors.get("_errors")
    if isinstance(found, list) and found and isinstance(found[0], dict):
        return f"{path}: {found[0].get('message') or found[0].get('code')}"
    for key, value in errors.items():
        text = _first_field_error(value, f"{path}.{key}" if path else str(key))
        if text:
            return text
    return ""


class DiscordWebhookClient(RestClient[DiscordWebhookFields]):
    """A client for one webhook; use it as a context manager.

    The webhook's token is in its URL, so every message built here masks the URL.
    """

    service = "Discord"
    credential_type = DiscordWebhookCredential
    default_timeout = 60.0
    unreachable_hint = "Check the credential's webhook URL and the network, then retry."
    not_json_hint = "Check the credential's webhook URL: it must be a Discord webhook."

    def connect(self, fields: DiscordWebhookFields) -> Connection:
        self._url = fields.webhook_url
        # Requests go to the webhook URL itself (plus a path), so there is no base URL.
        return Connection(base_url="", secrets=(fields.webhook_url.rsplit("/", 1)[-1],))

    def mask(self, text: str) -> str:
        """``text`` with the webhook URL as ``<webhook URL>`` and its token, wherever else it appears, as ``***``."""
        return super().mask(text.replace(self._url, "<webhook URL>"))

    def request(  # type: ignore[override]  # takes uploads; no ``tolerate``
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """Send one request to the webhook URL plus ``path`` and return Discord's JSON answer (``{}`` for 204).

        Args:
            method: ``GET``, ``POST``, ``PATCH`` or ``DELETE``.
            path: Added to the webhook URL: ``""`` or ``/messages/<id>``.
            action: What the request does, for the message: ``sending the message``.
            item_index: The item being processed, named in the error.
            params: The query (``wait``, ``thread_id``).
            json: The JSON body.
            data: Form fields of a multipart body with ``files``.
            files: Uploads by part name: ``(file name, bytes, MIME type)``.

        Raises:
            NodeError: With Discord's code and message and what to do; never the webhook's token.
        """
        response = self.send(
            method,
            self._url + path,
            action,
            item_index=item_index,
            params=params,
            json=json if not files else None,
            data=data,
            files=files,
        )
        if response.status_code == 204:
            return {}
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self.not_json(response, action, item_index)
        return answer

    def not_json(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        return self.error(
            f"{action}: the webhook URL answered {response.status_code} with something other than JSON",
            self.not_json_hint,
            item_index,
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Discord's code, message and first field error; a rate limit names its scope and wait."""
        try:
            answer = response.json()
        except ValueError:
            answer = None
        status = response.status_code
        body = answer if isinstance(answer, dict) else {}
        if status == 429:
            retry_after = body.get("retry_after")
            scope = "all webhooks of this server" if body.get("global") else "this webhook"
            wait = f"{retry_after} seconds" if retry_after is not None else "a moment"
            return self.error(
                f"Discord is limiting {scope} and refused {action} (429): retry after {wait}",
                f"Wait {wait} before retrying, or send fewer messages (about 5 every 2 seconds a webhook).",
                item_index,
            )
        code = body.get("code")
        detail = str(body.get("message") or response.text[:200].strip() or f"HTTP {status}")
        field_error = _first_field_error(body.get("errors"))
        if field_error:
            detail = f"{detail}: {field_error}"
        label = f"{status} {code}" if code else str(status)
        hint = HINTS_BY_CODE.get(code) if isinstance(code, int) else None
        hint = hint or HINTS_BY_STATUS.get(status)
        hint = hint or ("Discord is failing: retry later." if status >= 500 else "See Discord's message.")
        return self.error(f"Discord refused {action} ({label}): {detail}", hint, item_index)
