"""SendGrid Mail: send one email per item through the v3 Mail Send API, with a dynamic template or content."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import field_validator, model_validator

from nodes.email.credentials import parse_addresses
from nodes.files._common import read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param
from nodes.sendgrid._client import SendgridClient

MAX_CATEGORIES = 10
"""SendGrid takes at most 10 categories per email."""


class SendgridMailParameters(Parameters):
    sender: str = param(
        title="From",
        description="A verified sender of the SendGrid account; a name may go first: Shop <shop@example.com>.",
        placeholder="Shop <shop@example.com>",
    )
    to: str = param(
        title="To",
        description="Comma-separated addresses; a name may go first: Ada <ada@example.com>.",
        placeholder="ada@example.com, grace@example.com",
    )
    cc: str = param("", title="Cc", description="Comma-separated addresses.")
    bcc: str = param("", title="Bcc", description="Comma-separated addresses; they receive it without being shown.")
    use_template: bool = param(
        False,
        title="Use a dynamic template",
        description="Build the email from a dynamic template (its subject and content) filled with template data.",
        no_expressions=True,
    )
    subject: str = param("", title="Subject", show_if={"use_template": [False]})
    text: str = param(
        "", title="Text", description="The plain-text body.", widget="textarea", show_if={"use_template": [False]}
    )
    html: str = param(
        "",
        title="HTML",
        description="An HTML body; mail programs show it instead of the text, which stays as the fallback.",
        widget="textarea",
        show_if={"use_template": [False]},
    )
    template_id: str = param(
        "",
        title="Template id",
        description="The dynamic template's id (Email API → Dynamic Templates), d- then 32 characters.",
        placeholder="d-0123456789abcdef0123456789abcdef",
        show_if={"use_template": [True]},
    )
    template_data: dict[str, Any] | str | None = param(
        None,
        title="Template data",
        description='The values the template\'s {{handlebars}} use, as JSON: {"first_name": "Ada"}.',
        widget="json",
        show_if={"use_template": [True]},
    )
    attachments: str = param(
        "",
        title="Attachments",
        description="Comma-separated names of the item's binary properties to attach, e.g. data, invoice.",
        placeholder="data",
    )
    categories: list[str] = param(
        default_factory=list,
        title="Categories",
        description="Up to 10 names to group the email's statistics by, separated by commas.",
        advanced=True,
    )
    reply_to: str = param("", title="Reply to", description="Comma-separated addresses replies go to.", advanced=True)
    send_at: str = param(
        "",
        title="Send at",
        description="Schedule the email, up to 72 hours ahead: an ISO date and time (the workflow's time zone "
        "when it has none) or a Unix timestamp; empty: now.",
        placeholder="2026-01-31T09:00:00",
        advanced=True,
    )
    sandbox: bool = param(
        False,
        title="Sandbox mode",
        description="SendGrid checks the request but sends nothing: for trying a workflow out.",
        advanced=True,
    )

    @field_validator("categories", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(name).strip() for name in value if str(name).strip()]
        return value

    @field_validator("categories")
    @classmethod
    def _at_most_ten(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_CATEGORIES:
            raise ValueError(f"SendGrid takes at most {MAX_CATEGORIES} categories, not {len(value)}")
        return value

    @field_validator("send_at")
    @classmethod
    def _when(cls, value: str) -> str:
        value = value.strip()
        if value and not value.isdigit():
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"send at: {value!r} is neither an ISO date and time nor a Unix timestamp") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> SendgridMailParameters:
        self.template_data = _template_data(self.template_data)
        if not self.sender.strip():
            raise ValueError("the From address is required")
        if not self.to.strip():
            raise ValueError("at least one To address is required")
        if self.use_template and not self.template_id.strip():
            raise ValueError("a dynamic template needs its template id")
        if not self.use_template:
            if not self.subject.strip():
                raise ValueError("the email needs a subject (or use a dynamic template)")
            if not self.text.strip() and not self.html.strip():
                raise ValueError("the email needs a text or an HTML body (or use a dynamic template)")
        return self


def _template_data(value: dict[str, Any] | str | None) -> dict[str, Any] | None:
    """Expressions and the JSON widget may hand the data over as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the template data is not valid JSON ({err})") from err
    if value is not None and not isinstance(value, dict):
        raise ValueError("the template data must be a JSON object")
    return value


