"""Send Email: one email per item through the SMTP server of the selected credential."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from nodes.email._mime import attach_files, refuse_line_breaks, set_body
from nodes.email.credentials import DEFAULT_TIMEOUT_SECONDS, SmtpCredential, open_smtp, parse_addresses
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


class SendEmailParameters(Parameters):
    to: str = param(
        title="To",
        description="Comma-separated addresses; a name may go first: Ada <ada@example.com>.",
        placeholder="ada@example.com, grace@example.com",
        min_length=1,
    )
    cc: str = param("", title="Cc", description="Comma-separated addresses.")
    bcc: str = param("", title="Bcc", description="Comma-separated addresses; they receive it without being shown.")
    subject: str = param("", title="Subject")
    text: str = param("", title="Text", description="The plain-text body.", widget="textarea")
    html: str = param(
        "",
        title="HTML",
        description="An HTML body; mail programs show it instead of the text, which stays as the fallback.",
        # A textarea, not a code editor: code widgets take no expressions, and bodies need {{ $json... }}.
        widget="textarea",
    )
    attachments: str = param(
        "",
        title="Attachments",
        description="Comma-separated names of the item's binary properties to attach, e.g. data, invoice.",
        placeholder="data",
    )
    reply_to: str = param("", title="Reply to", description="Comma-separated addresses replies go to.", advanced=True)
    sender: str = param(
        "",
        title="From",
        description="Overrides the credential's sender (the server must allow it).",
        advanced=True,
    )


@dataclass
class _Envelope:
    message: EmailMessage
    sender: str
    recipients: list[str]


def _addresses(text: str, label: str, index: int) -> list[tuple[str, str]]:
    try:
        return parse_addresses(text)
    except ValueError as err:
        raise NodeError(
            f"item {index}: {label}: {err}",
            description=f"Fix the {label} field (or what its expression produced); separate addresses with commas.",
            item_index=index,
        ) from err


def _header(addresses: list[tuple[str, str]]) -> str:
    return ", ".join(formataddr(pair) for pair in addresses)


class SendEmailNode(Node):
    type = "email.send"
    display_name = "Send Email"
    category = Category.ACTION
    description = "Sends one email per item through an SMTP server, with text, HTML and attachments."
    icon = "mail"
    Parameters = SendEmailParameters
    credentials = (CredentialRequirement("smtp"),)
    subtitle = "subject"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        fields = SmtpCredential.parse(ctx.credential("smtp"))
        # Every email is built before the first is sent, so a bad address in item 5 sends nothing.
        envelopes = [self._build(ctx, item, index, fields.sender) for index, item in enumerate(items)]
        if not envelopes:
            return [[]]
        remaining = ctx.remaining_seconds()
        timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, DEFAULT_TIMEOUT_SECONDS), 1.0)
        client = open_smtp(fields, timeout)
        produced: list[Item] = []
        try:
            for index, envelope in enumerate(envelopes):
                refused = self._send(client, envelope, index, f"{fields.host}:{fields.port}")
                accepted = [address for address in envelope.recipients if address not in refused]
                data = {"message_id": envelope.message["Message-ID"], "accepted": accepted, "rejected": refused}
                produced.append(Item(data, paired_item=index))
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return [produced]

    @staticmethod
    def _build(ctx: Context, item: Item, index: int, default_sender: str) -> _Envelope:
        params: SendEmailParameters = ctx.params(index)
        to = _addresses(params.to, "To", index)
        if not to:
            raise NodeError(
                f"item {index}: To has no address", description="Give at least one recipient.", item_index=index
            )
        cc = _addresses(params.cc, "Cc", index)
        bcc = _addresses(params.bcc, "Bcc", index)
        reply_to = _addresses(params.reply_to, "Reply to", index)
        sender = _addresses(params.sender or default_sender, "From", index)
        if len(sender) != 1:
            raise NodeError(
                f"item {index}: From must be one address", description="Give a single sender.", item_index=index
            )
        refuse_line_breaks(index, subject=params.subject)

        message = EmailMessage()
        message["From"] = _header(sender)
        message["To"] = _header(to)
        if cc:
            message["Cc"] = _header(cc)
        if reply_to:
            message["Reply-To"] = _header(reply_to)
        message["Subject"] = params.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=sender[0][1].rpartition("@")[2])
        set_body(message, params.text, params.html)
        attach_files(ctx, message, item, params.attachments, index)
        recipients = [address for _, address in (*to, *cc, *bcc)]
        return _Envelope(message, sender[0][1], list(dict.fromkeys(recipients)))

    @staticmethod
    def _send(client: smtplib.SMTP, envelope: _Envelope, index: int, where: str) -> dict[str, str]:
        """Send one email; returns the recipients the server refused, with its reply."""
        try:
            refused = client.send_message(envelope.message, envelope.sender, envelope.recipients)
        except smtplib.SMTPRecipientsRefused as err:
            replies = "; ".join(f"{address}: {_text(reply)}" for address, reply in err.recipients.items())
            raise NodeError(
                f"item {index}: the SMTP server {where} refused every recipient ({replies})",
                description="Check the addresses, and that the server relays mail for this sender.",
                item_index=index,
            ) from err
        except smtplib.SMTPSenderRefused as err:
            raise NodeError(
                f"item {index}: the SMTP server {where} refused the sender {envelope.sender}: {_text(err)}",
                description="Use a From address the credential's account may send as.",
                item_index=index,
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            raise NodeError(
                f"item {index}: sending through {where} failed: {err}",
                description="Check the server and try again; earlier items were sent.",
                item_index=index,
            ) from err
        return {address: _text(reply) for address, reply in refused.items()}


def _text(reply: object) -> str:
    """An SMTP reply (``(code, b"text")`` or an exception carrying one) as ``code text``."""
    if isinstance(reply, smtplib.SMTPResponseException):
        reply = (reply.smtp_code, reply.smtp_error)
    if isinstance(reply, tuple) and len(reply) == 2:
        code, text = reply
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{code} {text}".strip()
    return str(reply)
