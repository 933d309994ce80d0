"""Workflows: create, edit (every save is a version), restore, delete, activate and deactivate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.graph import GraphError, WorkflowGraph, parse_workflow
from hitl_studio.models.executions import Execution
from hitl_studio.models.users import User
from hitl_studio.models.workflows import Workflow, WorkflowVersion
from hitl_studio.services import audit, triggers
from hitl_studio.services.errors import InvalidInput, NotFound
from hitl_studio.services.executions import check_runnable


class WorkflowInput(BaseModel):
    """A workflow as clients send it (n8n's shape)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    connections: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=50)
    version_note: str = Field(default="", max_length=500)


def checked_graph(data: WorkflowInput) -> WorkflowGraph:
    """Parse and validate a workflow, or raise a 422 listing every problem with the node's name."""
    try:
        graph = parse_workflow(
            {"name": data.name, "nodes": data.nodes, "connections": data.connections, "settings": data.settings}
        )
    except GraphError as err:
        raise InvalidInput(
            f"The workflow has {len(err.problems)} problem(s); fix them and save again.",
            problems=[problem.to_dict() for problem in err.problems],
        ) from err
    check_runnable(graph)
    return graph


def public_fields(workflow: Workflow, *, last_run_status: str | None = None) -> dict[str, Any]:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "description": workflow.description,
        "active": workflow.active,
        "nodes": workflow.graph.get("nodes", []),
        "connections": workflow.graph.get("connections", {}),
        "settings": workflow.settings,
        "tags": workflow.tags,
        "version": workflow.version,
        "owner_id": workflow.owner_id,
        "created_at": workflow.created_at.isoformat(),
        "updated_at": workflow.updated_at.isoformat(),
        "last_run_status": last_run_status,
    }


def _summary(workflow: Workflow) -> dict[str, Any]:
    return {"name": workflow.name, "version": workflow.version, "active": workflow.active, "tags": workflow.tags}


def _load(session: Session, workflow_id: str) -> Workflow:
    workflow = session.get(Workflow, workflow_id)
    if workflow is None:
        raise NotFound(f"No workflow with id {workflow_id}.")
    return workflow


def _add_version(session: Session, workflow: Workflow, note: str, actor: User | None) -> None:
    session.add(
        WorkflowVersion(
            workflow_id=workflow.id,
            version=workflow.version,
            name=workflow.name,
            graph=workflow.graph,
            settings=workflow.settings,
            note=note,
            created_by=actor.id if actor else None,
        )
    )


def create_workflow(data: WorkflowInput, *, actor: User | None) -> Workflow:
    """Save a new workflow as version 1 (inactive).

    Raises:
        InvalidInput: The workflow has problems; ``problems`` lists them by node.
    """
    checked_graph(data)
    with session_scope() as session:
        workflow = Workflow(
            name=data.name.strip(),
            description=data.description,
            graph={"nodes": data.nodes, "connections": data.connections},
            settings=data.settings,
            tags=sorted({tag.strip() for tag in data.tags if tag.strip()}),
            owner_id=actor.id if actor else None,
        )
        session.add(workflow)
        session.flush()
        _add_version(session, workflow, data.version_note or "created", actor)
        audit.record(
            session,
            "workflow.created",
            actor=actor,
            target_type="workflow",
            target_id=workflow.id,
            after=_summary(workflow),
        )
    return workflow


def get_workflow(workflow_id: str) -> Workflow:
    with session_scope() as session:
        return _load(session, workflow_id)


@dataclass(frozen=True)
class WorkflowFilter:
    search: str | None = None
    tag: str | None = None
    active: bool | None = None
    limit: int = 50
    offset: int = 0


def list_workflows(filters: WorkflowFilter) -> tuple[list[tuple[Workflow, str | None]], int]:
    """Workflows (newest edit first) with the status of each one's latest run, and the total count."""
    query = select(Workflow)
    count = select(func.count()).select_from(Workflow)
    conditions = []
    if filters.search:
        conditions.append(col(Workflow.name).ilike(f"%{filters.search.strip()}%"))
    if filters.active is not None:
        conditions.append(col(Workflow.active) == filters.active)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    with session_scope() as session:
        rows = list(session.exec(query.order_by(col(Workflow.updated_at).desc())))
        if filters.tag:
            rows = [row for row in rows if filters.tag in row.tags]
        total = len(rows) if filters.tag else int(session.exec(count).one())
        page = rows[filters.offset : filters.offset + filters.limit]
        statuses = _last_run_statuses(session, [workflow.id for workflow in page])
    return [(workflow, statuses.get(workflow.id)) for workflow in page], total


