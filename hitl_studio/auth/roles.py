"""The role matrix: which role may do what. Pages and API routes both ask :func:`allowed`."""

from __future__ import annotations

from enum import StrEnum

from hitl_studio.models.users import Role


class Permission(StrEnum):
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"
    MANAGE_CREDENTIALS = "manage_credentials"
    EDIT_WORKFLOWS = "edit_workflows"
    RUN_WORKFLOWS = "run_workflows"
    VIEW_WORKFLOWS = "view_workflows"
    DECIDE_APPROVALS = "decide_approvals"
    REQUEST_APPROVALS = "request_approvals"
    VIEW_APPROVALS = "view_approvals"
    USE_API_KEYS = "use_api_keys"


_VIEW = {Permission.VIEW_WORKFLOWS, Permission.VIEW_APPROVALS, Permission.USE_API_KEYS}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.BUILDER: frozenset(
        _VIEW
        | {
            Permission.EDIT_WORKFLOWS,
            Permission.RUN_WORKFLOWS,
            Permission.REQUEST_APPROVALS,
            Permission.DECIDE_APPROVALS,
            Permission.MANAGE_CREDENTIALS,
        }
    ),
    Role.APPROVER: frozenset(_VIEW | {Permission.DECIDE_APPROVALS, Permission.REQUEST_APPROVALS}),
    Role.VIEWER: frozenset(_VIEW),
}


def allowed(role: str, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``; an unknown role carries nothing."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
