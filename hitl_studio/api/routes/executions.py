"""Runs over HTTP: list and filter, inspect every step, retry, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.executions import Execution, ExecutionEvent, ExecutionMode, ExecutionStep
from hitl_studio.models.users import User
from hitl_studio.services import executions, waits
from hitl_studio.services.executions import ExecutionFilter

router = APIRouter(prefix="/executions", tags=["executions"])
Viewer = Annotated[User, Depends(require(Permission.VIEW_WORKFLOWS))]
Runner = Annotated[User, Depends(require(Permission.RUN_WORKFLOWS))]
Status = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]


def _summary(execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "workflow_id": execution.workflow_id,
        "workflow_version": execution.workflow_version,
        "mode": execution.mode,
        "status": execution.status,
        "created_at": execution.created_at.isoformat(),
        "started_at": execution.started_at.isoformat() if execution.started_at else None,
        "finished_at": execution.finished_at.isoformat() if execution.finished_at else None,
        "error": execution.error,
        "retry_of_id": execution.retry_of_id,
        "parent_execution_id": execution.parent_execution_id,
    }


def _step(step: ExecutionStep) -> dict[str, Any]:
    duration = (step.finished_at - step.started_at).total_seconds() * 1000 if step.finished_at else None
    inputs, outputs = executions.step_data(step)
    return {
        "node": step.node_name,
        "node_id": step.node_id,
        "run_index": step.run_index,
        "status": step.status,
        "started_at": step.started_at.isoformat(),
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
        "duration_ms": round(duration, 3) if duration is not None else None,
        "input": (inputs or {}).get("main", []),
        "output": outputs.get("main") if outputs else None,
        "stored_in_file": step.data_ref is not None,
        "error": step.error,
    }


def _event(event: ExecutionEvent) -> dict[str, Any]:
    return {"type": event.type, "data": event.data, "actor": event.actor, "at": event.created_at.isoformat()}


@router.get("", summary="Runs, newest first, with filters")
def list_executions(
    _user: Viewer,
    workflow_id: str | None = None,
    status: Status | None = None,
    mode: ExecutionMode | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows, total = executions.list_executions(
        ExecutionFilter(workflow_id, status, mode, since, until, limit=limit, offset=offset)
    )
    return {"items": [_summary(row) for row in rows], "total": total}


@router.get("/{execution_id}", summary="A run with every step's input and output items, errors and timings")
def get_execution(execution_id: str, _user: Viewer) -> dict[str, Any]:
    execution, steps, history = executions.get_execution(execution_id)
    return {
        **_summary(execution),
        "trigger_data": execution.trigger_data,
        "waiting_for": waits.waiting_for(execution),
        "steps": [_step(step) for step in steps],
        "events": [_event(event) for event in history],
    }


@router.post("/{execution_id}/retry", status_code=202, summary="Run a failed or cancelled run again")
def retry_execution(execution_id: str, user: Runner) -> dict[str, Any]:
    execution = executions.retry_execution(execution_id, actor=user)
    return {"execution_id": execution.id, "status": execution.status}


@router.post("/{execution_id}/cancel", summary="Cancel a queued, running or waiting run")
def cancel_execution(execution_id: str, user: Runner) -> dict[str, Any]:
    return _summary(executions.cancel_execution(execution_id, actor=user))
