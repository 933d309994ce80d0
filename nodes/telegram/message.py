"""Telegram Message: send a text, photo or document, or edit, delete or pin a message, once per item."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import model_validator

from nodes.files._common import read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param
from nodes.telegram._client import TelegramClient

SENDS = ("send_text", "send_photo", "send_document")
FILES = ("send_photo", "send_document")
WITH_TEXT = ("send_text", "edit_text")
WITH_MESSAGE_ID = ("edit_text", "delete", "pin")
WITH_MARKUP = ("send_text", "send_photo", "send_document", "edit_text")
WITH_PARSE_MODE = WITH_MARKUP
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


class TelegramMessageParameters(Parameters):
    operation: Literal["send_text", "send_photo", "send_document", "edit_text", "delete", "pin"] = param(
        "send_text",
        title="Operation",
        description="send_text, send_photo or send_document; edit_text, delete or pin a message the bot can reach.",
        no_expressions=True,
    )
    chat_id: str = param(
        title="Chat id",
        description="The chat's numeric id (negative for groups) or a channel's @username.",
        placeholder="-1001234567890",
        min_length=1,
    )
    message_id: int | None = param(
        None,
        title="Message id",
        description="The message_id a Send operation returned.",
        placeholder="{{ $json.message_id }}",
        show_if={"operation": WITH_MESSAGE_ID},
        ge=1,
    )
    text: str = param(
        "",
        title="Text",
        description="At most 4096 characters, formatted according to the parse mode.",
        widget="textarea",
        show_if={"operation": WITH_TEXT},
    )
    source: Literal["url", "binary"] = param(
        "url",
        title="File from",
        description="url: Telegram downloads the file; binary: upload the item's file.",
        show_if={"operation": FILES},
        no_expressions=True,
    )
    file_url: str = param(
        "",
        title="File URL",
        description="A public URL of the photo or document (Telegram fetches it).",
        placeholder="https://example.com/chart.png",
        show_if={"operation": FILES, "source": ["url"]},
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="The item's file to upload.",
        show_if={"operation": FILES, "source": ["binary"]},
    )
    file_name: str = param(
        "",
        title="File name",
        description="Empty: the file's own name.",
        show_if={"operation": FILES, "source": ["binary"]},
        advanced=True,
    )
    caption: str = param(
        "",
        title="Caption",
        description="Shown under the photo or document; at most 1024 characters.",
        widget="textarea",
        show_if={"operation": FILES},
    )
    parse_mode: Literal["None", "MarkdownV2", "HTML"] = param(
        "None",
        title="Parse mode",
        description="How Telegram formats the text or caption; MarkdownV2 needs special characters escaped.",
        show_if={"operation": WITH_PARSE_MODE},
        no_expressions=True,
    )
    buttons: list[list[dict[str, Any]]] | str | None = param(
        None,
        title="Link buttons",
        description='Rows of buttons under the message, as JSON: [[{"text": "Open", "url": "https://..."}]].',
        widget="json",
        show_if={"operation": WITH_MARKUP},
    )
    disable_notification: bool = param(
        False,
        title="Silent",
        description="Deliver without a sound.",
        show_if={"operation": [*SENDS, "pin"]},
    )
    reply_to_message_id: int | None = param(
        None,
        title="Reply to message id",
        description="Send as a reply to this message of the same chat; empty: a new message.",
        show_if={"operation": SENDS},
        advanced=True,
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> TelegramMessageParameters:
        self.buttons = _rows(self.buttons)
        if self.operation in WITH_TEXT and not self.text.strip():
            raise ValueError(f"{self.operation} needs a text")
        if self.operation in WITH_TEXT and len(self.text) > TEXT_LIMIT:
            raise ValueError(f"the text has {len(self.text)} characters; Telegram takes at most {TEXT_LIMIT}")
        if self.operation in FILES and len(self.caption) > CAPTION_LIMIT:
            raise ValueError(f"the caption has {len(self.caption)} characters; Telegram takes at most {CAPTION_LIMIT}")
        if self.operation in FILES and self.source == "url" and not self.file_url.strip():
            raise ValueError(f"{self.operation} from a URL needs the file URL")
        if self.operation in FILES and self.source == "binary" and not self.binary_property.strip():
            raise ValueError(f"{self.operation} from a file needs the binary property")
        if self.operation in WITH_MESSAGE_ID and self.message_id is None:
            raise ValueError(f"{self.operation} needs the message id")
        return self


def _rows(value: list[list[dict[str, Any]]] | str | None) -> list[list[dict[str, Any]]] | None:
    """The buttons as rows of ``{text, url}``; expressions and the JSON widget may hand them over as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the buttons are not valid JSON ({err})") from err
    if not value:
        return None
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise ValueError('the buttons must be a list of rows, e.g. [[{"text": "Open", "url": "https://..."}]]')
    for row in value:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise ValueError("every button needs a text")
            if not str(button.get("url") or "").startswith(("https://", "http://", "tg://")):
                raise ValueError(f"the button {button.get('text')!r} needs a url starting with https://")
    return [[{"text": str(button["text"]), "url": str(button["url"])} for button in row] for row in value]


