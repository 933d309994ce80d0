"""Workflows over HTTP: CRUD with versions, activation, and manual runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.users import User
from hitl_studio.services import executions, triggers, workflows
from hitl_studio.services.workflows import WorkflowFilter, WorkflowInput

router = APIRouter(prefix="/workflows", tags=["workflows"])
Viewer = Annotated[User, Depends(require(Permission.VIEW_WORKFLOWS))]
Builder = Annotated[User, Depends(require(Permission.EDIT_WORKFLOWS))]
Runner = Annotated[User, Depends(require(Permission.RUN_WORKFLOWS))]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(default_factory=list, description="Items for the trigger (JSON objects).")
    start_node: str | None = Field(default=None, description="Run from this node instead of the Manual Trigger.")
    reuse_execution_id: str | None = Field(
        default=None, description="With start_node: reuse the upstream outputs of this earlier run."
    )
    pinned: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Node name → items used instead of running that node."
    )
    only_start_node: bool = Field(
        default=False, description="With start_node: run that node alone, nothing downstream of it."
    )


@router.post("", status_code=201, summary="Create a workflow (n8n's JSON shape); it starts inactive")
def create_workflow(body: WorkflowInput, user: Builder) -> dict[str, Any]:
    return workflows.public_fields(workflows.create_workflow(body, actor=user))


@router.get("", summary="List workflows with the status of their last run")
def list_workflows(
    _user: Viewer,
    search: str | None = None,
    tag: str | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows, total = workflows.list_workflows(
        WorkflowFilter(search=search, tag=tag, active=active, limit=limit, offset=offset)
    )
    return {"items": [workflows.public_fields(w, last_run_status=status) for w, status in rows], "total": total}


@router.get("/{workflow_id}", summary="One workflow, current version")
def get_workflow(workflow_id: str, _user: Viewer) -> dict[str, Any]:
    return workflows.public_fields(workflows.get_workflow(workflow_id))


@router.put("/{workflow_id}", summary="Save a new version of a workflow")
def update_workflow(workflow_id: str, body: WorkflowInput, user: Builder) -> dict[str, Any]:
    return workflows.public_fields(workflows.update_workflow(workflow_id, body, actor=user))


@router.delete("/{workflow_id}", status_code=204, summary="Delete a workflow with its versions and runs")
def delete_workflow(workflow_id: str, user: Builder) -> None:
    workflows.delete_workflow(workflow_id, actor=user)


@router.get("/{workflow_id}/versions", summary="Every saved version, newest first")
def list_versions(workflow_id: str, _user: Viewer) -> list[dict[str, Any]]:
    return [
        {
            "version": version.version,
            "name": version.name,
            "note": version.note,
            "created_by": version.created_by,
            "created_at": version.created_at.isoformat(),
            "nodes": version.graph.get("nodes", []),
            "connections": version.graph.get("connections", {}),
            "settings": version.settings,
        }
        for version in workflows.list_versions(workflow_id)
    ]


@router.post("/{workflow_id}/versions/{version}/restore", summary="Make an old version current (as a new version)")
def restore_version(workflow_id: str, version: int, user: Builder) -> dict[str, Any]:
    return workflows.public_fields(workflows.restore_version(workflow_id, version, actor=user))


@router.post("/{workflow_id}/activate", summary="Register the workflow's webhooks and schedules")
def activate(workflow_id: str, user: Builder) -> dict[str, Any]:
    return workflows.public_fields(workflows.set_active(workflow_id, True, actor=user))


@router.post("/{workflow_id}/deactivate", summary="Stop the workflow's webhooks and schedules")
def deactivate(workflow_id: str, user: Builder) -> dict[str, Any]:
    return workflows.public_fields(workflows.set_active(workflow_id, False, actor=user))


@router.post("/{workflow_id}/test-webhook", summary="Listen for one test event on /webhook-test/<path> (120 s)")
def listen_for_test_event(workflow_id: str, _user: Builder) -> dict[str, Any]:
    listener = triggers.listen_for_test(workflow_id)
    webhooks = listener.urls()
    return {
        "url": webhooks[0]["url"],
        "method": webhooks[0]["method"],
        "expires_at": listener.expires_at.isoformat(),
        "version": listener.version,
        "webhooks": webhooks,
    }


@router.delete("/{workflow_id}/test-webhook", status_code=204, summary="Stop listening for a test event")
def stop_listening_for_test_event(workflow_id: str, _user: Builder) -> None:
    triggers.stop_test_listener(workflow_id)


@router.post("/{workflow_id}/run", status_code=202, summary="Run the workflow now with these items")
async def run_workflow(
    workflow_id: str, user: Runner, body: Annotated[RunRequest | None, Body()] = None
) -> dict[str, Any]:
    request = body or RunRequest()
    options = executions.StartOptions(
        mode=ExecutionMode.MANUAL,
        start_node=request.start_node,
        actor=user,
        reuse_execution_id=request.reuse_execution_id,
        pinned=request.pinned,
        only_start_node=request.only_start_node,
    )
    execution = await run_in_threadpool(executions.start_execution, workflow_id, request.items, options)
    return {"execution_id": execution.id, "status": execution.status}
