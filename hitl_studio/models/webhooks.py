"""Outgoing event webhooks that agents and integrations subscribe to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import created_at_field, foreign_key, id_field, json_field, time_field


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"

    id: str = id_field()
    owner_id: str | None = foreign_key("user.id", nullable=True, ondelete="CASCADE")
    url: str = Field(max_length=2000)
    events: list[str] = json_field(list)
    encrypted_secret: str = Field(default="")
    key_id: str | None = Field(default=None, max_length=32)
    active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"

    id: str = id_field()
    subscription_id: str | None = foreign_key("webhook_subscription.id", nullable=True)
    url: str = Field(max_length=2000)
    event_type: str = Field(max_length=64)
    payload: dict[str, Any] = json_field()
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None)
    next_retry_at: datetime | None = time_field(index=True)
    created_at: datetime = created_at_field()
    delivered_at: datetime | None = time_field()
