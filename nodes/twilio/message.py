"""Twilio Message: send an SMS, MMS or WhatsApp message, get one, list them, or delete one, once per item."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.twilio._client import TwilioClient

BY_SID = ("get", "delete")
WHATSAPP = "whatsapp:"
_MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")


class TwilioMessageParameters(Parameters):
    operation: Literal["send", "get", "get_many", "delete"] = param(
        "send",
        title="Operation",
        description="send a message per item; get one by SID; get_many: one item per message, newest first; "
        "delete one from the account's logs.",
        no_expressions=True,
    )
    channel: Literal["sms", "whatsapp"] = param(
        "sms",
        title="Channel",
        description="sms: SMS, or MMS with media; whatsapp: both numbers are sent as whatsapp:+...",
        show_if={"operation": ["send"]},
        no_expressions=True,
    )
    sender: str = param(
        "",
        title="From",
        description="A Twilio number of the account (+15017122661), an alphanumeric sender id, or a "
        "messaging service SID (MG...) that picks the number.",
        placeholder="+15017122661",
        show_if={"operation": ["send"]},
    )
    to: str = param(
        "",
        title="To",
        description="The recipient's number in E.164 form: + then country code and number.",
        placeholder="+15558675310",
        show_if={"operation": ["send"]},
    )
    body: str = param(
        "",
        title="Message",
        description="Up to 1600 characters; Twilio splits long SMS into segments.",
        widget="textarea",
        show_if={"operation": ["send"]},
    )
    media_urls: list[str] = param(
        default_factory=list,
        title="Media URLs",
        description="Public URLs of images or files to attach (MMS or WhatsApp), separated by commas; "
        "Twilio downloads them.",
        show_if={"operation": ["send"]},
    )
    status_callback: str = param(
        "",
        title="Status callback URL",
        description="Twilio POSTs each status change of the message (queued, sent, delivered...) to this URL.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    message_sid: str = param(
        "",
        title="Message SID",
        description="The sid a send returned (SM... or MM...).",
        placeholder="{{ $json.sid }}",
        show_if={"operation": BY_SID},
    )
    filter_to: str = param(
        "", title="To", description="Only messages sent to this number.", show_if={"operation": ["get_many"]}
    )
    filter_from: str = param(
        "", title="From", description="Only messages sent from this number.", show_if={"operation": ["get_many"]}
    )
    sent_on: str = param(
        "",
        title="Sent on",
        description="Only messages sent on this day (YYYY-MM-DD, UTC).",
        placeholder="2026-01-31",
        show_if={"operation": ["get_many"]},
    )
    sent_on_or_after: str = param(
        "",
        title="Sent on or after",
        description="YYYY-MM-DD, UTC.",
        show_if={"operation": ["get_many"]},
        advanced=True,
    )
    sent_on_or_before: str = param(
        "",
        title="Sent on or before",
        description="YYYY-MM-DD, UTC.",
        show_if={"operation": ["get_many"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' messages.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many messages per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("media_urls", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(url).strip() for url in value if str(url).strip()]
        return value

    @field_validator("media_urls")
    @classmethod
    def _public_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"the media URL {url!r} must start with https://")
        return value

    @field_validator("sent_on", "sent_on_or_after", "sent_on_or_before")
    @classmethod
    def _day(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                date.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"{value!r} is not a day written YYYY-MM-DD") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> TwilioMessageParameters:
        if self.operation == "send":
            if not self.sender.strip():
                raise ValueError("send needs the From number")
            if not self.to.strip():
                raise ValueError("send needs the To number")
            if not self.body.strip() and not self.media_urls:
                raise ValueError("send needs a message or a media URL")
        if self.operation in BY_SID and not self.message_sid.strip():
            raise ValueError(f"{self.operation} needs the message SID")
        return self


class TwilioMessageNode(Node):
    type = "twilio.message"
    display_name = "Twilio Message"
    category = Category.INTEGRATION
    description = "Sends SMS, MMS or WhatsApp messages through Twilio, or gets, lists or deletes sent ones."
    icon = "smartphone"
    Parameters = TwilioMessageParameters
    credentials = (CredentialRequirement("twilio_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with TwilioClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: TwilioMessageParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _address(number: str, channel: str) -> str:
    """WhatsApp numbers travel as ``whatsapp:+1555...``; a number already written so is kept."""
    number = number.strip()
    if channel == "whatsapp" and not number.startswith(WHATSAPP):
        return WHATSAPP + number
    return number


def _run(client: TwilioClient, params: TwilioMessageParameters, index: int) -> list[dict[str, Any]]:
    sid = params.message_sid.strip()
    match params.operation:
        case "send":
            to = _address(params.to, params.channel)
            form: dict[str, Any] = {"To": to}
            sender = params.sender.strip()
            if _MESSAGING_SERVICE.match(sender):
                form["MessagingServiceSid"] = sender
            else:
                form["From"] = _address(sender, params.channel)
            if params.body.strip():
                form["Body"] = params.body
            if params.media_urls:
                form["MediaUrl"] = params.media_urls
            if params.status_callback.strip():
                form["StatusCallback"] = params.status_callback.strip()
            path = client.account_path("Messages")
            return [client.request("POST", path, f"sending a message to {to}", item_index=index, data=form)]
        case "get":
            path = client.account_path("Messages", sid)
            return [client.request("GET", path, f"getting message {sid}", item_index=index)]
        case "get_many":
            query = {
                name: value.strip()
                for name, value in (
                    ("To", params.filter_to),
                    ("From", params.filter_from),
                    ("DateSent", params.sent_on),
                    # Twilio reads DateSent>=... and DateSent<=... as these names with the day as value.
                    ("DateSent>", params.sent_on_or_after),
                    ("DateSent<", params.sent_on_or_before),
                )
                if value.strip()
            }
            return client.paginate(
                client.account_path("Messages"),
                "messages",
                "listing the messages",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "delete":
            path = client.account_path("Messages", sid)
            client.request("DELETE", path, f"deleting message {sid}", item_index=index)
            return [{"sid": sid, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
