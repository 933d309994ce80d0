"""Every /api/v1 route against every role: 401 without a key, 403 for roles the matrix refuses.

The expected matrix is written out here on purpose (not derived from the code),
so a route whose guard changes, or a new route nobody classified, fails this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role
from hitl_studio.settings import Settings
from tests.factories import make_api_key, make_user

ALL = frozenset(Role)
BUILDERS = frozenset({Role.ADMIN, Role.BUILDER})
REQUESTERS = frozenset({Role.ADMIN, Role.BUILDER, Role.APPROVER})
ADMINS = frozenset({Role.ADMIN})

# (method, path) → roles that pass the route's guard. Public routes are listed with None.
MATRIX: dict[tuple[str, str], frozenset[Role] | None] = {
    ("GET", "/api/v1/health"): None,
    ("POST", "/api/v1/auth/login"): None,
    ("POST", "/api/v1/auth/logout"): None,
    ("POST", "/api/v1/integrations/slack/interactions"): None,
    ("GET", "/api/v1/me"): ALL,
    ("GET", "/api/v1/api-keys"): ALL,
    ("POST", "/api/v1/api-keys"): ALL,
    ("DELETE", "/api/v1/api-keys/{key_id}"): ALL,
    ("GET", "/api/v1/users"): ADMINS,
    ("POST", "/api/v1/users"): ADMINS,
    ("GET", "/api/v1/users/{user_id}"): ADMINS,
    ("PATCH", "/api/v1/users/{user_id}"): ADMINS,
    ("GET", "/api/v1/audit"): ADMINS,
    ("GET", "/api/v1/groups"): ADMINS,
    ("POST", "/api/v1/groups"): ADMINS,
    ("GET", "/api/v1/groups/{group_id}"): ADMINS,
    ("PATCH", "/api/v1/groups/{group_id}"): ADMINS,
    ("DELETE", "/api/v1/groups/{group_id}"): ADMINS,
    ("PUT", "/api/v1/groups/{group_id}/members/{user_id}"): ADMINS,
    ("DELETE", "/api/v1/groups/{group_id}/members/{user_id}"): ADMINS,
    ("GET", "/api/v1/nodes"): ALL,
    ("GET", "/api/v1/nodes/{node_type}"): ALL,
    ("GET", "/api/v1/credential-types"): ALL,
    ("GET", "/api/v1/schedules/preview"): ALL,
    ("GET", "/api/v1/workflows"): ALL,
    ("POST", "/api/v1/workflows"): BUILDERS,
    ("GET", "/api/v1/workflows/{workflow_id}"): ALL,
    ("PUT", "/api/v1/workflows/{workflow_id}"): BUILDERS,
    ("DELETE", "/api/v1/workflows/{workflow_id}"): BUILDERS,
    ("GET", "/api/v1/workflows/{workflow_id}/versions"): ALL,
    ("POST", "/api/v1/workflows/{workflow_id}/versions/{version}/restore"): BUILDERS,
    ("POST", "/api/v1/workflows/{workflow_id}/activate"): BUILDERS,
    ("POST", "/api/v1/workflows/{workflow_id}/deactivate"): BUILDERS,
    ("POST", "/api/v1/workflows/{workflow_id}/run"): BUILDERS,
    ("POST", "/api/v1/workflows/{workflow_id}/test-webhook"): BUILDERS,
    ("DELETE", "/api/v1/workflows/{workflow_id}/test-webhook"): BUILDERS,
    ("GET", "/api/v1/executions"): ALL,
    ("GET", "/api/v1/executions/{execution_id}"): ALL,
    ("POST", "/api/v1/executions/{execution_id}/retry"): BUILDERS,
    ("POST", "/api/v1/executions/{execution_id}/cancel"): BUILDERS,
    ("GET", "/api/v1/credentials"): BUILDERS,
    ("POST", "/api/v1/credentials"): BUILDERS,
    ("GET", "/api/v1/credentials/{credential_id}"): BUILDERS,
    ("PUT", "/api/v1/credentials/{credential_id}"): BUILDERS,
    ("DELETE", "/api/v1/credentials/{credential_id}"): BUILDERS,
    ("POST", "/api/v1/credentials/{credential_id}/test"): BUILDERS,
    ("POST", "/api/v1/credentials/{credential_id}/oauth/authorize"): BUILDERS,
    ("POST", "/api/v1/credentials/{credential_id}/oauth/revoke"): BUILDERS,
    # The provider's redirect: the single-use state, not a key, says whose sign-in it is.
    ("GET", "/api/v1/oauth/callback"): None,
    ("GET", "/api/v1/approvals"): ALL,
    ("POST", "/api/v1/approvals"): REQUESTERS,
    ("GET", "/api/v1/approvals/{approval_id}"): ALL,
    ("GET", "/api/v1/approvals/{approval_id}/wait"): ALL,
    # Deciding is checked by the service so that every refused attempt is logged on the request.
    ("POST", "/api/v1/approvals/{approval_id}/decision"): ALL,
    ("POST", "/api/v1/approvals/{approval_id}/cancel"): ALL,
    ("GET", "/api/v1/approvals/{approval_id}/events"): ALL,
    ("GET", "/api/v1/approvals/{approval_id}/deliveries"): ALL,
    # Like a single decision, each id is checked (and each refusal logged) by the service.
    ("POST", "/api/v1/approvals/bulk-decision"): ALL,
    ("GET", "/api/v1/approvals/{approval_id}/verify"): ALL,
    ("POST", "/api/v1/approvals/{approval_id}/events/{event_id}/restore"): ADMINS,
    ("GET", "/api/v1/webhooks"): REQUESTERS,
    ("POST", "/api/v1/webhooks"): REQUESTERS,
    ("GET", "/api/v1/webhooks/callback-secret"): REQUESTERS,
    ("GET", "/api/v1/webhooks/{webhook_id}"): REQUESTERS,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): REQUESTERS,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): REQUESTERS,
}


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    return sorted(
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith("/api/v1/")
    )


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    concrete = re.sub(r"\{version\}|\{event_id\}", "1", path)
    concrete = re.sub(r"\{[a-z_]+\}", "does-not-exist", concrete)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    response = client.request(method, concrete, json=body, headers=headers)
    return response.status_code


def test_every_route_is_in_the_matrix(client: TestClient) -> None:
    unclassified = sorted(set(_routes(client)) - set(MATRIX))
    assert not unclassified, f"classify these routes in MATRIX: {unclassified}"


def test_every_guarded_route_needs_a_key(client: TestClient) -> None:
    for method, path in _routes(client):
        if MATRIX.get((method, path)) is None:
            continue
        status = _call(client, method, path, {})
        assert status == 401, f"{method} {path} answered {status} without a key"


def test_every_role_gets_exactly_what_the_matrix_allows(client: TestClient) -> None:
    keys = {role: {"Authorization": f"Bearer {make_api_key(make_user(role))}"} for role in Role}
    for method, path in _routes(client):
        allowed = MATRIX.get((method, path))
        if allowed is None:
            continue
        for role, headers in keys.items():
            status = _call(client, method, path, headers)
            assert status < 500, f"{method} {path} as {role}: {status}"
            if role in allowed:
                assert status not in (401, 403), f"{method} {path} refused {role} ({status})"
            else:
                assert status == 403, f"{method} {path} let {role} through ({status})"
