"""Zulip Message: send to a stream's topic or privately, get, edit or delete a message, once per item."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import model_validator

from nodes.email.credentials import parse_addresses
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.zulip._client import ZulipClient

BY_ID = ("get", "update", "delete")
SENDS = ("send_stream", "send_private")


class ZulipMessageParameters(Parameters):
    operation: Literal["send_stream", "send_private", "get", "update", "delete"] = param(
        "send_stream",
        title="Operation",
        description="send_stream: to a stream's topic; send_private: a direct message to people; get, update "
        "(content or topic) or delete a message by id.",
        no_expressions=True,
    )
    stream: str = param(
        "",
        title="Stream",
        description="The stream's name or numeric id.",
        placeholder="general",
        show_if={"operation": ["send_stream"]},
    )
    to: str = param(
        "",
        title="To",
        description="The recipients' emails, or their numeric user ids, separated by commas.",
        placeholder="ada@example.com, grace@example.com",
        show_if={"operation": ["send_private"]},
    )
    topic: str = param(
        "",
        title="Topic",
        description="send_stream: the topic to post in; update: move the message to this topic (empty: keep it).",
        show_if={"operation": ["send_stream", "update"]},
        max_length=60,
    )
    content: str = param(
        "",
        title="Content",
        description="In Zulip's Markdown; update: empty keeps the current content.",
        widget="textarea",
        show_if={"operation": [*SENDS, "update"]},
    )
    message_id: int = param(
        0,
        title="Message id",
        description="The id a send returned.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    propagate_mode: Literal["change_one", "change_later", "change_all"] = param(
        "change_one",
        title="Move",
        description="When the topic changes: change_one moves only this message; change_later also the later "
        "ones of its topic; change_all the whole topic.",
        show_if={"operation": ["update"]},
        advanced=True,
    )
    markdown: bool = param(
        False,
        title="Content as Markdown",
        description="Output the content as it was written instead of rendered as HTML.",
        show_if={"operation": ["get"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> ZulipMessageParameters:
        if self.operation == "send_stream":
            if not self.stream.strip():
                raise ValueError("send_stream needs the stream's name or id")
            if not self.topic.strip():
                raise ValueError("send_stream needs a topic")
        if self.operation == "send_private":
            _recipients(self.to)
        if self.operation in SENDS and not self.content.strip():
            raise ValueError(f"{self.operation} needs the content")
        if self.operation in BY_ID and self.message_id < 1:
            raise ValueError(f"{self.operation} needs the message id")
        if self.operation == "update" and not self.content.strip() and not self.topic.strip():
            raise ValueError("update needs the new content or a new topic")
        return self


def _recipients(text: str) -> list[str] | list[int]:
    """Emails or numeric user ids (Zulip takes one kind per message); raises ValueError naming a bad entry."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if not entries:
        raise ValueError("send_private needs at least one recipient")
    if all(entry.isdigit() for entry in entries):
        return [int(entry) for entry in entries]
    return [address for _, address in parse_addresses(text)]


class ZulipMessageNode(Node):
    type = "zulip.message"
    display_name = "Zulip Message"
    category = Category.INTEGRATION
    description = "Sends Zulip messages to a stream's topic or privately, or gets, edits or deletes them."
    icon = "message-circle"
    Parameters = ZulipMessageParameters
    credentials = (CredentialRequirement("zulip_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with ZulipClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: ZulipMessageParameters = ctx.params(index)
                produced.append(Item(_run(client, params, index), paired_item=index))
        return [produced]


def _run(client: ZulipClient, params: ZulipMessageParameters, index: int) -> dict[str, Any]:
    number = params.message_id
    match params.operation:
        case "send_stream":
            stream, topic = params.stream.strip(), params.topic.strip()
            form = {"type": "stream", "to": stream, "topic": topic, "content": params.content}
            answer = client.request(
                "POST", "/messages", f"sending a message to stream {stream}", item_index=index, data=form
            )
            return {
                "id": answer.get("id"),
                "type": "stream",
                "stream": stream,
                "topic": topic,
                "content": params.content,
            }
        case "send_private":
            recipients = _recipients(params.to)
            form = {"type": "private", "to": json.dumps(recipients), "content": params.content}
            answer = client.request(
                "POST",
                "/messages",
                f"sending a direct message to {', '.join(map(str, recipients))}",
                item_index=index,
                data=form,
            )
            return {"id": answer.get("id"), "type": "private", "to": recipients, "content": params.content}
        case "get":
            answer = client.request(
                "GET",
                f"/messages/{number}",
                f"getting message {number}",
                item_index=index,
                params={"apply_markdown": "false" if params.markdown else "true"},
            )
            return dict(answer.get("message") or {})
        case "update":
            changes: dict[str, str] = {}
            if params.content.strip():
                changes["content"] = params.content
            if params.topic.strip():
                changes.update(topic=params.topic.strip(), propagate_mode=params.propagate_mode)
            client.request("PATCH", f"/messages/{number}", f"updating message {number}", item_index=index, data=changes)
            result: dict[str, Any] = {"id": number, "updated": True}
            result.update({key: value for key, value in changes.items() if key != "propagate_mode"})
            return result
        case "delete":
            client.request("DELETE", f"/messages/{number}", f"deleting message {number}", item_index=index)
            return {"id": number, "deleted": True}
    raise AssertionError(f"unhandled operation {params.operation!r}")
