"""NATS Message: publish each item to a subject, send it as a request and take the reply, or publish to JetStream.

A plain publish succeeds once the server has the message (a flush round trip), though NATS itself keeps no
copy; a JetStream publish succeeds once a stream has stored it, and the output says which stream and at
what sequence number. Requests fail clearly when no service listens on the subject or none replies in time.
"""

from __future__ import annotations

import base64
import json
import re
from contextlib import suppress
from typing import Any, Literal

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from pydantic import field_validator, model_validator

from nodes.files._common import MISSING, get_field
from nodes.nats.credentials import DEFAULT_TIMEOUT_SECONDS, NatsCredential, connect, run_sync
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

Operation = Literal["publish", "request", "jetstream_publish"]
MSG_ID_HEADER = "Nats-Msg-Id"
"""JetStream drops a message whose id it saw within the stream's duplicate window."""
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
"""Printable ASCII without spaces or colons, as NATS (like HTTP) wants header names."""


class NatsMessageParameters(Parameters):
    operation: Operation = param(
        "publish",
        title="Operation",
        description="publish: each item becomes a message; request: send it and output the reply; "
        "jetstream_publish: each item is stored by the stream that captures the subject.",
        no_expressions=True,
    )
    subject: str = param(title="Subject", placeholder="orders.{{ $json.region }}.created")
    payload_from: Literal["json", "field", "text"] = param(
        "json",
        title="Payload",
        description="json: the whole item as JSON; field: one field of the item (text as is, anything else as "
        "JSON); text: the text below.",
        no_expressions=True,
    )
    payload_field: str = param(
        "",
        title="Field",
        description="Dots reach nested fields.",
        placeholder="order",
        show_if={"payload_from": ["field"]},
    )
    payload_text: str = param("", title="Text", widget="textarea", show_if={"payload_from": ["text"]})
    headers: dict[str, Any] = param(
        default_factory=dict,
        title="Headers",
        description='Message headers, e.g. {"source": "hitl"}; values other than text are sent as JSON.',
        widget="json",
    )
    timeout_seconds: float = param(
        5.0,
        title="Timeout (seconds)",
        description="publish: how long to wait for the server to confirm it has the message; request: for the "
        "reply; jetstream_publish: for the stream's acknowledgement.",
        gt=0,
        le=300,
    )
    parse_json: bool = param(
        True,
        title="Parse a JSON reply",
        description="A JSON object reply becomes the item; any other reply goes in the item's reply field.",
        show_if={"operation": ["request"]},
    )
    message_id: str = param(
        "",
        title="Message id",
        description="Sent as Nats-Msg-Id: the stream stores a message only once per id within its duplicate "
        "window, so retries cannot store it twice.",
        placeholder="order-{{ $json.id }}",
        show_if={"operation": ["jetstream_publish"]},
    )
    expected_stream: str = param(
        "",
        title="Expected stream",
        description="Fail unless this stream stores the message; empty: whichever stream captures the subject.",
        show_if={"operation": ["jetstream_publish"]},
        advanced=True,
    )

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        if not value:
            raise ValueError("the subject is empty")
        if any(char.isspace() for char in value):
            raise ValueError(f"the subject {value!r} contains white space")
        tokens = value.split(".")
        if "" in tokens:
            raise ValueError(f"the subject {value!r} has an empty token (two dots, or a dot at an end)")
        if "*" in tokens or ">" in tokens:
            raise ValueError(f"{value!r} has a wildcard (* or >); send to one subject")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, entry in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"the header name {name!r} must be printable ASCII without spaces or colons")
            if isinstance(entry, str) and ("\r" in entry or "\n" in entry):
                # A line break would start a header line of its own.
                raise ValueError(f"the header {name!r} has a line break in its value")
        return value

    @field_validator("message_id")
    @classmethod
    def _message_id(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("the message id has a line break")
        return value

    @model_validator(mode="after")
    def _needs(self) -> NatsMessageParameters:
        if self.payload_from == "field" and not self.payload_field:
            raise ValueError("a payload from a field needs the field's name")
        if any(name.lower() == MSG_ID_HEADER.lower() for name in self.headers) and self.message_id:
            raise ValueError(f"give the message id once: in Message id or as the {MSG_ID_HEADER} header")
        return self


class NatsMessageNode(Node):
    type = "nats.message"
    display_name = "NATS"
    category = Category.INTEGRATION
    description = "Publishes each item to a NATS subject or JetStream, or sends it as a request and outputs the reply."
    icon = "send"
    Parameters = NatsMessageParameters
    credentials = (CredentialRequirement("nats"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        # Parameters are read (and their expressions evaluated) here, outside the event loop.
        every = [(index, item, ctx.params(index)) for index, item in enumerate(items)]
        fields = NatsCredential.parse(ctx.credential("nats"))
        remaining = ctx.remaining_seconds()
        budget = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, DEFAULT_TIMEOUT_SECONDS), 1.0)

        async def send_all() -> list[Item]:
            client = await connect(fields, budget)
            try:
                return [await _send(client, params, item, index) for index, item, params in every]
            finally:
                with suppress(nats.errors.Error, OSError):
                    await client.close()

        return [run_sync(send_all)]


def _payload(params: NatsMessageParameters, item: Item, index: int) -> bytes:
    if params.payload_from == "text":
        return params.payload_text.encode()
    value: Any = item.json
    if params.payload_from == "field":
        value = get_field(item.json, params.payload_field)
        if value is MISSING:
            raise NodeError(
                f"item {index} has no field {params.payload_field!r} for the payload",
                description="Set the field earlier (Edit Fields), or pick another payload.",
                item_index=index,
            )
        if isinstance(value, str):
            return value.encode()
    return json.dumps(value, ensure_ascii=False).encode()


def _headers(params: NatsMessageParameters) -> dict[str, str] | None:
    """The headers as NATS sends them: text, one line each (JSON escapes the line breaks of other values)."""
    headers = {
        name: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for name, value in params.headers.items()
    }
    if params.message_id:
        headers[MSG_ID_HEADER] = params.message_id
    return headers or None


async def _send(client: Client, params: NatsMessageParameters, item: Item, index: int) -> Item:
    payload = _payload(params, item, index)
    headers = _headers(params)
    if len(payload) > client.max_payload:
        raise NodeError(
            f"item {index}: the payload is {len(payload)} bytes, more than the server's limit of {client.max_payload}",
            description="Send less (a field instead of the whole item), or raise max_payload on the server.",
            item_index=index,
        )
    subject = params.subject
    try:
        match params.operation:
            case "publish":
                await client.publish(subject, payload, headers=headers)
                # A round trip: once the server answers the PING, it has processed the message before it.
                await client.flush(params.timeout_seconds)
                return Item({"subject": subject, "size": len(payload)}, paired_item=index)
            case "request":
                reply = await client.request(subject, payload, timeout=params.timeout_seconds, headers=headers)
                return Item(_reply(reply.data, params.parse_json), paired_item=index)
            case "jetstream_publish":
                ack = await client.jetstream().publish(
                    subject,
                    payload,
                    timeout=params.timeout_seconds,
                    stream=params.expected_stream or None,
                    headers=headers,
                )
                return Item(
                    {
                        "subject": subject,
                        "stream": ack.stream,
                        "sequence": ack.seq,
                        "duplicate": bool(ack.duplicate),
                        "size": len(payload),
                    },
                    paired_item=index,
                )
    except nats.errors.NoRespondersError as err:
        raise NodeError(
            f"item {index}: no service answers requests on {subject!r}",
            description="Start the service that subscribes to this subject, or check the subject.",
            item_index=index,
        ) from err
    except nats.js.errors.NoStreamResponseError as err:
        raise NodeError(
            f"item {index}: no JetStream stream captures the subject {subject!r}",
            description="Create a stream whose subjects include it (nats stream add), or check the subject.",
            item_index=index,
        ) from err
    except nats.js.errors.APIError as err:
        raise NodeError(
            f"item {index}: JetStream refused the message to {subject!r}: {err.description} "
            f"({err.code}, error {err.err_code})",
            description="Check the stream's settings (expected stream, limits) and the subject.",
            item_index=index,
        ) from err
    except (nats.errors.TimeoutError, TimeoutError) as err:
        waited_for = {"publish": "confirmation", "request": "reply"}.get(params.operation, "acknowledgement")
        raise NodeError(
            f"item {index}: no {waited_for} to the message on {subject!r} within {params.timeout_seconds:g} s",
            description="The service or stream is slow or busy: raise the timeout, or retry.",
            item_index=index,
        ) from err
    except (nats.errors.Error, OSError) as err:
        raise NodeError(
            f"item {index}: sending to {subject!r} failed: {err}",
            description="The connection to NATS was lost: retry the node.",
            item_index=index,
        ) from err
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _reply(data: bytes, parse_json: bool) -> dict[str, Any]:
    """A reply as an item: a JSON object is the item; other JSON or text goes in ``reply``."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return {"reply": base64.b64encode(data).decode("ascii"), "reply_encoding": "base64"}
    if parse_json:
        with suppress(ValueError):
            value = json.loads(text)
            return value if isinstance(value, dict) else {"reply": value}
    return {"reply": text}
