"""Mailgun Message: send one email per item from the credential's domain, or read the domain's events."""

from __future__ import annotations

from email.utils import formataddr
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.email.credentials import parse_addresses
from nodes.files._common import read_input
from nodes.mailgun._client import FileField, MailgunClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

MAX_TAGS = 3
"""Mailgun keeps at most 3 tags per message."""
MAX_EVENTS_PAGE = 300
"""The largest page of events Mailgun serves."""
EventType = Literal[
    "any", "accepted", "rejected", "delivered", "failed", "opened", "clicked", "unsubscribed", "complained", "stored"
]


class MailgunMessageParameters(Parameters):
    operation: Literal["send", "get_events"] = param(
        "send",
        title="Operation",
        description="send an email per item; get_events: one item per event of the domain (accepted, delivered, "
        "failed, opened...), newest first.",
        no_expressions=True,
    )
    sender: str = param(
        "",
        title="From",
        description="An address of the credential's domain; a name may go first: Shop <shop@mg.example.com>.",
        placeholder="Shop <shop@mg.example.com>",
        show_if={"operation": ["send"]},
    )
    to: str = param(
        "",
        title="To",
        description="Comma-separated addresses; a name may go first: Ada <ada@example.com>.",
        show_if={"operation": ["send"]},
    )
    cc: str = param("", title="Cc", description="Comma-separated addresses.", show_if={"operation": ["send"]})
    bcc: str = param(
        "",
        title="Bcc",
        description="Comma-separated addresses; they receive it without being shown.",
        show_if={"operation": ["send"]},
    )
    subject: str = param("", title="Subject", show_if={"operation": ["send"]})
    text: str = param(
        "", title="Text", description="The plain-text body.", widget="textarea", show_if={"operation": ["send"]}
    )
    html: str = param(
        "",
        title="HTML",
        description="An HTML body; mail programs show it instead of the text, which stays as the fallback.",
        widget="textarea",
        show_if={"operation": ["send"]},
    )
    attachments: str = param(
        "",
        title="Attachments",
        description="Comma-separated names of the item's binary properties to attach, e.g. data, invoice.",
        placeholder="data",
        show_if={"operation": ["send"]},
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="Up to 3 tags to find the email by in Mailgun's logs and statistics, separated by commas.",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    reply_to: str = param(
        "", title="Reply to", description="The address replies go to.", show_if={"operation": ["send"]}, advanced=True
    )
    test_mode: bool = param(
        False,
        title="Test mode",
        description="Mailgun accepts the email but does not deliver it (it still counts and shows in the events).",
        show_if={"operation": ["send"]},
        advanced=True,
    )
    event: EventType = param(
        "any",
        title="Event",
        description="Only events of this kind.",
        show_if={"operation": ["get_events"]},
    )
    recipient: str = param(
        "",
        title="Recipient",
        description="Only events about this address.",
        show_if={"operation": ["get_events"]},
    )
    begin: str = param(
        "",
        title="Begin",
        description="Only events from this time on: an RFC 2822 date (Fri, 3 May 2026 09:00:00 -0000) or a Unix "
        "timestamp.",
        show_if={"operation": ["get_events"]},
        advanced=True,
    )
    end: str = param(
        "",
        title="End",
        description="Only events up to this time, written as Begin.",
        show_if={"operation": ["get_events"]},
        advanced=True,
    )
    ascending: bool = param(
        False,
        title="Oldest first",
        description="Return the oldest events first instead of the newest.",
        show_if={"operation": ["get_events"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' events.",
        show_if={"operation": ["get_events"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many events per item.",
        show_if={"operation": ["get_events"], "return_all": [False]},
        ge=1,
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(name).strip() for name in value if str(name).strip()]
        return value

    @field_validator("tags")
    @classmethod
    def _at_most_three(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_TAGS:
            raise ValueError(f"Mailgun keeps at most {MAX_TAGS} tags per email, not {len(value)}")
        return value

    @model_validator(mode="after")
    def _needs(self) -> MailgunMessageParameters:
        if self.operation == "send":
            if not self.sender.strip():
                raise ValueError("send needs the From address")
            if not self.to.strip():
                raise ValueError("send needs at least one To address")
            if not self.text.strip() and not self.html.strip():
                raise ValueError("send needs a text or an HTML body")
        return self


class MailgunMessageNode(Node):
    type = "mailgun.message"
    display_name = "Mailgun Message"
    category = Category.INTEGRATION
    description = "Sends one email per item through Mailgun, or outputs the events of the sending domain."
    icon = "mail"
    Parameters = MailgunMessageParameters
    credentials = (CredentialRequirement("mailgun_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with MailgunClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: MailgunMessageParameters = ctx.params(index)
                if params.operation == "send":
                    produced.append(Item(_send(ctx, client, params, item, index), paired_item=index))
                else:
                    produced.extend(Item(event, paired_item=index) for event in _events(client, params, index))
        return [produced]


def _addresses(text: str, label: str, index: int) -> list[str]:
    """Each address of a comma-separated list, formatted for a header (``Ada <ada@example.com>``)."""
    try:
        return [formataddr(pair) for pair in parse_addresses(text)]
    except ValueError as err:
        raise NodeError(
            f"item {index}: {label}: {err}",
            description=f"Fix the {label} field (or what its expression produced); separate addresses with commas.",
            item_index=index,
        ) from err


def _send(
    ctx: Context, client: MailgunClient, params: MailgunMessageParameters, item: Item, index: int
) -> dict[str, Any]:
    senders = _addresses(params.sender, "From", index)
    if len(senders) != 1:
        raise NodeError(
            f"item {index}: From must be one address, not {len(senders)}",
            description=f"Put a single address of {client.domain} in From.",
            item_index=index,
        )
    to = _addresses(params.to, "To", index)
    form: dict[str, Any] = {"from": senders[0], "to": to}
    for key, label, text in (("cc", "Cc", params.cc), ("bcc", "Bcc", params.bcc)):
        if text.strip():
            form[key] = _addresses(text, label, index)
    if params.reply_to.strip():
        # A header field: one value, the addresses separated by commas.
        form["h:Reply-To"] = ", ".join(_addresses(params.reply_to, "Reply to", index))
    if params.subject:
        form["subject"] = params.subject
    if params.text.strip():
        form["text"] = params.text
    if params.html.strip():
        form["html"] = params.html
    if params.tags:
        form["o:tag"] = params.tags
    if params.test_mode:
        form["o:testmode"] = "yes"
    files: list[FileField] = []
    for prop in (name.strip() for name in params.attachments.split(",")):
        if prop:
            data, reference = read_input(ctx, item, prop, index)
            mime_type = str(reference.get("mime_type") or "application/octet-stream")
            files.append(("attachment", (str(reference.get("file_name") or prop), data, mime_type)))
    answer = client.request(
        "POST",
        f"/v3/{quote(client.domain, safe='')}/messages",
        f"sending the email to {', '.join(to)}",
        item_index=index,
        data=form,
        files=files,
    )
    return {
        "id": answer.get("id"),
        "message": answer.get("message"),
        "from": senders[0],
        "to": to,
        "subject": params.subject,
        "attachments": [upload[1][0] for upload in files],
    }


def _events(client: MailgunClient, params: MailgunMessageParameters, index: int) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"ascending": "yes" if params.ascending else "no"}
    if params.event != "any":
        query["event"] = params.event
    for key, value in (("recipient", params.recipient), ("begin", params.begin), ("end", params.end)):
        if value.strip():
            query[key] = value.strip()
    return client.paginate(
        f"/v3/{quote(client.domain, safe='')}/events",
        f"reading the events of {client.domain}",
        limit=None if params.return_all else params.limit,
        page_size=MAX_EVENTS_PAGE,
        item_index=index,
        params=query,
    )
