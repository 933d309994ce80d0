"""The Microsoft Teams webhook credential: an incoming webhook's or a Workflows trigger's URL.

There is no connection test: the only thing such a URL does is post into the channel.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import CredentialType, param


class TeamsWebhookFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: str = param(
        title="Webhook URL",
        description="The URL of the channel's Workflows trigger (\"Post to a channel when a webhook request is "
        'received") or of an Incoming Webhook connector.',
        widget="password",
        min_length=1,
    )

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("https://", "http://")):
            raise ValueError("the webhook URL must start with https://")
        return value


class TeamsWebhookCredential(CredentialType):
    id = "teams_webhook"
    display_name = "Microsoft Teams Webhook"
    description = "A Microsoft Teams channel's Workflows or incoming webhook URL."
    Fields = TeamsWebhookFields
    secret_fields = frozenset({"webhook_url"})
