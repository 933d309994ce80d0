"""Slack Message: send, update or delete a message, or get its permalink, once per item."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import model_validator
from slack_sdk import WebClient

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.slack.credentials import call, client_for

WITH_TS = ("update", "delete", "get_permalink")
WITH_TEXT = ("send", "update")


class SlackMessageParameters(Parameters):
    operation: Literal["send", "update", "delete", "get_permalink"] = param(
        "send",
        title="Operation",
        description="send a new message; update or delete one the app sent; get_permalink: a link to a message.",
        no_expressions=True,
    )
    channel: str = param(
        title="Channel",
        description="A channel id (C...), a channel name (#general) or, to send a direct message, a user id (U...).",
        placeholder="C0123456789",
        min_length=1,
    )
    ts: str = param(
        "",
        title="Message ts",
        description="The message's id: the ts Send returned, e.g. 1700000000.000100.",
        placeholder="{{ $json.ts }}",
        show_if={"operation": WITH_TS},
    )
    text: str = param(
        "",
        title="Text",
        description="In Slack's mrkdwn; with blocks it is the notification text.",
        widget="textarea",
        show_if={"operation": WITH_TEXT},
    )
    blocks: list[dict[str, Any]] | str | None = param(
        None,
        title="Blocks",
        description="Block Kit blocks as a JSON list (build them in Slack's Block Kit Builder).",
        widget="json",
        show_if={"operation": WITH_TEXT},
    )
    thread_ts: str = param(
        "",
        title="Reply in thread",
        description="The ts of the thread's first message; empty: post in the channel.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    reply_broadcast: bool = param(
        False,
        title="Also send to the channel",
        description="Show a thread reply in the channel too.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    unfurl_links: bool = param(
        False,
        title="Unfurl links",
        description="Show previews of links.",
        show_if={"operation": ["send"]},
        advanced=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> SlackMessageParameters:
        if isinstance(self.blocks, str):
            # Expressions and the JSON widget may hand the blocks over as text.
            try:
                parsed = json.loads(self.blocks) if self.blocks.strip() else None
            except ValueError as err:
                raise ValueError(f"blocks are not valid JSON ({err})") from err
            if parsed is not None and not (isinstance(parsed, list) and all(isinstance(b, dict) for b in parsed)):
                raise ValueError("blocks must be a JSON list of objects")
            self.blocks = parsed
        if self.operation in WITH_TEXT and not self.text.strip() and not self.blocks:
            raise ValueError(f"{self.operation} needs a text or blocks")
        if self.operation in WITH_TS and not self.ts.strip():
            raise ValueError(f"{self.operation} needs the message's ts")
        return self


class SlackMessageNode(Node):
    type = "slack.message"
    display_name = "Slack Message"
    category = Category.INTEGRATION
    description = "Sends, updates or deletes a Slack message, or gets a link to it, once per item."
    icon = "message-square"
    Parameters = SlackMessageParameters
    credentials = (CredentialRequirement("slack_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        client = client_for(ctx)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SlackMessageParameters = ctx.params(index)
            produced.append(Item(_run(client, params, index), paired_item=index))
        return [produced]


def _run(client: WebClient, params: SlackMessageParameters, index: int) -> dict[str, Any]:
    channel = params.channel.strip()
    ts = params.ts.strip()
    match params.operation:
        case "send":
            answer = call(
                client,
                "chat_postMessage",
                f"the message to {channel}",
                item_index=index,
                channel=channel,
                text=params.text,
                blocks=params.blocks or None,
                thread_ts=params.thread_ts.strip() or None,
                reply_broadcast=params.reply_broadcast if params.thread_ts.strip() else None,
                unfurl_links=params.unfurl_links,
                unfurl_media=params.unfurl_links,
            )
            return {"channel": answer.get("channel"), "ts": answer.get("ts"), "message": answer.get("message") or {}}
        case "update":
            answer = call(
                client,
                "chat_update",
                f"updating message {ts} in {channel}",
                item_index=index,
                channel=channel,
                ts=ts,
                text=params.text,
                blocks=params.blocks or None,
            )
            return {"channel": answer.get("channel"), "ts": answer.get("ts"), "text": answer.get("text")}
        case "delete":
            answer = call(
                client, "chat_delete", f"deleting message {ts} in {channel}", item_index=index, channel=channel, ts=ts
            )
            return {"channel": answer.get("channel"), "ts": answer.get("ts"), "deleted": True}
        case "get_permalink":
            answer = call(
                client,
                "chat_getPermalink",
                f"a link to message {ts} in {channel}",
                item_index=index,
                channel=channel,
                message_ts=ts,
            )
            return {"channel": answer.get("channel"), "ts": ts, "permalink": answer.get("permalink")}
    raise AssertionError(f"unhandled operation {params.operation!r}")
