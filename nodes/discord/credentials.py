"""The Discord webhook credential: a channel's webhook URL (it holds the webhook's token), with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import CredentialType, param


class DiscordWebhookFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: str = param(
        title="Webhook URL",
        description="From the channel's Settings → Integrations → Webhooks → Copy Webhook URL.",
        placeholder="https://discord.com/api/webhooks/123/abc...",
        widget="password",
        min_length=1,
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("the webhook URL must start with https://")
        if "/webhooks/" not in value:
            raise ValueError("paste the whole webhook URL: https://discord.com/api/webhooks/<id>/<token>")
        # The node adds its own query (?wait=true) and /messages/<id>.
        return value.split("?", 1)[0].rstrip("/")


class DiscordWebhookCredential(CredentialType):
    id = "discord_webhook"
    display_name = "Discord Webhook"
    description = "A Discord channel's webhook URL."
    Fields = DiscordWebhookFields
    secret_fields = frozenset({"webhook_url"})

    @classmethod
    def test_connection(cls, fields: DiscordWebhookFields | Mapping[str, Any]) -> str:
        """Read the webhook; returns ``Connected to webhook <name>``.

        Raises:
            NodeError: Discord refuses the URL or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.discord._client import DiscordWebhookClient

        with DiscordWebhookClient(cls.parse(fields)) as client:
            webhook = client.request("GET", "", "checking the webhook")
        return f"Connected to webhook {webhook.get('name') or webhook.get('id') or ''}".rstrip()
