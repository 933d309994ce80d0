"""Calling the Telegram Bot API: one client per node run, Telegram's refusals as NodeErrors."""

from __future__ import annotations

from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.telegram.credentials import TelegramApiCredential, TelegramApiFields


def _hint(status: int, description: str, retry_after: Any) -> str:
    """What a person should do about Telegram's ``error_code`` and ``description``."""
    text = description.lower()
    if status in (401, 404) and "message" not in text:
        return "The bot token is wrong or was revoked: copy it again from @BotFather (/token)."
    if status == 429:
        wait = f"{retry_after} seconds" if retry_after is not None else "a while"
        return f"Telegram is limiting the bot: wait {wait} before retrying, or send fewer messages per second."
    if "chat not found" in text:
        return (
            "Check the chat id (a number, or @channelname), and make sure the person started the bot "
            "(sent it /start) or the bot was added to the group or channel."
        )
    if status == 403:
        return "The bot cannot write there: it was blocked, removed, or lacks the rights (make it an admin)."
    if (
        "message to edit not found" in text
        or "message to delete not found" in text
        or "message to pin not found" in text
    ):
        return "Check the message id: it is the message_id a Send operation returned, in the same chat."
    if "message is not modified" in text:
        return "The new text equals the message's current text: change it, or skip the edit."
    if "can't parse entities" in text:
        return "The text is not valid for the parse mode: escape special characters, or set Parse mode to None."
    if (
        "wrong file identifier" in text
        or "failed to get http url content" in text
        or "wrong type of the web page" in text
    ):
        return "Telegram could not fetch the file from the URL: it must be public and point to the file itself."
    if "not enough rights" in text:
        return "Make the bot an admin of the chat with the right to pin or delete messages."
    if status >= 500:
        return "Telegram is failing: retry later."
    return "See Telegram's description of the error."


def _envelope(response: httpx.Response) -> dict[str, Any] | None:
    """The Bot API's ``{"ok", "result" | "error_code", "description", "parameters"}``, or ``None`` for anything else."""
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) and "ok" in answer else None


class TelegramClient(RestClient[TelegramApiFields]):
    """A client for one bot; use it as a context manager.

    The token is part of every URL (``/bot<token>/<method>``), so every message built here masks it.
    The Bot API tells success by ``ok`` in its answer, so :meth:`call` replaces :meth:`request`.
    """

    service = "Telegram"
    credential_type = TelegramApiCredential
    default_timeout = 60.0
    """Uploads of large documents take a while; Telegram itself answers quickly."""
    not_json_hint = "Check the credential's API URL: it must be the Telegram Bot API (https://api.telegram.org)."

    def connect(self, fields: TelegramApiFields) -> Connection:
        return Connection(base_url=f"{fields.api_url}/bot{fields.bot_token}/", secrets=(fields.bot_token,))

    def call(
        self,
        method: str,
        action: str,
        *,
        item_index: int | None = None,
        json: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """Call a Bot API method and return its ``result``.

        Args:
            method: ``sendMessage``, ``sendPhoto``...
            action: What the call does, for the message: ``sending the message to 42``.
            item_index: The item being processed, named in the error.
            json: The arguments as a JSON body.
            data: The arguments as form fields, for a multipart upload with ``files``.
            files: Uploads by field name: ``(file name, bytes, MIME type)``.

        Raises:
            NodeError: With Telegram's error code and description and what to do; never the token.
        """
        if files:
            response = self.exchange("POST", method, action, item_index=item_index, data=data, files=files)
        else:
            response = self.exchange("POST", method, action, item_index=item_index, json=json or {})
        answer = _envelope(response)
        if answer is None:
            raise self.not_json(response, action, item_index)
        if answer.get("ok") is True:
            return answer.get("result")
        raise self.refusal(response, action, item_index)

    def not_json(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        return self.error(
            f"{action}: the Bot API answered {response.status_code} with something other than its JSON",
            self.not_json_hint,
            item_index,
        )

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Telegram's ``error_code`` and ``description``; the hint goes by the description's wording."""
        answer = _envelope(response) or {}
        status = int(answer.get("error_code") or response.status_code)
        description = str(answer.get("description") or f"HTTP {response.status_code}")
        retry_after = (answer.get("parameters") or {}).get("retry_after")
        return self.error(
            f"Telegram refused {action} ({status}: {description})", _hint(status, description, retry_after), item_index
        )
