"""Approval requests by email (SMTP): an HTML and a text part, with the approver's personal link.

The link opens a confirmation page; nothing in the mail decides by itself, so
mail scanners that fetch links cannot approve anything.
"""

from __future__ import annotations

import html
import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import Any, ClassVar

from hitl_studio.channels.base import REMINDER_PREFIX, Channel, ChannelError
from hitl_studio.models.approvals import Approval, EventSource
from hitl_studio.models.users import User
from hitl_studio.settings import Settings, SmtpSettings, get_settings

TIMEOUT_SECONDS = 20.0
MAX_SUMMARY_CHARS = 3000


def action_summary(approval: Approval, limit: int = MAX_SUMMARY_CHARS) -> str:
    """The action type and data as indented JSON, cut at ``limit`` characters."""
    if not approval.action_data and not approval.action_type:
        return ""
    text = json.dumps(approval.action_data or {}, indent=2, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) > limit:
        text = text[:limit] + "\n… (shortened; the full data is in the studio)"
    return f"{approval.action_type}\n{text}" if approval.action_type else text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def build_message(
    approval: Approval, recipient: str, link: str, sender: str, *, reminder: bool = False
) -> EmailMessage:
    """The mail for one approver (exposed for tests and previews); ``reminder`` marks a reminder."""
    title = _one_line(approval.title)
    summary = action_summary(approval)
    expires = approval.expires_at.strftime("%Y-%m-%d %H:%M UTC") if approval.expires_at else None
    prefix = REMINDER_PREFIX if reminder else ""
    message = EmailMessage()
    message["Subject"] = f"{prefix}Approval needed: {title}"
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=(parseaddr(sender)[1].rpartition("@")[2] or "hitl.local"))
    message["Auto-Submitted"] = "auto-generated"
    opening = f"{prefix}your approval is still needed: {title}" if reminder else f"Your approval is needed: {title}"
    lines = [opening, ""]
    if approval.description:
        lines += [approval.description, ""]
    if summary:
        lines += ["What will happen:", summary, ""]
    if expires:
        lines += [f"Please decide before {expires}.", ""]
    lines += [
        "Open this personal link to review the request and approve or reject it:",
        link,
        "",
        "The link is for you only and works once. Opening it does not decide anything.",
    ]
    message.set_content("\n".join(lines))
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><body style='font-family:sans-serif;line-height:1.5;max-width:640px'>",
        f"<h1 style='font-size:1.3em'>{e(prefix)}Approval needed: {e(title)}</h1>",
    ]
    if approval.description:
        parts.append(f"<p style='white-space:pre-wrap'>{e(approval.description)}</p>")
    if summary:
        parts.append("<h2 style='font-size:1.1em'>What will happen</h2>")
        parts.append(f"<pre style='background:#f4f4f4;padding:8px;overflow:auto'>{e(summary)}</pre>")
    if expires:
        parts.append(f"<p>Please decide before <strong>{e(expires)}</strong>.</p>")
    parts.append(
        f"<p><a href='{e(link, quote=True)}' style='display:inline-block;padding:10px 16px;background:#1d4ed8;"
        "color:#fff;text-decoration:none;border-radius:4px'>Review and decide</a></p>"
        "<p style='color:#555;font-size:0.9em'>This link is for you only and works once. "
        "Opening it does not decide anything: you confirm on the page.</p></body></html>"
    )
    message.add_alternative("".join(parts), subtype="html")
    return message


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    host = smtp.host or ""
    where = f"{host}:{smtp.port}"
    context = ssl.create_default_context()
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, smtp.port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(host, smtp.port, timeout=TIMEOUT_SECONDS)
    except (OSError, smtplib.SMTPException) as err:
        raise ChannelError(f"cannot connect to the SMTP server {where}: {err}") from err
    try:
        if smtp.security == "starttls":
            client.starttls(context=context)
    except (OSError, smtplib.SMTPException) as err:
        client.close()
        raise ChannelError(f"TLS with the SMTP server {where} failed: {err}") from err
    try:
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
    except (OSError, smtplib.SMTPException) as err:
        client.close()
        raise ChannelError(f"logging in to the SMTP server {where} as {smtp.username!r} failed: {err}") from err
    return client


class EmailChannel(Channel):
    name: ClassVar[str] = "email"
    source: ClassVar[EventSource] = EventSource.EMAIL

    def configured(self, settings: Settings) -> bool:
        return settings.smtp.configured

    def address(self, user: User) -> str | None:
        return user.email or None

    def send(self, approval: Approval, recipient: str, link: str, *, reminder: bool = False) -> dict[str, Any]:
        smtp = get_settings().smtp
        if not smtp.configured:
            raise ChannelError("email is not configured: set SMTP_HOST")
        message = build_message(approval, recipient, link, smtp.sender, reminder=reminder)
        client = _connect(smtp)
        try:
            refused = client.send_message(message, from_addr=parseaddr(smtp.sender)[1] or None, to_addrs=[recipient])
        except (OSError, smtplib.SMTPException) as err:
            client.close()
            raise ChannelError(f"the SMTP server {smtp.host}:{smtp.port} did not accept the mail: {err}") from err
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
        if refused:
            raise ChannelError(f"the SMTP server refused {recipient}: {refused}")
        return {"message_id": message["Message-ID"]}