def _last_run_statuses(session: Session, workflow_ids: list[str]) -> dict[str, str]:
    if not workflow_ids:
        return {}
    latest = (
        select(Execution.workflow_id, func.max(Execution.created_at).label("latest"))
        .where(col(Execution.workflow_id).in_(workflow_ids))
        .group_by(col(Execution.workflow_id))
        .subquery()
    )
    rows = session.exec(
        select(Execution.workflow_id, Execution.status).join(
            latest,
            (col(Execution.workflow_id) == latest.c.workflow_id) & (col(Execution.created_at) == latest.c.latest),
        )
    )
    return {workflow_id: status for workflow_id, status in rows}


def update_workflow(workflow_id: str, data: WorkflowInput, *, actor: User | None) -> Workflow:
    """Save a new version. An active workflow's triggers follow the new version at once.

    Raises:
        NotFound: No such workflow.
        InvalidInput: The new version has problems.
        Conflict: Active, and a webhook of the new version is taken by another active workflow.
    """
    checked_graph(data)
    with session_scope() as session:
        workflow = _load(session, workflow_id)
        before = _summary(workflow)
        workflow.name = data.name.strip()
        workflow.description = data.description
        workflow.graph = {"nodes": data.nodes, "connections": data.connections}
        workflow.settings = data.settings
        workflow.tags = sorted({tag.strip() for tag in data.tags if tag.strip()})
        workflow.version += 1
        workflow.updated_at = utcnow()
        session.add(workflow)
        _add_version(session, workflow, data.version_note, actor)
        if workflow.active:
            triggers.sync(session, workflow)
        audit.record(
            session,
            "workflow.updated",
            actor=actor,
            target_type="workflow",
            target_id=workflow.id,
            before=before,
            after=_summary(workflow),
        )
    return workflow


def list_versions(workflow_id: str) -> list[WorkflowVersion]:
    with session_scope() as session:
        _load(session, workflow_id)
        return list(
            session.exec(
                select(WorkflowVersion)
                .where(WorkflowVersion.workflow_id == workflow_id)
                .order_by(col(WorkflowVersion.version).desc())
            )
        )


def restore_version(workflow_id: str, version: int, *, actor: User | None) -> Workflow:
    """Make an old version current again, as a new version (history is never rewritten)."""
    with session_scope() as session:
        _load(session, workflow_id)
        old = session.exec(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version
            )
        ).first()
        if old is None:
            raise NotFound(f"Workflow {workflow_id} has no version {version}.")
        workflow = session.get(Workflow, workflow_id)
    data = WorkflowInput(
        name=old.name,
        description=workflow.description if workflow else "",
        nodes=old.graph.get("nodes", []),
        connections=old.graph.get("connections", {}),
        settings=old.settings,
        tags=workflow.tags if workflow else [],
        version_note=f"restored version {version}",
    )
    return update_workflow(workflow_id, data, actor=actor)


def delete_workflow(workflow_id: str, *, actor: User | None) -> None:
    """Delete a workflow, its versions and its run history; its triggers stop first."""
    with session_scope() as session:
        workflow = _load(session, workflow_id)
        triggers.unregister(session, workflow)
        before = _summary(workflow)
        session.delete(workflow)
        audit.record(
            session, "workflow.deleted", actor=actor, target_type="workflow", target_id=workflow_id, before=before
        )


def set_active(workflow_id: str, active: bool, *, actor: User | None) -> Workflow:
    """Activate (register webhooks and schedules) or deactivate a workflow.

    Raises:
        NotFound: No such workflow.
        InvalidInput: Activation of a workflow with problems, or with no trigger to activate.
        Conflict: A webhook path is taken by another active workflow.
    """
    with session_scope() as session:
        workflow = _load(session, workflow_id)
        if active:
            triggers.sync(session, workflow)
        else:
            triggers.unregister(session, workflow)
        workflow.active = active
        workflow.updated_at = utcnow()
        session.add(workflow)
        audit.record(
            session,
            "workflow.activated" if active else "workflow.deactivated",
            actor=actor,
            target_type="workflow",
            target_id=workflow.id,
        )
    triggers.schedule_pending()
    return workflow
