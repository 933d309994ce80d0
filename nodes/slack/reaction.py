"""Slack Reaction: add or remove an emoji reaction on a message."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.slack.credentials import call, client_for


class SlackReactionParameters(Parameters):
    operation: Literal["add", "remove"] = param("add", title="Operation", no_expressions=True)
    channel: str = param(title="Channel", description="The message's channel id (C...).", min_length=1)
    ts: str = param(title="Message ts", placeholder="{{ $json.ts }}", min_length=1)
    name: str = param(
        title="Emoji",
        description="The emoji's name, with or without colons: thumbsup, :white_check_mark:.",
        placeholder="white_check_mark",
        min_length=1,
    )

    @field_validator("name")
    @classmethod
    def _bare_name(cls, value: str) -> str:
        name = value.strip().strip(":")
        if not name or any(char.isspace() or char == ":" for char in name):
            raise ValueError("an emoji name is one word, such as thumbsup")
        return name


class SlackReactionNode(Node):
    type = "slack.reaction"
    display_name = "Slack Reaction"
    category = Category.INTEGRATION
    description = "Adds or removes the app's emoji reaction on a Slack message, per item."
    icon = "smile-plus"
    Parameters = SlackReactionParameters
    credentials = (CredentialRequirement("slack_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        client = client_for(ctx)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SlackReactionParameters = ctx.params(index)
            channel, ts = params.channel.strip(), params.ts.strip()
            method = "reactions_add" if params.operation == "add" else "reactions_remove"
            call(
                client,
                method,
                f"{'adding' if params.operation == 'add' else 'removing'} :{params.name}: on message {ts}",
                item_index=index,
                channel=channel,
                timestamp=ts,
                name=params.name,
            )
            data = {"channel": channel, "ts": ts, "name": params.name, "operation": params.operation}
            produced.append(Item(data, paired_item=index))
        return [produced]
