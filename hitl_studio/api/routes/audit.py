"""The audit log over HTTP (admins): read-only, filtered, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import audit
from hitl_studio.services.audit import AuditFilter

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[User, Depends(require(Permission.VIEW_AUDIT))]


@router.get("", summary="Audit rows, newest first, with filters; the log cannot be changed through the API")
def list_audit(
    _user: Auditor,
    actor: Annotated[
        str | None, Query(max_length=320, description="Part of the actor's email or label, or a user id.")
    ] = None,
    action: Annotated[str | None, Query(max_length=64, description="One action, e.g. credential.created.")] = None,
    target_type: Annotated[str | None, Query(max_length=64, description="user, credential, workflow...")] = None,
    target_id: Annotated[str | None, Query(max_length=320)] = None,
    since: Annotated[datetime | None, Query(description="From this time on; without a zone: UTC.")] = None,
    until: Annotated[datetime | None, Query(description="Before this time; without a zone: UTC.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text anywhere in the row.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    filters = AuditFilter(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        search=q,
        limit=limit,
        offset=offset,
    )
    rows, total = audit.list_entries(filters)
    return {"items": [audit.public_fields(row) for row in rows], "total": total, "limit": limit, "offset": offset}
