"""Approvals over HTTP, for agents and the studio: request, wait, decide, audit.

``POST /approvals`` takes an optional ``Idempotency-Key`` header: the same key
from the same caller answers 200 with the request it already created (header
``Idempotent-Replayed: true``) instead of making a second one; the same key with
a different body is 409.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.approvals import idempotency
from hitl_studio.approvals.states import DECIDED
from hitl_studio.auth.roles import Permission
from hitl_studio.models.approvals import ApprovalEvent, ApprovalStatus, EventSource
from hitl_studio.models.users import User
from hitl_studio.services import approval_notifications, approvals, deliveries
from hitl_studio.services.approvals import ApprovalInput, BulkResult, Decider

router = APIRouter(prefix="/approvals", tags=["approvals"])
Viewer = Annotated[User, Depends(require(Permission.VIEW_APPROVALS))]
Requester = Annotated[User, Depends(require(Permission.REQUEST_APPROVALS))]
Status = Literal["pending", "approved", "rejected", "timeout", "cancelled", "executing", "completed", "failed"]
MAX_WAIT_SECONDS = 60
REPLAYED_HEADER = "Idempotent-Replayed"


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    response_data: dict[str, Any] | None = Field(
        default=None, description="The approver's edits, checked against the request's ui_schema."
    )
    feedback: str | None = Field(default=None, max_length=5000)


class BulkDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approval_ids: list[str] = Field(min_length=1, max_length=approvals.MAX_BULK_IDS)
    decision: Literal["approve", "reject"]
    feedback: str | None = Field(default=None, max_length=5000)


def _event(event: ApprovalEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "data": event.data,
        "state_snapshot": event.state_snapshot,
        "actor": event.actor,
        "source": event.source,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "created_at": event.created_at.isoformat(),
    }


def _bulk_result(result: BulkResult) -> dict[str, Any]:
    error = {"code": result.code, "message": result.error} if not result.ok else None
    return {"approval_id": result.approval_id, "ok": result.ok, "status": result.status, "error": error}


@router.post("", status_code=201, summary="Ask people to approve an action (retry safely with Idempotency-Key)")
def create_approval(
    body: ApprovalInput,
    user: Requester,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="Any unique string per request (a UUID); a retry with it returns the first answer's request.",
        ),
    ] = None,
) -> dict[str, Any]:
    if idempotency_key is None:
        approval = approvals.create_approval(body, requested_by=user, source=EventSource.API)
    else:
        outcome = approvals.create_once(body, requested_by=user, idempotency_key=idempotency_key)
        approval = outcome.approval
        if not outcome.created:
            response.status_code = 200
            response.headers[REPLAYED_HEADER] = "true"
    created = approvals.snapshot(approval)
    if body.callback_url:
        # What the agent checks X-HITL-Signature with on its callback (also at GET /webhooks/callback-secret).
        created["callback_secret"] = approval_notifications.callback_signing_secret(user.id)
    return created


@router.get("", summary="Requests you may see (mine=true: waiting for you): pending, then due soonest, then newest")
def list_approvals(
    user: Viewer,
    status: Status | None = None,
    mine: bool = False,
    search: Annotated[
        str | None,
        Query(max_length=approvals.MAX_SEARCH_LENGTH, description="Text in the title or description, any case."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows, total = approvals.list_approvals(
        user, status=status, mine_to_decide=mine, search=search, limit=limit, offset=offset
    )
    return {"items": [approvals.snapshot(row) for row in rows], "total": total}


@router.post("/bulk-decision", summary="Approve or reject several requests; each answers like a single decision")
def decide_many(body: BulkDecisionRequest, user: Viewer) -> dict[str, Any]:
    results = approvals.decide_many(body.approval_ids, body.decision, body.feedback, user, source=EventSource.API)
    succeeded = sum(1 for result in results if result.ok)
    return {
        "results": [_bulk_result(result) for result in results],
        "succeeded": succeeded,
        "failed": len(results) - succeeded,
    }


@router.get("/{approval_id}", summary="One request")
def get_approval(approval_id: str, user: Viewer) -> dict[str, Any]:
    return approvals.snapshot(approvals.get_approval(approval_id, user))


@router.get("/{approval_id}/wait", summary="Long-poll: answers as soon as the request is decided, or at the timeout")
async def wait_for_decision(
    approval_id: str, user: Viewer, timeout: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 30
) -> dict[str, Any]:
    # Sleep on the event loop, not in a worker thread: many agents waiting must not starve other requests.
    deadline = time.monotonic() + timeout
    while True:
        approval = await run_in_threadpool(approvals.get_approval, approval_id, user)
        if ApprovalStatus(approval.status) in DECIDED or time.monotonic() >= deadline:
            return approvals.snapshot(approval)
        await asyncio.sleep(min(approvals.WAIT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


@router.post("/{approval_id}/decision", summary="Approve (optionally with edits) or reject")
def decide(approval_id: str, body: DecisionRequest, user: Viewer) -> dict[str, Any]:
    decided = approvals.decide(
        approval_id,
        body.decision,
        Decider(user, EventSource.API),
        response_data=body.response_data,
        feedback=body.feedback,
    )
    return approvals.snapshot(decided)


@router.post("/{approval_id}/cancel", summary="Withdraw a pending request (its requester or an admin)")
def cancel(approval_id: str, user: Viewer) -> dict[str, Any]:
    return approvals.snapshot(approvals.cancel_approval(approval_id, actor=user))


@router.get("/{approval_id}/deliveries", summary="Where the request went: each channel and person, status, errors")
def list_deliveries(approval_id: str, user: Viewer) -> list[dict[str, Any]]:
    return deliveries.delivery_report(approval_id, user)


@router.get("/{approval_id}/events", summary="The timeline: every change and attempt, with the state after it")
def list_events(approval_id: str, user: Viewer) -> list[dict[str, Any]]:
    return [_event(event) for event in approvals.list_events(approval_id, user)]


@router.get("/{approval_id}/verify", summary="Check the event log's hash chain for tampering")
def verify(approval_id: str, user: Viewer) -> dict[str, Any]:
    return approvals.verify_chain(approval_id, user)


@router.post("/{approval_id}/events/{event_id}/restore", summary="Restore the state an event recorded (admins)")
def restore(approval_id: str, event_id: int, user: Viewer) -> dict[str, Any]:
    return approvals.snapshot(approvals.restore_snapshot(approval_id, event_id, actor=user))
