"""Calling the Telegram Bot API: one client per node run, Telegram's refusals as NodeErrors."""

from __future__ import annotations

from typing import Any, Self

import httpx

from nodes.sdk import Context, NodeError
from nodes.telegram.credentials import TelegramApiCredential, TelegramApiFields

DEFAULT_TIMEOUT_SECONDS = 60.0
"""Uploads of large documents take a while; Telegram itself answers quickly."""


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


class TelegramClient:
    """An ``httpx`` client for one bot; use it as a context manager.

    The token is part of every URL (``/bot<token>/<method>``), so every message
    built here masks it.
    """

    def __init__(self, fields: TelegramApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._token = fields.bot_token
        self._http = httpx.Client(base_url=f"{fields.api_url}/bot{fields.bot_token}/", timeout=seconds)

    @classmethod
    def for_node(cls, ctx: Context) -> TelegramClient:
        """The client for the ``telegram_api`` credential selected on the running node."""
        fields = TelegramApiCredential.parse(ctx.credential(TelegramApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _mask(self, text: str) -> str:
        return text.replace(self._token, "***")

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
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            if files:
                response = self._http.post(method, data=data, files=files)
            else:
                response = self._http.post(method, json=json or {})
        except httpx.HTTPError as err:
            raise NodeError(
                self._mask(f"{prefix}{action} failed: Telegram could not be reached ({type(err).__name__}: {err})"),
                description="Check the credential's API URL and the network, then retry.",
                item_index=item_index,
            ) from err
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "ok" not in answer:
            raise NodeError(
                f"{prefix}{action}: the Bot API answered {response.status_code} with something other than its JSON",
                description="Check the credential's API URL: it must be the Telegram Bot API (https://api.telegram.org).",
                item_index=item_index,
            )
        if answer.get("ok") is True:
            return answer.get("result")
        status = int(answer.get("error_code") or response.status_code)
        description = str(answer.get("description") or f"HTTP {response.status_code}")
        retry_after = (answer.get("parameters") or {}).get("retry_after")
        message = f"{prefix}Telegram refused {action} ({status}: {description})"
        raise NodeError(self._mask(message), description=_hint(status, description, retry_after), item_index=item_index)
