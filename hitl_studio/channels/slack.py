"""Approval requests as Slack direct messages with Block Kit Approve / Reject buttons.

Each approver with a ``slack_user_id`` gets a DM from the studio's bot
(``chat.postMessage`` with ``channel=<user id>``). The buttons' ``value`` is the
delivery's signed link token (:mod:`hitl_studio.channels.links`), so a click is
tied to one request and one delivery; Slack's own request signature (checked by
:mod:`hitl_studio.api.routes.slack`) says who clicked. The message's channel and
``ts`` are kept in ``delivery.meta`` so :func:`show_decided` can later replace
the buttons with the outcome ("✅ Approved by …"). A reminder is a new DM whose
channel and ``ts`` the reminder job adds to ``delivery.meta["reminder_messages"]``;
those are updated with the outcome too.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import col, select

from hitl_studio.channels.base import REMINDER_PREFIX, Channel, ChannelError
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus, Delivery, DeliveryStatus, EventSource
from hitl_studio.models.users import User
from hitl_studio.settings import Settings, get_settings

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15
MAX_HEADER_CHARS = 150
MAX_TEXT_CHARS = 2900
MAX_FIELDS = 10
MAX_FIELD_CHARS = 300
BLOCK_ID = "hitl_decision"
APPROVE_ACTION = "approve"
REJECT_ACTION = "reject"
OPEN_ACTION = "open_in_studio"
DECISION_ACTIONS = {APPROVE_ACTION: "approve", REJECT_ACTION: "reject"}
UPDATE_JOB = "hitl_studio.channels.slack.update_messages"
SHOWN_STATUSES = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value)


def _escape(text: str) -> str:
    """Slack's three control characters in mrkdwn / plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def client(settings: Settings | None = None) -> WebClient:
    """A Web API client for the studio's bot (``SLACK_API_URL`` lets tests point it at a fake)."""
    slack = (settings or get_settings()).slack
    if not slack.configured:
        raise ChannelError("Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
    base_url = slack.api_url if slack.api_url.endswith("/") else slack.api_url + "/"
    return WebClient(token=slack.bot_token, base_url=base_url, timeout=TIMEOUT_SECONDS)


def studio_url(approval: Approval) -> str:
    return f"{get_settings().public_url}/approvals/{approval.id}"


def token_of(link: str) -> str:
    """The signed token at the end of a personal decision link."""
    return link.rstrip("/").rsplit("/", 1)[-1]


def _value_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return _cut(_escape(text), MAX_FIELD_CHARS)


def request_blocks(approval: Approval) -> list[dict[str, Any]]:
    """Title, description and action data: the part of the message that stays after the decision."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(_one_line(approval.title), MAX_HEADER_CHARS), "emoji": True},
        }
    ]
    if approval.description:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_escape(approval.description), MAX_TEXT_CHARS)}}
        )
    fields: list[dict[str, Any]] = []
    if approval.action_type:
        fields.append({"type": "mrkdwn", "text": f"*Action*\n`{_value_text(approval.action_type)}`"})
    data = approval.action_data or {}
    shown = list(data.items())[: MAX_FIELDS - len(fields)]
    fields += [{"type": "mrkdwn", "text": f"*{_escape(str(key))}*\n{_value_text(value)}"} for key, value in shown]
    if fields:
        blocks.append({"type": "section", "block_id": "hitl_action", "fields": fields})
    if len(shown) < len(data):
        more = len(data) - len(shown)
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"…and {more} more field(s): the full data is in the studio."}],
            }
        )
    return blocks


def message_blocks(approval: Approval, token: str, *, reminder: bool = False) -> list[dict[str, Any]]:
    """The whole request message: :func:`request_blocks`, the deadline and the buttons (a reminder says so first)."""
    blocks = request_blocks(approval)
    if reminder:
        note = f"⏰ *{REMINDER_PREFIX.strip()}* this request is still waiting for your decision."
        blocks.insert(0, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    if approval.expires_at:
        deadline = approval.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Please decide before {deadline}."}]}
        )
    blocks.append(
        {
            "type": "actions",
            "block_id": BLOCK_ID,
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE_ACTION,
                    "text": {"type": "plain_text", "text": "Approve", "emoji": True},
                    "style": "primary",
                    "value": token,
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "text": {"type": "plain_text", "text": "Reject", "emoji": True},
                    "style": "danger",
                    "value": token,
                },
                {
                    "type": "button",
                    "action_id": OPEN_ACTION,
                    "text": {"type": "plain_text", "text": "Open in studio", "emoji": True},
                    "url": studio_url(approval),
                },
            ],
        }
    )
    return blocks


def _who(email: str | None) -> str:
    if not email:
        return "someone"
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        return _escape(email)
    name = _escape(user.name or user.email)
    return f"{name} (<@{user.slack_user_id}>)" if user.slack_user_id else name


def outcome_text(approval: Approval) -> str:
    """One line saying how the request ended, in Slack mrkdwn."""
    status = str(approval.status)
    if approval.responded_by == "timeout" or status == ApprovalStatus.TIMEOUT:
        automatic = {"approved": " (approved automatically)", "rejected": " (rejected automatically)"}
        return f"⌛ Timed out{automatic.get(status, '')}"
    if status == ApprovalStatus.CANCELLED:
        return "🚫 Cancelled"
    if status == ApprovalStatus.REJECTED or approval.decision == "reject":
        return f"❌ Rejected by {_who(approval.responded_by)}"
    if approval.decision == "approve" or status in ("approved", "executing", "completed", "failed"):
        return f"✅ Approved by {_who(approval.responded_by)}"
    return f"Now {status}"


def decided_blocks(approval: Approval) -> list[dict[str, Any]]:
    """The request message with its buttons replaced by the outcome."""
    outcome: dict[str, Any] = {
        "type": "section",
        "block_id": "hitl_outcome",
        "text": {"type": "mrkdwn", "text": f"*{outcome_text(approval)}*"},
        "accessory": {
            "type": "button",
            "action_id": OPEN_ACTION,
            "text": {"type": "plain_text", "text": "Open in studio", "emoji": True},
            "url": studio_url(approval),
        },
    }
    blocks = [*request_blocks(approval), outcome]
    if approval.feedback:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _cut(f"“{_escape(approval.feedback)}”", MAX_TEXT_CHARS)}],
            }
        )
    return blocks


def _error_code(err: SlackClientError) -> str:
    if isinstance(err, SlackApiError):
        data = getattr(err.response, "data", None)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        return f"HTTP {getattr(err.response, 'status_code', '?')}"
    return f"{type(err).__name__}: {err}"


class SlackChannel(Channel):
    name: ClassVar[str] = "slack"
    source: ClassVar[EventSource] = EventSource.SLACK

    def configured(self, settings: Settings) -> bool:
        return settings.slack.configured

    def address(self, user: User) -> str | None:
        return (user.slack_user_id or "").strip() or None

    def send(self, approval: Approval, recipient: str, link: str, *, reminder: bool = False) -> dict[str, Any]:
        """DM ``recipient`` (a Slack user id); the buttons carry the token of ``link``."""
        title = _one_line(approval.title)
        prefix = REMINDER_PREFIX if reminder else ""
        try:
            answer = client().chat_postMessage(
                channel=recipient,
                text=f"{prefix}Approval needed: {title}",
                blocks=message_blocks(approval, token_of(link), reminder=reminder),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackClientError as err:
            raise ChannelError(f"Slack did not accept the message to {recipient}: {_error_code(err)}") from err
        return {"channel": answer.get("channel"), "ts": answer.get("ts")}


def slack_deliveries(approval_id: str) -> list[Delivery]:
    """The request's Slack deliveries that went out (and so can be updated)."""
    with session_scope() as session:
        rows = session.exec(
            select(Delivery)
            .where(Delivery.approval_id == approval_id, Delivery.channel == SlackChannel.name)
            .where(col(Delivery.status).in_(SHOWN_STATUSES))
            .order_by(col(Delivery.created_at), col(Delivery.id))
        )
        return [row for row in rows if (row.meta or {}).get("channel") and (row.meta or {}).get("ts")]


def _messages(row: Delivery) -> list[dict[str, Any]]:
    """The first message of a delivery and its reminders: every one whose buttons must go."""
    meta = row.meta or {}
    sent = [meta, *(meta.get("reminder_messages") or [])]
    return [{"channel": one["channel"], "ts": one["ts"]} for one in sent if one.get("channel") and one.get("ts")]


def show_decided(approval: Approval) -> int:
    """Replace the buttons of every sent Slack message of a decided request with its outcome.

    Never raises (a Slack problem is logged): the decision stands whatever Slack says.

    Returns:
        How many messages were updated.
    """
    if approval.status == ApprovalStatus.PENDING or not get_settings().slack.configured:
        return 0
    rows = slack_deliveries(approval.id)
    if not rows:
        return 0
    text = f"{outcome_text(approval)}: {_one_line(approval.title)}"
    blocks = decided_blocks(approval)
    web = client()
    updated = 0
    for row in rows:
        for message in _messages(row):
            try:
                web.chat_update(channel=message["channel"], ts=message["ts"], text=text, blocks=blocks)
                updated += 1
            except SlackClientError as err:
                logger.warning("could not update the Slack message of delivery %s: %s", row.id, _error_code(err))
    return updated


def update_messages(approval_id: str) -> int:
    """The job behind :func:`show_decided` (enqueue :data:`UPDATE_JOB` with the request's id)."""
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
    return show_decided(approval) if approval is not None else 0
