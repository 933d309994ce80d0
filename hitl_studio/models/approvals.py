"""Approval requests (from workflow nodes or agents), their event log and their deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import (
    created_at_field,
    foreign_key,
    id_field,
    json_field,
    log_id_field,
    optional_json_field,
    time_field,
)


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    EXECUTING = "executing"
    COMPLETED = "completed"
    FAILED = "failed"


class TimeoutAction(StrEnum):
    REJECT = "reject"
    APPROVE = "approve"
    ESCALATE = "escalate"


class EventSource(StrEnum):
    API = "api"
    STUDIO = "studio"
    SLACK = "slack"
    EMAIL = "email"
    SMS = "sms"
    WORKFLOW = "workflow"
    TIMEOUT_JOB = "timeout_job"
    ESCALATION_JOB = "escalation_job"
    REMINDER_JOB = "reminder_job"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    __table_args__ = (
        Index("ix_approval_status_expires", "status", "expires_at"),
        # One request per caller and key: the database, not a read-then-write, makes a retried
        # create idempotent under concurrency. NULL keys never collide.
        Index("ix_approval_idempotency", "requested_by", "idempotency_key", unique=True),
    )

    id: str = id_field()
    title: str = Field(max_length=300)
    description: str = Field(default="")
    agent_id: str | None = Field(default=None, max_length=200, index=True)
    action_type: str | None = Field(default=None, max_length=200)
    action_data: dict[str, Any] = json_field()
    ui_schema: dict[str, Any] = json_field()
    approvers: list[str] = json_field(list)
    channels: list[str] = json_field(list)
    status: str = Field(default=ApprovalStatus.PENDING, max_length=16)
    decision: str | None = Field(default=None, max_length=16)
    response_data: dict[str, Any] | None = optional_json_field()
    feedback: str | None = Field(default=None)
    expires_at: datetime | None = time_field()
    timeout_action: str = Field(default=TimeoutAction.REJECT, max_length=16)
    escalation: list[dict[str, Any]] = json_field(list)
    escalation_tier: int = Field(default=0)
    quorum: int = Field(default=1)
    votes: list[dict[str, Any]] = json_field(list)
    allow_self_approval: bool = Field(default=True)
    callback_url: str | None = Field(default=None, max_length=2000)
    requested_by: str | None = foreign_key("user.id", nullable=True, ondelete="SET NULL")
    responded_by: str | None = Field(default=None, max_length=320)
    responded_at: datetime | None = time_field()
    execution_id: str | None = foreign_key("execution.id", nullable=True, ondelete="SET NULL")
    node_id: str | None = Field(default=None, max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200)
    # SHA-256 of the create body, so a reused key with a different body is refused rather than ignored.
    idempotency_hash: str | None = Field(default=None, max_length=64)
    # Seconds before each deadline at which undecided approvers are reminded, largest first.
    reminders: list[int] = json_field(list)
    # The next reminder's due time for the current deadline; the reminder job moves it on with a
    # compare-and-set, so a duplicate job (reconciler, retry) never reminds twice.
    next_reminder_at: datetime | None = time_field()
    created_at: datetime = created_at_field(index=True)
    updated_at: datetime = created_at_field()


class ApprovalEvent(SQLModel, table=True):
    """One transition or delivery attempt, with the full state after it and a hash chain."""

    __tablename__ = "approval_event"

    id: int | None = log_id_field()
    approval_id: str = foreign_key("approval.id")
    type: str = Field(max_length=64)
    data: dict[str, Any] = json_field()
    state_snapshot: dict[str, Any] = json_field()
    actor: str | None = Field(default=None, max_length=320)
    source: str = Field(max_length=32)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str = Field(max_length=64)
    created_at: datetime = created_at_field()


class Delivery(SQLModel, table=True):
    """One message of a request to one person on one channel; ``studio`` rows are the inbox."""

    __tablename__ = "delivery"
    # "What is waiting for me": the inbox is the studio rows of a recipient.
    __table_args__ = (Index("ix_delivery_inbox", "recipient", "channel", "status"),)

    id: str = id_field()
    approval_id: str = foreign_key("approval.id")
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=320)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=3)
    next_retry_at: datetime | None = time_field(index=True)
    last_error: str | None = Field(default=None)
    meta: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()
    sent_at: datetime | None = time_field()
    delivered_at: datetime | None = time_field()
