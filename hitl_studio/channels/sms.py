"""Approval requests by SMS through a Twilio-compatible ``Messages`` endpoint (configurable base URL).

The text is the request's title and the approver's personal link to the
confirmation page.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from hitl_studio.channels.base import REMINDER_PREFIX, Channel, ChannelError
from hitl_studio.models.approvals import Approval, EventSource
from hitl_studio.models.users import User
from hitl_studio.settings import Settings, get_settings

TIMEOUT_SECONDS = 15.0
MAX_TITLE_CHARS = 80
ERROR_BODY_CHARS = 300


def sms_body(approval: Approval, link: str, *, reminder: bool = False) -> str:
    title = " ".join(approval.title.split())
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1] + "…"
    prefix = REMINDER_PREFIX if reminder else ""
    return f"{prefix}Approval needed: {title}\nReview and decide: {link}"


def mask_phone(phone: str) -> str:
    """``+15551234567`` as ``+1••••••4567`` for the timeline."""
    keep_start = 2 if phone.startswith("+") else 0
    if len(phone) <= keep_start + 4:
        return phone
    return phone[:keep_start] + "•" * (len(phone) - keep_start - 4) + phone[-4:]


class SmsChannel(Channel):
    name: ClassVar[str] = "sms"
    source: ClassVar[EventSource] = EventSource.SMS

    def configured(self, settings: Settings) -> bool:
        return settings.sms.configured

    def address(self, user: User) -> str | None:
        return (user.phone or "").strip() or None

    def describe_recipient(self, recipient: str) -> str:
        return mask_phone(recipient)

    def send(self, approval: Approval, recipient: str, link: str, *, reminder: bool = False) -> dict[str, Any]:
        sms = get_settings().sms
        if not sms.configured:
            raise ChannelError("SMS is not configured: set SMS_API_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM")
        sid = sms.account_sid or ""
        url = f"{(sms.api_url or '').rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        form = {"To": recipient, "From": sms.sender or "", "Body": sms_body(approval, link, reminder=reminder)}
        try:
            response = httpx.post(url, data=form, auth=(sid, sms.auth_token or ""), timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError as err:
            raise ChannelError(f"the SMS provider at {sms.api_url} did not answer: {err}") from err
        if response.status_code >= 300:
            raise ChannelError(f"the SMS provider answered {response.status_code}: {response.text[:ERROR_BODY_CHARS]}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        meta: dict[str, Any] = {"provider_status": response.status_code}
        if isinstance(answer, dict):
            meta.update({key: answer[key] for key in ("sid", "status") if key in answer})
        return meta
