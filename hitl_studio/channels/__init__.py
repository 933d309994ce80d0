"""Approval channels: one module per way of reaching approvers, behind :class:`Channel`.

``studio`` (the inbox) needs no delivery and is not listed; Slack comes later.
"""

from __future__ import annotations

from hitl_studio.channels.base import Channel, ChannelError, approver_users
from hitl_studio.channels.email import EmailChannel
from hitl_studio.channels.slack import SlackChannel
from hitl_studio.channels.sms import SmsChannel

CHANNELS: dict[str, Channel] = {"slack": SlackChannel(), "email": EmailChannel(), "sms": SmsChannel()}
"""The channels that deliver, by the name used in ``approval.channels``."""

__all__ = ["CHANNELS", "Channel", "ChannelError", "EmailChannel", "SlackChannel", "SmsChannel", "approver_users"]
