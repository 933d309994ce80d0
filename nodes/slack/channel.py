"""Slack Channel: list the workspace's channels, create one, or read a channel's history."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator
from slack_sdk import WebClient

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.slack.credentials import call, client_for, paginate

ChannelKind = Literal["public_channel", "private_channel", "mpim", "im"]


class SlackChannelParameters(Parameters):
    operation: Literal["list", "create", "history"] = param(
        "list",
        title="Operation",
        description="list: one item per channel; create a channel; history: one item per message of a channel.",
        no_expressions=True,
    )
    types: list[ChannelKind] = param(
        default_factory=lambda: ["public_channel"],
        title="Kinds",
        description="public_channel, private_channel (those the app is in), mpim (group DMs), im (DMs).",
        show_if={"operation": ["list"]},
        min_length=1,
    )
    exclude_archived: bool = param(True, title="Leave out archived channels", show_if={"operation": ["list"]})
    name: str = param(
        "",
        title="Name",
        description="Lower-case letters, digits, hyphens and underscores; at most 80 characters.",
        placeholder="project-apollo",
        show_if={"operation": ["create"]},
        max_length=80,
    )
    is_private: bool = param(False, title="Private", show_if={"operation": ["create"]})
    channel: str = param(
        "", title="Channel", description="The channel's id (C...).", show_if={"operation": ["history"]}
    )
    oldest: str = param(
        "",
        title="After",
        description="Only messages after this ts (or Unix time); empty: from the beginning.",
        show_if={"operation": ["history"]},
        advanced=True,
    )
    latest: str = param(
        "",
        title="Before",
        description="Only messages before this ts (or Unix time); empty: up to now.",
        show_if={"operation": ["history"]},
        advanced=True,
    )
    limit: int = param(
        100,
        title="At most",
        description="Stop after this many channels or messages (pages are fetched as needed).",
        show_if={"operation": ["list", "history"]},
        ge=1,
        le=10_000,
    )

    @model_validator(mode="after")
    def _needs(self) -> SlackChannelParameters:
        if self.operation == "create" and not self.name.strip():
            raise ValueError("create needs a channel name")
        if self.operation == "history" and not self.channel.strip():
            raise ValueError("history needs a channel")
        return self


class SlackChannelNode(Node):
    type = "slack.channel"
    display_name = "Slack Channel"
    category = Category.INTEGRATION
    description = "Lists Slack channels, creates one, or outputs a channel's messages, once per item."
    icon = "hash"
    Parameters = SlackChannelParameters
    credentials = (CredentialRequirement("slack_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        client = client_for(ctx)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SlackChannelParameters = ctx.params(index)
            produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: WebClient, params: SlackChannelParameters, index: int) -> list[dict[str, Any]]:
    match params.operation:
        case "list":
            return paginate(
                client,
                "conversations_list",
                "channels",
                "listing channels",
                limit=params.limit,
                item_index=index,
                types=",".join(dict.fromkeys(params.types)),
                exclude_archived=params.exclude_archived,
            )
        case "create":
            name = params.name.strip().lstrip("#")
            answer = call(
                client,
                "conversations_create",
                f"creating channel {name!r}",
                item_index=index,
                name=name,
                is_private=params.is_private,
            )
            return [answer.get("channel") or {}]
        case "history":
            channel = params.channel.strip()
            return paginate(
                client,
                "conversations_history",
                "messages",
                f"the history of {channel}",
                limit=params.limit,
                item_index=index,
                channel=channel,
                oldest=params.oldest.strip() or None,
                latest=params.latest.strip() or None,
            )
    raise AssertionError(f"unhandled operation {params.operation!r}")
