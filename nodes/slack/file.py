"""Slack File: upload a file of the item to Slack, optionally sharing it in a channel or thread."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from nodes.files._common import read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.slack.credentials import call, client_for


class SlackFileParameters(Parameters):
    operation: Literal["upload"] = param("upload", title="Operation", no_expressions=True)
    binary_property: str = param(
        "data", title="Binary property", description="The item's file to upload.", min_length=1
    )
    channel: str = param(
        "",
        title="Share in channel",
        description="A channel id (C...); empty: upload without sharing (only the app sees it).",
        placeholder="C0123456789",
    )
    file_name: str = param("", title="File name", description="Empty: the file's own name.", advanced=True)
    title: str = param("", title="Title", description="Empty: the file name.")
    initial_comment: str = param("", title="Message", description="Posted with the file.", widget="textarea")
    thread_ts: str = param(
        "", title="Reply in thread", description="The ts of the thread's first message.", advanced=True
    )

    @model_validator(mode="after")
    def _thread_needs_channel(self) -> SlackFileParameters:
        if self.thread_ts.strip() and not self.channel.strip():
            raise ValueError("a reply in a thread needs the channel too")
        return self


class SlackFileNode(Node):
    type = "slack.file"
    display_name = "Slack File"
    category = Category.INTEGRATION
    description = "Uploads a file of each item to Slack and can share it in a channel or thread."
    icon = "file-up"
    Parameters = SlackFileParameters
    credentials = (CredentialRequirement("slack_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        client = client_for(ctx)
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: SlackFileParameters = ctx.params(index)
            data, reference = read_input(ctx, item, params.binary_property, index)
            file_name = params.file_name.strip() or str(reference.get("file_name") or params.binary_property)
            channel = params.channel.strip()
            answer = call(
                client,
                "files_upload_v2",
                f"uploading {file_name!r}" + (f" to {channel}" if channel else ""),
                item_index=index,
                content=data,
                filename=file_name,
                title=params.title or file_name,
                channel=channel or None,
                initial_comment=params.initial_comment or None,
                thread_ts=params.thread_ts.strip() or None,
            )
            uploaded = dict(answer.get("file") or {})
            produced.append(Item(uploaded, binary=item.binary, paired_item=index))
        return [produced]
