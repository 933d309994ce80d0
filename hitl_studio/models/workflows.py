"""Workflows, every saved version of them, and their cron schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import (
    created_at_field,
    foreign_key,
    id_field,
    json_field,
    optional_json_field,
    time_field,
)


def empty_graph() -> dict[str, Any]:
    """The graph of a new workflow, in n8n's shape: nodes and connections by node name."""
    return {"nodes": [], "connections": {}}


class Workflow(SQLModel, table=True):
    __tablename__ = "workflow"

    id: str = id_field()
    name: str = Field(max_length=200, index=True)
    description: str = Field(default="")
    active: bool = Field(default=False, index=True)
    graph: dict[str, Any] = json_field(empty_graph)
    settings: dict[str, Any] = json_field()
    tags: list[str] = json_field(list)
    version: int = Field(default=1)
    owner_id: str | None = foreign_key("user.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class WorkflowVersion(SQLModel, table=True):
    """A snapshot written on every save, so any version can be restored or resumed on."""

    __tablename__ = "workflow_version"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    id: str = id_field()
    workflow_id: str = foreign_key("workflow.id")
    version: int
    name: str = Field(max_length=200)
    graph: dict[str, Any] = json_field()
    settings: dict[str, Any] = json_field()
    note: str = Field(default="", max_length=500)
    created_by: str | None = foreign_key("user.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()


class Schedule(SQLModel, table=True):
    """A cron or polling trigger of an active workflow; the reconciler rebuilds scheduler jobs from these rows."""

    __tablename__ = "schedule"
    __table_args__ = (UniqueConstraint("workflow_id", "node_id"),)

    id: str = id_field()
    workflow_id: str = foreign_key("workflow.id")
    node_id: str = Field(max_length=64)
    cron: str = Field(max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    active: bool = Field(default=True)
    next_run_at: datetime | None = time_field(index=True)
    last_run_at: datetime | None = time_field()
    poll_cursor: dict[str, Any] | None = optional_json_field()
    """A polling trigger's cursor after its last poll (``None``: not polled since activation)."""
    created_at: datetime = created_at_field()