class TelegramMessageNode(Node):
    type = "telegram.message"
    display_name = "Telegram Message"
    category = Category.INTEGRATION
    description = "Sends a text, photo or document through a Telegram bot, or edits, deletes or pins a message."
    icon = "send"
    Parameters = TelegramMessageParameters
    credentials = (CredentialRequirement("telegram_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with TelegramClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: TelegramMessageParameters = ctx.params(index)
                produced.append(Item(_run(ctx, client, params, item, index), paired_item=index))
        return [produced]


def _common(params: TelegramMessageParameters) -> dict[str, Any]:
    """The arguments every send (and edit) shares, without the empty ones."""
    args: dict[str, Any] = {"chat_id": params.chat_id.strip()}
    if params.parse_mode != "None":
        args["parse_mode"] = params.parse_mode
    if params.buttons:
        args["reply_markup"] = {"inline_keyboard": params.buttons}
    if params.operation in SENDS:
        if params.disable_notification:
            args["disable_notification"] = True
        if params.reply_to_message_id is not None:
            args["reply_parameters"] = {"message_id": params.reply_to_message_id}
    return args


def _run(
    ctx: Context, client: TelegramClient, params: TelegramMessageParameters, item: Item, index: int
) -> dict[str, Any]:
    chat = params.chat_id.strip()
    match params.operation:
        case "send_text":
            args = {**_common(params), "text": params.text}
            return client.call("sendMessage", f"the message to chat {chat}", item_index=index, json=args)
        case "send_photo" | "send_document":
            return _send_file(ctx, client, params, item, index)
        case "edit_text":
            args = {**_common(params), "message_id": params.message_id, "text": params.text}
            result = client.call(
                "editMessageText", f"editing message {params.message_id} in chat {chat}", item_index=index, json=args
            )
            # Editing an inline message answers true instead of the message.
            return result if isinstance(result, dict) else {"chat_id": chat, "message_id": params.message_id}
        case "delete":
            client.call(
                "deleteMessage",
                f"deleting message {params.message_id} in chat {chat}",
                item_index=index,
                json={"chat_id": chat, "message_id": params.message_id},
            )
            return {"chat_id": chat, "message_id": params.message_id, "deleted": True}
        case "pin":
            client.call(
                "pinChatMessage",
                f"pinning message {params.message_id} in chat {chat}",
                item_index=index,
                json={
                    "chat_id": chat,
                    "message_id": params.message_id,
                    "disable_notification": params.disable_notification,
                },
            )
            return {"chat_id": chat, "message_id": params.message_id, "pinned": True}
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _send_file(
    ctx: Context, client: TelegramClient, params: TelegramMessageParameters, item: Item, index: int
) -> dict[str, Any]:
    method, field = ("sendPhoto", "photo") if params.operation == "send_photo" else ("sendDocument", "document")
    chat = params.chat_id.strip()
    args = _common(params)
    if params.caption:
        args["caption"] = params.caption
    if params.source == "url":
        url = params.file_url.strip()
        return client.call(
            method, f"sending the {field} {url} to chat {chat}", item_index=index, json={**args, field: url}
        )
    data, reference = read_input(ctx, item, params.binary_property.strip(), index)
    file_name = params.file_name.strip() or str(reference.get("file_name") or params.binary_property)
    mime_type = str(reference.get("mime_type") or "application/octet-stream")
    if params.operation == "send_photo" and not mime_type.startswith("image/"):
        raise NodeError(
            f"item {index}: {file_name!r} is {mime_type}, not an image, so it cannot be sent as a photo",
            description="Use the send_document operation for other files.",
            item_index=index,
        )
    # Multipart fields are text: nested arguments travel as JSON, as the Bot API expects.
    form = {name: value if isinstance(value, str) else json.dumps(value) for name, value in args.items()}
    return client.call(
        method,
        f"uploading {file_name!r} to chat {chat}",
        item_index=index,
        data=form,
        files={field: (file_name, data, mime_type)},
    )