class SendgridMailNode(Node):
    type = "sendgrid.mail"
    display_name = "SendGrid Mail"
    category = Category.INTEGRATION
    description = "Sends one email per item through SendGrid, from content or a dynamic template."
    icon = "send"
    Parameters = SendgridMailParameters
    credentials = (CredentialRequirement("sendgrid_api"),)

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with SendgridClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: SendgridMailParameters = ctx.params(index)
                produced.append(Item(_send(ctx, client, params, item, index), paired_item=index))
        return [produced]


def _addresses(text: str, label: str, index: int) -> list[dict[str, str]]:
    try:
        parsed = parse_addresses(text)
    except ValueError as err:
        raise NodeError(
            f"item {index}: {label}: {err}",
            description=f"Fix the {label} field (or what its expression produced); separate addresses with commas.",
            item_index=index,
        ) from err
    return [{"email": address, "name": name} if name else {"email": address} for name, address in parsed]


def _unix(value: str, timezone: str) -> int:
    """A Unix timestamp as is, or an ISO date and time, read in the workflow's time zone when it names none."""
    if value.isdigit():
        return int(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return int(moment.timestamp())


def _attachments(ctx: Context, item: Item, names: str, index: int) -> list[dict[str, str]]:
    attached = []
    for prop in (name.strip() for name in names.split(",")):
        if not prop:
            continue
        data, reference = read_input(ctx, item, prop, index)
        attached.append(
            {
                "content": base64.b64encode(data).decode("ascii"),
                "filename": str(reference.get("file_name") or prop),
                "type": str(reference.get("mime_type") or "application/octet-stream"),
                "disposition": "attachment",
            }
        )
    return attached


def _send(
    ctx: Context, client: SendgridClient, params: SendgridMailParameters, item: Item, index: int
) -> dict[str, Any]:
    senders = _addresses(params.sender, "From", index)
    if len(senders) != 1:
        raise NodeError(
            f"item {index}: From must be one address, not {len(senders)}",
            description="Put a single verified sender in From.",
            item_index=index,
        )
    personalization: dict[str, Any] = {"to": _addresses(params.to, "To", index)}
    for key, text in (("cc", params.cc), ("bcc", params.bcc)):
        if text.strip():
            personalization[key] = _addresses(text, key.capitalize(), index)
    body: dict[str, Any] = {"personalizations": [personalization], "from": senders[0]}
    if params.use_template:
        body["template_id"] = params.template_id.strip()
        if params.template_data:
            personalization["dynamic_template_data"] = params.template_data
    else:
        body["subject"] = params.subject
        # SendGrid wants text/plain before text/html.
        body["content"] = [
            {"type": kind, "value": value}
            for kind, value in (("text/plain", params.text), ("text/html", params.html))
            if value.strip()
        ]
    if params.reply_to.strip():
        replies = _addresses(params.reply_to, "Reply to", index)
        if len(replies) == 1:
            body["reply_to"] = replies[0]
        else:
            body["reply_to_list"] = replies
    attachments = _attachments(ctx, item, params.attachments, index)
    if attachments:
        body["attachments"] = attachments
    if params.categories:
        body["categories"] = params.categories
    if params.send_at:
        body["send_at"] = _unix(params.send_at, ctx.timezone)
    if params.sandbox:
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
    recipients = ", ".join(entry["email"] for entry in personalization["to"])
    response = client.send("POST", "/v3/mail/send", f"sending the email to {recipients}", item_index=index, json=body)
    assert response is not None
    result: dict[str, Any] = {
        "accepted": True,
        "message_id": response.headers.get("x-message-id"),
        "from": senders[0]["email"],
        "to": [entry["email"] for entry in personalization["to"]],
        "subject": None if params.use_template else params.subject,
        "attachments": [entry["filename"] for entry in attachments],
    }
    if params.use_template:
        result["template_id"] = body["template_id"]
    if "send_at" in body:
        result["send_at"] = body["send_at"]
    return result
