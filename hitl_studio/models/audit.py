"""The audit log: who did what to which thing, append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import created_at_field, log_id_field, optional_json_field


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_target_created", "action", "target_id", "created_at"),)

    id: int | None = log_id_field()
    actor_id: str | None = Field(default=None, max_length=36, index=True)
    actor_label: str = Field(default="", max_length=320)
    action: str = Field(max_length=64)
    target_type: str = Field(default="", max_length=64)
    target_id: str | None = Field(default=None, max_length=320)
    before: dict[str, Any] | None = optional_json_field()
    after: dict[str, Any] | None = optional_json_field()
    ip: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field(index=True)
