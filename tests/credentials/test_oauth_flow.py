"""An OAuth2 connection end to end, against a real authorization server on 127.0.0.1.

Connect through the API as a browser would (authorize → the provider's redirect
→ the studio's callback), then run an HTTP Request node with the credential on
a worker: it succeeds, survives the provider dropping its access token (401 →
refresh → retry) and the token nearing its expiry (refreshed before use), never
leaks a token into what the run keeps, and fails clearly once revoked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from hitl_studio.api.app import create_app
from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.credentials import OAuthConnection
from hitl_studio.models.users import Role, User
from hitl_studio.services import executions, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import audit_rows, make_api_key, make_user
from tests.fakes.oauth_server import CLIENT_SECRET, FakeOAuthServer, fake_oauth_server
from tests.runs import wait_for_run
from tests.workflows import node, workflow


@pytest.fixture
def provider() -> Iterator[FakeOAuthServer]:
    with fake_oauth_server() as fake:
        yield fake


@pytest.fixture
def client(database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def connect(client: TestClient, auth: dict[str, str], provider: FakeOAuthServer) -> str:
    """Create an OAuth2 credential and connect it the way a person's browser does; returns its id."""
    created = client.post(
        "/api/v1/credentials",
        json={"name": "Fake API", "type": "oauth2", "data": provider.credential_data()},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    credential_id = created.json()["id"]
    assert created.json()["oauth"] == {"connected": False, "expires_at": None, "scopes": []}
    started = client.post(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=auth)
    assert started.status_code == 200, started.text
    assert started.json()["redirect_uri"] == "http://localhost:8000/api/v1/oauth/callback"

    at_provider = httpx.get(started.json()["authorization_url"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = httpx.URL(at_provider.headers["location"])
    assert str(back).startswith("http://localhost:8000/api/v1/oauth/callback?")
    landed = client.get(back.raw_path.decode(), follow_redirects=False)

    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == f"http://localhost:3000/credentials?connected={credential_id}"
    return credential_id


def resource_flow(provider: FakeOAuthServer, credential_id: str, owner: User) -> str:
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node(
                "Call",
                "http.request",
                {"url": provider.url("/resource"), "authentication": "oauth2"},
                credentials={"oauth2": {"id": credential_id}},
            ),
        ],
        [("Start", "Call")],
    )
    return workflows.create_workflow(WorkflowInput(**{**data, "name": "call the API"}), actor=owner).id


def run_on_a_worker(workflow_id: str) -> tuple[Any, str]:
    """Start a run (a worker thread runs it), wait for its end; returns it and everything it stored, as JSON."""
    finished = wait_for_run(executions.start_execution(workflow_id, [{}]).id)
    stored, steps, history = executions.get_execution(finished.id)
    kept = json.dumps(
        [
            stored.error,
            [step.model_dump(mode="json") for step in steps],
            [executions.step_data(step) for step in steps],
            [event.model_dump(mode="json") for event in history],
        ],
        default=str,
    )
    return finished, kept


def test_connect_use_on_a_worker_refresh_on_401_and_before_expiry_then_revoke(
    client: TestClient, provider: FakeOAuthServer
) -> None:
    builder = make_user(Role.BUILDER)
    auth = {"Authorization": f"Bearer {make_api_key(builder)}"}

    credential_id = connect(client, auth, provider)

    shown = client.get(f"/api/v1/credentials/{credential_id}", headers=auth).json()
    assert shown["oauth"]["connected"] is True and shown["oauth"]["scopes"] == ["read", "write"]
    assert shown["oauth"]["expires_at"] is not None
    assert "access_token" not in shown["fields"] and shown["fields"]["client_secret"] == "set"
    (first_token,) = provider.live_access_tokens()
    assert provider.grants == ["authorization_code"]
    with session_scope() as session:
        (row,) = session.exec(select(OAuthConnection)).all()
    assert first_token not in row.encrypted_tokens and row.encrypted_tokens.startswith(f"v1:{row.key_id}:")
    flow = resource_flow(provider, credential_id, builder)

    finished, kept = run_on_a_worker(flow)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert provider.resource_calls == ["ok"]
    assert first_token not in kept and '"authorization": "Bearer ***"' in kept

    # The provider drops the token early: the node gets a 401, the studio refreshes, the node retries.
    provider.expire_access_tokens()
    finished, kept = run_on_a_worker(flow)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert provider.resource_calls == ["ok", "401", "ok"]
    assert provider.grants == ["authorization_code", "refresh_token"]
    (second_token,) = provider.live_access_tokens()
    assert first_token not in kept and second_token not in kept

    # The stored expiry is near: the studio refreshes before the node sends anything.
    with session_scope() as session:
        session.execute(
            text("UPDATE oauth_connection SET expires_at = :soon"), {"soon": utcnow() + timedelta(seconds=5)}
        )
    finished, kept = run_on_a_worker(flow)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert provider.resource_calls == ["ok", "401", "ok", "ok"]
    assert provider.grants == ["authorization_code", "refresh_token", "refresh_token"]
    assert len(provider.live_access_tokens()) == 2 and second_token not in kept
    assert provider.refused == []

    revoked = client.post(f"/api/v1/credentials/{credential_id}/oauth/revoke", headers=auth)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["oauth"] == {"connected": False, "expires_at": None, "scopes": []}
    assert provider.live_access_tokens() == [] and len(provider.revoked) == 1
    finished, _ = run_on_a_worker(flow)
    assert finished.status == RunStatus.FAILED
    assert finished.error is not None and "is not connected to an account" in finished.error["message"]

    assert [row.after for row in audit_rows("credential.oauth_connected")] == [
        {
            "provider": "generic",
            "scopes": ["read", "write"],
            "expires_at": shown["oauth"]["expires_at"],
            "refreshable": True,
        }
    ]
    # Each time a node asked for the token: once per run, and twice more around the renewal after the 401.
    used = audit_rows("credential.used")
    assert len(used) == 6 and all(row.actor_label == f"execution {row.after['execution_id']}" for row in used)
    assert [row.after for row in audit_rows("credential.oauth_revoked")] == [
        {"revoked_at_provider": True, "provider_error": None}
    ]
    assert CLIENT_SECRET not in json.dumps([row.model_dump(mode="json") for row in used])
