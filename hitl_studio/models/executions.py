"""Workflow runs, their per-node steps and their event log."""

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


class ExecutionMode(StrEnum):
    MANUAL = "manual"
    CRON = "cron"
    WEBHOOK = "webhook"
    API = "api"
    RETRY = "retry"
    SUBWORKFLOW = "subworkflow"
    ERROR = "error"
    # A run started by the editor's "Listen for test event" (/webhook-test/...), on any saved version.
    TEST = "test"
    # A run a polling trigger started with what it found (or with its failure).
    POLL = "poll"


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Execution(SQLModel, table=True):
    __tablename__ = "execution"
    __table_args__ = (Index("ix_execution_workflow_created", "workflow_id", "created_at"),)

    id: str = id_field()
    workflow_id: str = foreign_key("workflow.id", index=False)
    workflow_version: int
    mode: str = Field(max_length=16)
    status: str = Field(default=ExecutionStatus.QUEUED, max_length=16, index=True)
    trigger_data: dict[str, Any] = json_field()
    frontier: dict[str, Any] | None = optional_json_field()
    error: dict[str, Any] | None = optional_json_field()
    parent_execution_id: str | None = foreign_key("execution.id", nullable=True, ondelete="SET NULL")
    retry_of_id: str | None = foreign_key("execution.id", nullable=True, ondelete="SET NULL")
    started_by: str | None = foreign_key("user.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    started_at: datetime | None = time_field()
    finished_at: datetime | None = time_field()
    heartbeat_at: datetime | None = time_field()


class ExecutionStep(SQLModel, table=True):
    """One run of one node; large outputs live in the file store and ``data_ref`` points at them."""

    __tablename__ = "execution_step"

    id: int | None = log_id_field()
    execution_id: str = foreign_key("execution.id")
    node_id: str = Field(max_length=64)
    node_name: str = Field(max_length=200)
    run_index: int = Field(default=0)
    status: str = Field(max_length=16)
    input_items: dict[str, Any] | None = optional_json_field()
    output_items: dict[str, Any] | None = optional_json_field()
    data_ref: str | None = Field(default=None, max_length=500)
    error: dict[str, Any] | None = optional_json_field()
    started_at: datetime = created_at_field()
    finished_at: datetime | None = time_field()


class ExecutionEvent(SQLModel, table=True):
    __tablename__ = "execution_event"

    id: int | None = log_id_field()
    execution_id: str = foreign_key("execution.id")
    type: str = Field(max_length=64)
    data: dict[str, Any] = json_field()
    actor: str | None = Field(default=None, max_length=320)
    created_at: datetime = created_at_field()
