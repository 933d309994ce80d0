"""Mattermost Message: create, update or delete a post, react to one, or read a channel's posts, once per item."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.mattermost._client import MattermostClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

WITH_CHANNEL = ("create", "get_channel_posts")
WITH_POST_ID = ("update", "delete", "react")
WITH_MESSAGE = ("create", "update")
MAX_PER_PAGE = 200
"""The largest page Mattermost serves."""


class MattermostMessageParameters(Parameters):
    operation: Literal["create", "update", "delete", "react", "get_channel_posts"] = param(
        "create",
        title="Operation",
        description="create a post; update or delete one; react to one with an emoji; get_channel_posts: "
        "one item per post of a channel, newest first.",
        no_expressions=True,
    )
    channel_id: str = param(
        "",
        title="Channel id",
        description="The channel's id (26 characters; channel menu → View Info).",
        show_if={"operation": WITH_CHANNEL},
    )
    post_id: str = param(
        "",
        title="Post id",
        description="The id a Create operation returned.",
        placeholder="{{ $json.id }}",
        show_if={"operation": WITH_POST_ID},
    )
    message: str = param(
        "",
        title="Message",
        description="In Mattermost's Markdown.",
        widget="textarea",
        show_if={"operation": WITH_MESSAGE},
    )
    attachments: list[dict[str, Any]] | str | None = param(
        None,
        title="Attachments",
        description='Message attachments as JSON: [{"fallback", "color", "title", "text", "fields": [...]}].',
        widget="json",
        show_if={"operation": WITH_MESSAGE},
    )
    root_id: str = param(
        "",
        title="Reply in thread",
        description="The id of the thread's first post; empty: a new post in the channel.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    emoji_name: str = param(
        "",
        title="Emoji",
        description="The emoji's name, with or without colons: thumbsup, :white_check_mark:.",
        placeholder="white_check_mark",
        show_if={"operation": ["react"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Every post of the channel.",
        show_if={"operation": ["get_channel_posts"]},
    )
    limit: int = param(
        50,
        title="At most",
        description="Stop after this many posts (pages are fetched as needed).",
        show_if={"operation": ["get_channel_posts"], "return_all": [False]},
        ge=1,
        le=10_000,
    )
    per_page: int = param(
        60,
        title="Page size",
        description="Posts per request; Mattermost serves at most 200.",
        show_if={"operation": ["get_channel_posts"]},
        advanced=True,
        ge=1,
        le=MAX_PER_PAGE,
    )

    @field_validator("emoji_name")
    @classmethod
    def _bare_name(cls, value: str) -> str:
        name = value.strip().strip(":")
        if any(char.isspace() or char == ":" for char in name):
            raise ValueError("an emoji name is one word, such as thumbsup")
        return name

    @model_validator(mode="after")
    def _needs(self) -> MattermostMessageParameters:
        self.attachments = _attachments(self.attachments)
        if self.operation in WITH_CHANNEL and not self.channel_id.strip():
            raise ValueError(f"{self.operation} needs the channel id")
        if self.operation in WITH_POST_ID and not self.post_id.strip():
            raise ValueError(f"{self.operation} needs the post id")
        if self.operation == "create" and not self.message.strip() and not self.attachments:
            raise ValueError("create needs a message or attachments")
        if self.operation == "update" and not self.message.strip() and self.attachments is None:
            raise ValueError("update needs the new message or attachments")
        if self.operation == "react" and not self.emoji_name:
            raise ValueError("react needs an emoji name")
        return self


def _attachments(value: list[dict[str, Any]] | str | None) -> list[dict[str, Any]] | None:
    """Expressions and the JSON widget may hand the attachments over as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the attachments are not valid JSON ({err})") from err
    if value is None:
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ValueError("the attachments must be a JSON list of objects")
    return value or None


class MattermostMessageNode(Node):
    type = "mattermost.message"
    display_name = "Mattermost Message"
    category = Category.INTEGRATION
    description = "Creates, updates, deletes or reacts to Mattermost posts, or outputs a channel's posts."
    icon = "message-square-text"
    Parameters = MattermostMessageParameters
    credentials = (CredentialRequirement("mattermost_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        me: dict[str, str] = {}
        with MattermostClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: MattermostMessageParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index, me))
        return [produced]


def _run(
    client: MattermostClient, params: MattermostMessageParameters, index: int, me: dict[str, str]
) -> list[dict[str, Any]]:
    channel = params.channel_id.strip()
    post = quote(params.post_id.strip(), safe="")
    match params.operation:
        case "create":
            body: dict[str, Any] = {"channel_id": channel, "message": params.message}
            if params.root_id.strip():
                body["root_id"] = params.root_id.strip()
            if params.attachments:
                body["props"] = {"attachments": params.attachments}
            return [
                client.request("POST", "/posts", f"creating a post in channel {channel}", item_index=index, json=body)
            ]
        case "update":
            patch: dict[str, Any] = {}
            if params.message.strip():
                patch["message"] = params.message
            if params.attachments is not None:
                patch["props"] = {"attachments": params.attachments}
            return [
                client.request("PUT", f"/posts/{post}/patch", f"updating post {post}", item_index=index, json=patch)
            ]
        case "delete":
            client.request("DELETE", f"/posts/{post}", f"deleting post {post}", item_index=index)
            return [{"id": params.post_id.strip(), "deleted": True}]
        case "react":
            if "id" not in me:
                # Reactions are made in a user's name: the token's own, looked up once per run.
                me["id"] = str(client.request("GET", "/users/me", "finding the token's user", item_index=index)["id"])
            reaction = {"user_id": me["id"], "post_id": params.post_id.strip(), "emoji_name": params.emoji_name}
            return [
                client.request(
                    "POST",
                    "/reactions",
                    f"reacting with :{params.emoji_name}: to post {post}",
                    item_index=index,
                    json=reaction,
                )
            ]
        case "get_channel_posts":
            return _channel_posts(client, params, channel, index)
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _channel_posts(
    client: MattermostClient, params: MattermostMessageParameters, channel: str, index: int
) -> list[dict[str, Any]]:
    limit = None if params.return_all else params.limit
    per_page = params.per_page if limit is None else min(params.per_page, limit)
    posts: list[dict[str, Any]] = []
    page = 0
    while limit is None or len(posts) < limit:
        answer = client.request(
            "GET",
            f"/channels/{quote(channel, safe='')}/posts",
            f"reading the posts of channel {channel}",
            item_index=index,
            params={"page": page, "per_page": per_page},
        )
        order = answer.get("order") or []
        found = answer.get("posts") or {}
        posts.extend(found[post_id] for post_id in order if post_id in found)
        if len(order) < per_page:
            break
        page += 1
    return posts if limit is None else posts[:limit]
