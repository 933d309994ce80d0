"""The Telegram API credential: a bot's token from @BotFather, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiUrl, CredentialType, param

TELEGRAM_API_URL = "https://api.telegram.org"


class TelegramApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: str = param(
        title="Bot token",
        description="The token @BotFather gave when the bot was created, e.g. 123456789:AAE...",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        TELEGRAM_API_URL,
        title="API URL",
        description="The Bot API server; change it only for a local Bot API server, a proxy or a test server.",
        advanced=True,
    )

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: str) -> str:
        value = value.strip()
        if not value or any(char.isspace() or char == "/" for char in value):
            raise ValueError("paste the token alone, without spaces or slashes")
        return value


class TelegramApiCredential(CredentialType):
    id = "telegram_api"
    display_name = "Telegram API"
    description = "A Telegram bot's token."
    Fields = TelegramApiFields
    secret_fields = frozenset({"bot_token"})

    @classmethod
    def test_connection(cls, fields: TelegramApiFields | Mapping[str, Any]) -> str:
        """Call ``getMe``; returns ``Connected as @<bot username>``.

        Raises:
            NodeError: Telegram refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.telegram._client import TelegramClient

        with TelegramClient(cls.parse(fields)) as client:
            bot = client.call("getMe", "checking the token")
        return f"Connected as @{bot.get('username') or bot.get('first_name') or 'the bot'}"
