"""The caller's own identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hitl_studio.api.deps import CurrentUser
from hitl_studio.auth.roles import ROLE_PERMISSIONS
from hitl_studio.models.users import Role
from hitl_studio.services.users import public_fields

router = APIRouter(tags=["users"])


@router.get("/me", summary="The user the API key or session belongs to")
def me(user: CurrentUser) -> dict[str, Any]:
    permissions = sorted(p.value for p in ROLE_PERMISSIONS.get(Role(user.role), frozenset()))
    return {**public_fields(user), "permissions": permissions}
