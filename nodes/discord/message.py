"""Discord Message: send a message or a file through a webhook, or edit or delete one it sent, once per item."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import model_validator

from nodes.discord._client import DiscordWebhookClient
from nodes.files._common import read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

SENDS = ("send", "send_file")
WITH_CONTENT = ("send", "send_file", "edit")
WITH_MESSAGE_ID = ("edit", "delete")
CONTENT_LIMIT = 2000
EMBED_LIMIT = 10
EMBED_KEYS = {"title", "description", "url", "color", "fields"}
HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")


class DiscordMessageParameters(Parameters):
    operation: Literal["send", "send_file", "edit", "delete"] = param(
        "send",
        title="Operation",
        description="send a message; send_file: the item's file with a message; edit or delete one the webhook sent.",
        no_expressions=True,
    )
    message_id: str = param(
        "",
        title="Message id",
        description="The id a Send operation returned.",
        placeholder="{{ $json.id }}",
        show_if={"operation": WITH_MESSAGE_ID},
    )
    content: str = param(
        "",
        title="Content",
        description="The message's text, in Discord's Markdown; at most 2000 characters.",
        widget="textarea",
        show_if={"operation": WITH_CONTENT},
    )
    embeds: list[dict[str, Any]] | str | None = param(
        None,
        title="Embeds",
        description='At most 10, as JSON: [{"title", "description", "url", "color": "#5865F2", '
        '"fields": [{"name", "value", "inline"}]}].',
        widget="json",
        show_if={"operation": WITH_CONTENT},
    )
    binary_property: str = param(
        "data", title="Binary property", description="The item's file to send.", show_if={"operation": ["send_file"]}
    )
    file_name: str = param(
        "",
        title="File name",
        description="Empty: the file's own name.",
        show_if={"operation": ["send_file"]},
        advanced=True,
    )
    username: str = param(
        "",
        title="Username",
        description="Shown as the sender instead of the webhook's name.",
        show_if={"operation": SENDS},
        max_length=80,
    )
    avatar_url: str = param(
        "",
        title="Avatar URL",
        description="An image shown as the sender's avatar instead of the webhook's.",
        show_if={"operation": SENDS},
    )
    thread_id: str = param(
        "",
        title="Thread id",
        description="Post in (or change a message of) this thread of the webhook's channel; empty: the channel.",
        show_if={"operation": ["send", "send_file", "edit", "delete"]},
        advanced=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> DiscordMessageParameters:
        self.embeds = _embeds(self.embeds)
        if self.operation == "send" and not self.content.strip() and not self.embeds:
            raise ValueError("send needs a content or embeds")
        if self.operation == "edit" and not self.content.strip() and not self.embeds:
            raise ValueError("edit needs the new content or embeds")
        if len(self.content) > CONTENT_LIMIT:
            raise ValueError(f"the content has {len(self.content)} characters; Discord takes at most {CONTENT_LIMIT}")
        if self.operation in WITH_MESSAGE_ID and not self.message_id.strip():
            raise ValueError(f"{self.operation} needs the message id")
        if self.operation == "send_file" and not self.binary_property.strip():
            raise ValueError("send_file needs the binary property")
        if self.avatar_url.strip() and not self.avatar_url.strip().startswith(("https://", "http://")):
            raise ValueError("the avatar URL must start with https://")
        return self


def _embeds(value: list[dict[str, Any]] | str | None) -> list[dict[str, Any]] | None:
    """The embeds with colors as integers; expressions and the JSON widget may hand them over as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the embeds are not valid JSON ({err})") from err
    if not value:
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(embed, dict) for embed in value):
        raise ValueError("the embeds must be a JSON list of objects")
    if len(value) > EMBED_LIMIT:
        raise ValueError(f"{len(value)} embeds; Discord takes at most {EMBED_LIMIT} per message")
    embeds = []
    for number, embed in enumerate(value, 1):
        unknown = sorted(set(embed) - EMBED_KEYS)
        if unknown:
            raise ValueError(f"embed {number} has unknown keys {unknown}; use {sorted(EMBED_KEYS)}")
        shaped = {key: item for key, item in embed.items() if item not in (None, "", [])}
        if "color" in shaped:
            shaped["color"] = _color(shaped["color"], number)
        fields = shaped.get("fields")
        if fields is not None and not (
            isinstance(fields, list) and all(isinstance(f, dict) and f.get("name") and f.get("value") for f in fields)
        ):
            raise ValueError(f"embed {number}: every field needs a name and a value")
        if not shaped:
            raise ValueError(f"embed {number} is empty")
        embeds.append(shaped)
    return embeds


def _color(value: Any, number: int) -> int:
    """Discord wants an integer; people write ``#5865F2``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFF:
        return value
    match = HEX_COLOR.match(str(value).strip())
    if match is None:
        raise ValueError(f"embed {number}: the color must be #RRGGBB or a number, not {value!r}")
    return int(match.group(1), 16)


class DiscordMessageNode(Node):
    type = "discord.message"
    display_name = "Discord Message"
    category = Category.INTEGRATION
    description = "Sends a message or a file through a Discord webhook, or edits or deletes one it sent."
    icon = "message-circle"
    Parameters = DiscordMessageParameters
    credentials = (CredentialRequirement("discord_webhook"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with DiscordWebhookClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: DiscordMessageParameters = ctx.params(index)
                produced.append(Item(_run(ctx, client, params, item, index), paired_item=index))
        return [produced]


def _payload(params: DiscordMessageParameters) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if params.content.strip():
        payload["content"] = params.content
    if params.embeds:
        payload["embeds"] = params.embeds
    if params.operation in SENDS:
        if params.username.strip():
            payload["username"] = params.username.strip()
        if params.avatar_url.strip():
            payload["avatar_url"] = params.avatar_url.strip()
    return payload


def _run(
    ctx: Context, client: DiscordWebhookClient, params: DiscordMessageParameters, item: Item, index: int
) -> dict[str, Any]:
    query = {"thread_id": params.thread_id.strip()} if params.thread_id.strip() else {}
    message_id = params.message_id.strip()
    match params.operation:
        case "send":
            # wait=true: Discord answers with the message (and its id) instead of 204.
            return client.request(
                "POST",
                "",
                "sending the message",
                item_index=index,
                params={"wait": "true", **query},
                json=_payload(params),
            )
        case "send_file":
            data, reference = read_input(ctx, item, params.binary_property.strip(), index)
            file_name = params.file_name.strip() or str(reference.get("file_name") or params.binary_property)
            mime_type = str(reference.get("mime_type") or "application/octet-stream")
            payload = {**_payload(params), "attachments": [{"id": 0, "filename": file_name}]}
            return client.request(
                "POST",
                "",
                f"sending the file {file_name!r}",
                item_index=index,
                params={"wait": "true", **query},
                data={"payload_json": json.dumps(payload)},
                files={"files[0]": (file_name, data, mime_type)},
            )
        case "edit":
            return client.request(
                "PATCH",
                f"/messages/{message_id}",
                f"editing message {message_id}",
                item_index=index,
                params=query or None,
                json=_payload(params),
            )
        case "delete":
            client.request(
                "DELETE",
                f"/messages/{message_id}",
                f"deleting message {message_id}",
                item_index=index,
                params=query or None,
            )
            return {"id": message_id, "deleted": True}
    raise AssertionError(f"unhandled operation {params.operation!r}")
