"""AWS SES: send email (text and HTML, from a template, or raw with attachments) and manage email templates.

SES's v1 API (``ses``): its SendEmail, SendTemplatedEmail and SendRawEmail cover every kind of sending, and its
template calls are what local AWS stand-ins implement completely.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any, Literal, TypeVar

from pydantic import field_validator, model_validator

from nodes.aws._convert import advised, json_safe
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.email._mime import attach_files, refuse_line_breaks, set_body
from nodes.email.credentials import parse_addresses
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal[
    "send",
    "send_template",
    "send_raw",
    "create_template",
    "get_template",
    "list_templates",
    "update_template",
    "delete_template",
]
SENDS = ("send", "send_template", "send_raw")
WITH_BODY = ("send", "send_raw")
WITH_TEMPLATE = ("send_template", "create_template", "get_template", "update_template", "delete_template")
TEMPLATE_WRITES = ("create_template", "update_template")
MAX_PAGE = 100
"""The most templates SES lists per call."""
T = TypeVar("T")
HINTS = {
    "MessageRejected": "Verify the sender's address or domain in SES, in the credential's region (and, while the "
    "account is in the SES sandbox, every recipient too).",
    "MailFromDomainNotVerifiedException": "Verify the MAIL FROM domain of the sender's identity in SES.",
    "TemplateDoesNotExist": "Check the template's name and the credential's region (list_templates shows them).",
    "AlreadyExists": "A template with this name exists: use update_template, or choose another name.",
    "ConfigurationSetDoesNotExist": "Check the configuration set's name, or leave it empty.",
    "AccountSendingPausedException": "SES paused sending for the account: see its reputation dashboard.",
    "InvalidParameterValue": "Check the addresses and the email's fields.",
}


def _json_object(value: Any) -> str:
    """Template data as SES takes it: the JSON text of an object.

    Raises:
        ValueError: It is neither an object nor the JSON text of one.
    """
    if isinstance(value, str):
        try:
            parsed = json.loads(value or "{}")
        except ValueError as err:
            raise ValueError(f"template data is not JSON ({err.args[0]})") from err
    else:
        parsed = value
    if not isinstance(parsed, dict):
        raise ValueError('template data must be an object such as {"name": "Ada"}')
    return json.dumps(parsed, ensure_ascii=False)


class SesParameters(Parameters):
    operation: Operation = param(
        "send",
        title="Operation",
        description="send an email per item; send_template: from an SES template; send_raw: with attachments; "
        "create_template, get_template, list_templates, update_template or delete_template.",
        no_expressions=True,
    )
    sender: str = param(
        "",
        title="From",
        description="An address verified in SES, or one of a verified domain; a name may go first: "
        "Acme <noreply@acme.com>.",
        show_if={"operation": list(SENDS)},
    )
    to: str = param(
        "",
        title="To",
        description="Comma-separated addresses; a name may go first: Ada <ada@example.com>.",
        show_if={"operation": list(SENDS)},
    )
    cc: str = param("", title="Cc", description="Comma-separated addresses.", show_if={"operation": list(SENDS)})
    bcc: str = param(
        "",
        title="Bcc",
        description="Comma-separated addresses; they receive it without being shown.",
        show_if={"operation": list(SENDS)},
    )
    reply_to: str = param(
        "",
        title="Reply to",
        description="Comma-separated addresses replies go to.",
        show_if={"operation": list(SENDS)},
        advanced=True,
    )
    subject: str = param("", title="Subject", show_if={"operation": list(WITH_BODY)})
    text: str = param(
        "", title="Text", description="The plain-text body.", widget="textarea", show_if={"operation": list(WITH_BODY)}
    )
    html: str = param(
        "",
        title="HTML",
        description="An HTML body; mail programs show it instead of the text, which stays as the fallback.",
        widget="textarea",
        show_if={"operation": list(WITH_BODY)},
    )
    attachments: str = param(
        "",
        title="Attachments",
        description="Comma-separated names of the item's binary properties to attach, e.g. data, invoice.",
        placeholder="data",
        show_if={"operation": ["send_raw"]},
    )
    template_name: str = param("", title="Template", placeholder="welcome", show_if={"operation": list(WITH_TEMPLATE)})
    template_data: Any = param(
        default_factory=dict,
        title="Template data",
        description='The values of the template\'s placeholders: an object, or its JSON, e.g. {"name": "Ada"}.',
        widget="json",
        show_if={"operation": ["send_template"]},
        validate_default=True,
    )
    template_subject: str = param(
        "",
        title="Template subject",
        description="SES fills in {{placeholders}} from the template data when sending; used as typed here.",
        show_if={"operation": list(TEMPLATE_WRITES)},
        no_expressions=True,
    )
    template_text: str = param(
        "",
        title="Template text",
        description="The plain-text part, with {{placeholders}}.",
        widget="textarea",
        show_if={"operation": list(TEMPLATE_WRITES)},
        no_expressions=True,
    )
    template_html: str = param(
        "",
        title="Template HTML",
        description="The HTML part, with {{placeholders}}.",
        widget="textarea",
        show_if={"operation": list(TEMPLATE_WRITES)},
        no_expressions=True,
    )
    configuration_set: str = param(
        "",
        title="Configuration set",
        description="For SES's event publishing (deliveries, bounces, opens); empty: the account's default.",
        show_if={"operation": list(SENDS)},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' templates.",
        show_if={"operation": ["list_templates"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many templates per item.",
        show_if={"operation": ["list_templates"], "return_all": [False]},
        ge=1,
    )

    @field_validator("template_data")
    @classmethod
    def _data(cls, value: Any) -> str:
        return _json_object(value)

    @model_validator(mode="after")
    def _needs(self) -> SesParameters:
        if self.operation in SENDS:
            if not self.sender.strip():
                raise ValueError(f"{self.operation} needs a From address")
            if not (self.to.strip() or self.cc.strip() or self.bcc.strip()):
                raise ValueError(f"{self.operation} needs a recipient in To, Cc or Bcc")
        if self.operation == "send" and not (self.text.strip() or self.html.strip()):
            raise ValueError("send needs a text or an HTML body")
        if self.operation in WITH_TEMPLATE and not self.template_name.strip():
            raise ValueError(f"{self.operation} needs the template's name")
        if self.operation in TEMPLATE_WRITES and not self.template_subject.strip():
            raise ValueError(f"{self.operation} needs the template's subject")
        return self


class SesNode(Node):
    type = "aws.ses"
    display_name = "AWS SES"
    category = Category.INTEGRATION
    description = (
        "Sends email through Amazon SES, from text, HTML, templates or with attachments, and manages templates."
    )
    icon = "send"
    Parameters = SesParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        # Every item's parameters are checked before the first email goes, so a bad item 5 sends nothing.
        checked: list[SesParameters] = [ctx.params(index) for index in range(len(items))]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "ses", timeout)
        produced: list[Item] = []
        for index, (item, params) in enumerate(zip(items, checked, strict=True)):
            produced.extend(
                Item(json_safe(entry), paired_item=index)
                for entry in _Ses(client, fields, index).run(ctx, params, item)
            )
        return [produced]


class _Envelope:
    """The parsed addresses of one email."""

    def __init__(self, params: SesParameters, index: int) -> None:
        sender = _addresses(params.sender, "From", index)
        if len(sender) != 1:
            raise NodeError(
                f"item {index}: From must be one address", description="Give a single sender.", item_index=index
            )
        self.sender = formataddr(sender[0])
        self.to = [formataddr(pair) for pair in _addresses(params.to, "To", index)]
        self.cc = [formataddr(pair) for pair in _addresses(params.cc, "Cc", index)]
        self.bcc = [formataddr(pair) for pair in _addresses(params.bcc, "Bcc", index)]
        self.reply_to = [formataddr(pair) for pair in _addresses(params.reply_to, "Reply to", index)]

    def destination(self) -> dict[str, list[str]]:
        fields = {"ToAddresses": self.to, "CcAddresses": self.cc, "BccAddresses": self.bcc}
        return {key: value for key, value in fields.items() if value}

    def sent(self, answer: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": answer.get("MessageId"),
            "from": self.sender,
            "to": self.to,
            "cc": self.cc,
            "bcc": self.bcc,
        }


class _Ses:
    """One item's requests."""

    def __init__(self, client: Any, fields: AwsFields, index: int) -> None:
        self.client = client
        self.fields = fields
        self.index = index

    def _call(self, action: str, request: Callable[..., T], **kwargs: Any) -> T:
        """:func:`call`, with SES's own advice for SES's error codes."""
        try:
            return call(self.fields, action, request, item_index=self.index, **kwargs)
        except NodeError as err:
            raise advised(err, HINTS) from err.__cause__

    def run(self, ctx: Context, params: SesParameters, item: Item) -> list[dict[str, Any]]:
        name = params.template_name.strip()
        options = {"ConfigurationSetName": params.configuration_set.strip()} if params.configuration_set.strip() else {}
        match params.operation:
            case "send":
                envelope = _Envelope(params, self.index)
                body = {"Text": {"Data": params.text, "Charset": "UTF-8"}} if params.text.strip() else {}
                if params.html.strip():
                    body["Html"] = {"Data": params.html, "Charset": "UTF-8"}
                if envelope.reply_to:
                    options["ReplyToAddresses"] = envelope.reply_to
                answer = self._call(
                    "sending the email",
                    self.client.send_email,
                    Source=envelope.sender,
                    Destination=envelope.destination(),
                    Message={"Subject": {"Data": params.subject, "Charset": "UTF-8"}, "Body": body},
                    **options,
                )
                return [envelope.sent(answer)]
            case "send_template":
                envelope = _Envelope(params, self.index)
                if envelope.reply_to:
                    options["ReplyToAddresses"] = envelope.reply_to
                answer = self._call(
                    f"sending the email of template {name!r}",
                    self.client.send_templated_email,
                    Source=envelope.sender,
                    Destination=envelope.destination(),
                    Template=name,
                    TemplateData=params.template_data,
                    **options,
                )
                return [{**envelope.sent(answer), "template_name": name}]
            case "send_raw":
                envelope = _Envelope(params, self.index)
                message = _mime(ctx, params, envelope, item, self.index)
                answer = self._call(
                    "sending the email",
                    self.client.send_raw_email,
                    Source=envelope.sender,
                    Destinations=[*envelope.to, *envelope.cc, *envelope.bcc],
                    RawMessage={"Data": message.as_bytes()},
                    **options,
                )
                return [{**envelope.sent(answer), "attachments": len(list(message.iter_attachments()))}]
            case "create_template" | "update_template":
                template = {
                    "TemplateName": name,
                    "SubjectPart": params.template_subject,
                    "TextPart": params.template_text,
                    "HtmlPart": params.template_html,
                }
                creating = params.operation == "create_template"
                request = self.client.create_template if creating else self.client.update_template
                self._call(f"{'creating' if creating else 'updating'} template {name!r}", request, Template=template)
                return [{"template_name": name, "created" if creating else "updated": True}]
            case "get_template":
                answer = self._call(f"reading template {name!r}", self.client.get_template, TemplateName=name)
                found = answer.get("Template", {})
                return [
                    {
                        "template_name": found.get("TemplateName", name),
                        "subject": found.get("SubjectPart", ""),
                        "text": found.get("TextPart", ""),
                        "html": found.get("HtmlPart", ""),
                    }
                ]
            case "list_templates":
                return self._list(None if params.return_all else params.limit)
            case "delete_template":
                self._call(f"deleting template {name!r}", self.client.delete_template, TemplateName=name)
                return [{"template_name": name, "deleted": True}]
        raise AssertionError(f"unhandled operation {params.operation!r}")

    def _list(self, limit: int | None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while limit is None or len(found) < limit:
            paging: dict[str, Any] = {"NextToken": token} if token else {}
            size = MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found))
            answer = self._call("listing the templates", self.client.list_templates, MaxItems=size, **paging)
            found.extend(
                {"template_name": entry.get("Name"), "created": entry.get("CreatedTimestamp")}
                for entry in answer.get("TemplatesMetadata", [])
            )
            token = answer.get("NextToken")
            if not token:
                break
        return found if limit is None else found[:limit]


def _addresses(text: str, label: str, index: int) -> list[tuple[str, str]]:
    try:
        return parse_addresses(text)
    except ValueError as err:
        raise NodeError(
            f"item {index}: {label}: {err}",
            description=f"Fix the {label} field (or what its expression produced); separate addresses with commas.",
            item_index=index,
        ) from err


def _mime(ctx: Context, params: SesParameters, envelope: _Envelope, item: Item, index: int) -> EmailMessage:
    """The raw email: headers, the text and HTML bodies, and the item's files as attachments (no Bcc header)."""
    refuse_line_breaks(index, subject=params.subject)
    message = EmailMessage()
    message["From"] = envelope.sender
    for header, addresses in (("To", envelope.to), ("Cc", envelope.cc), ("Reply-To", envelope.reply_to)):
        if addresses:
            message[header] = ", ".join(addresses)
    message["Subject"] = params.subject
    set_body(message, params.text, params.html)
    attach_files(ctx, message, item, params.attachments, index)
    return message
