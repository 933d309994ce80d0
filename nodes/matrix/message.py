"""Matrix Message: send a text or notice to a room, or read a room's messages, once per item."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.matrix._client import MatrixClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

HTML_FORMAT = "org.matrix.custom.html"
MAX_PAGE_SIZE = 100


class MatrixMessageParameters(Parameters):
    operation: Literal["send", "get_many"] = param(
        "send",
        title="Operation",
        description="send a message per item; get_many: one item per event of the room.",
        no_expressions=True,
    )
    room_id: str = param(
        title="Room id",
        description="The room's internal id (room Settings → Advanced), which the account has joined.",
        placeholder="!abcdefghijklmnop:example.org",
    )
    text: str = param(
        "",
        title="Text",
        description="The message as plain text; with HTML, the fallback for clients that do not show HTML.",
        widget="textarea",
        show_if={"operation": ["send"]},
    )
    msgtype: Literal["m.text", "m.notice"] = param(
        "m.text",
        title="Message type",
        description="m.text: a normal message; m.notice: an automated one, which bots do not answer.",
        show_if={"operation": ["send"]},
    )
    format: Literal["plain", "html"] = param(
        "plain",
        title="Format",
        description="html: also send an HTML body, which most clients show instead of the text.",
        show_if={"operation": ["send"]},
        no_expressions=True,
    )
    html: str = param(
        "",
        title="HTML",
        description="The formatted body: <b>, <i>, <a href>, <code>, <ul>...",
        widget="textarea",
        show_if={"operation": ["send"], "format": ["html"]},
    )
    direction: Literal["b", "f"] = param(
        "b",
        title="Direction",
        description="b: newest first, going back in time; f: oldest first.",
        show_if={"operation": ["get_many"]},
        no_expressions=True,
    )
    event_types: list[str] = param(
        default_factory=lambda: ["m.room.message"],
        title="Event types",
        description="Only events of these types, separated by commas; empty: every event (joins, topic changes...).",
        show_if={"operation": ["get_many"]},
    )
    from_token: str = param(
        "",
        title="From token",
        description="Start at this pagination token (a previous 'end', or a sync's prev_batch); empty: the newest "
        "event (direction b) or the oldest (f).",
        show_if={"operation": ["get_many"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' events.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many events per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("event_types", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(name).strip() for name in value if str(name).strip()]
        return value

    @model_validator(mode="after")
    def _needs(self) -> MatrixMessageParameters:
        room = self.room_id.strip()
        if not room:
            raise ValueError("the room id is required")
        if room.startswith("#"):
            raise ValueError(f"{room} is a room alias: use the room's id, which starts with !")
        if self.operation == "send":
            if not self.text.strip():
                raise ValueError("send needs the text (with HTML, its plain-text fallback)")
            if self.format == "html" and not self.html.strip():
                raise ValueError("send as HTML needs the HTML")
        return self


class MatrixMessageNode(Node):
    type = "matrix.message"
    display_name = "Matrix Message"
    category = Category.INTEGRATION
    description = "Sends text or notices to a Matrix room, or outputs a room's messages."
    icon = "messages-square"
    Parameters = MatrixMessageParameters
    credentials = (CredentialRequirement("matrix_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with MatrixClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: MatrixMessageParameters = ctx.params(index)
                if params.operation == "send":
                    produced.append(Item(_send(ctx, client, params, index), paired_item=index))
                else:
                    produced.extend(Item(event, paired_item=index) for event in _messages(client, params, index))
        return [produced]


def _transaction_id(ctx: Context, index: int) -> str:
    """The same id each time this item of this run of the node is sent.

    The homeserver answers a repeated transaction id with the first event instead of posting again, so a
    retried node (or a request retried after a rate limit) never posts a message twice.
    """
    key = f"{ctx.execution_id}/{ctx.node_name}/{ctx.run_index}/{index}"
    return "hitl" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _send(ctx: Context, client: MatrixClient, params: MatrixMessageParameters, index: int) -> dict[str, Any]:
    room = params.room_id.strip()
    content: dict[str, Any] = {"msgtype": params.msgtype, "body": params.text}
    if params.format == "html":
        content.update(format=HTML_FORMAT, formatted_body=params.html)
    path = f"/rooms/{quote(room, safe='')}/send/m.room.message/{_transaction_id(ctx, index)}"
    answer = client.request("PUT", path, f"sending a message to {room}", item_index=index, json=content)
    return {"event_id": answer.get("event_id"), "room_id": room, **content}


def _messages(client: MatrixClient, params: MatrixMessageParameters, index: int) -> list[dict[str, Any]]:
    room = params.room_id.strip()
    limit = None if params.return_all else params.limit
    query: dict[str, Any] = {
        "dir": params.direction,
        "limit": MAX_PAGE_SIZE if limit is None else min(limit, MAX_PAGE_SIZE),
    }
    if params.event_types:
        query["filter"] = json.dumps({"types": params.event_types}, separators=(",", ":"))
    if params.from_token.strip():
        query["from"] = params.from_token.strip()
    events: list[dict[str, Any]] = []
    while limit is None or len(events) < limit:
        answer = client.request(
            "GET",
            f"/rooms/{quote(room, safe='')}/messages",
            f"reading the messages of {room}",
            item_index=index,
            params=query,
        )
        chunk = answer.get("chunk") or []
        events.extend(chunk)
        # No "end" means there is nothing further in this direction.
        if not chunk or not answer.get("end"):
            break
        query["from"] = answer["end"]
    return events if limit is None else events[:limit]
