"""``/api/v1/webhooks``: subscribing to approval events, the secret shown once, deliveries, permissions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from hitl_studio.api.app import API_PREFIX, create_app
from hitl_studio.api.routes import webhooks_out
from hitl_studio.db import session_scope
from hitl_studio.models.users import Role, User
from hitl_studio.models.webhooks import WebhookSubscription
from hitl_studio.services import approval_notifications as notifications
from hitl_studio.services.approvals import ApprovalInput, create_approval
from hitl_studio.settings import Settings
from hitl_studio.signing import verify_signature
from tests.factories import audit_rows, make_api_key, make_user
from tests.fakes.http_server import FakeHttpServer, fake_http_server

URL = f"{API_PREFIX}/webhooks"


def _app() -> FastAPI:
    app = create_app()
    # Until api/app.py includes the router itself.
    if not any(getattr(route, "path", "").startswith(URL) for route in app.routes):
        app.include_router(webhooks_out.router, prefix=API_PREFIX)
    return app


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(_app()) as test_client:
        yield test_client


@pytest.fixture
def server() -> Iterator[FakeHttpServer]:
    with fake_http_server() as fake:
        yield fake


def signed_in(role: Role) -> tuple[User, dict[str, str]]:
    user = make_user(role)
    return user, {"Authorization": f"Bearer {make_api_key(user)}"}


def subscribe(client: TestClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(URL, json={"url": "https://example.com/hooks", "events": ["*"], **body}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def error_fields(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error["fields"]


def test_the_secret_is_returned_once_and_stored_encrypted(client: TestClient) -> None:
    user, auth = signed_in(Role.BUILDER)

    created = subscribe(client, auth, events=["decision.approved", "decision.rejected"])

    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert created["url"] == "https://example.com/hooks"
    assert created["events"] == ["decision.approved", "decision.rejected"]
    assert created["owner_id"] == user.id and created["active"] is True
    listed = client.get(URL, headers=auth)
    fetched = client.get(f"{URL}/{created['id']}", headers=auth)
    assert listed.status_code == fetched.status_code == 200
    assert [row["id"] for row in listed.json()] == [created["id"]]
    for response in (listed, fetched):
        assert secret not in response.text and "secret" not in response.text
    with session_scope() as session:
        (row,) = session.exec(select(WebhookSubscription)).all()
    assert secret not in row.encrypted_secret
    assert row.encrypted_secret.startswith(f"v1:{row.key_id}:")
    assert [entry.target_id for entry in audit_rows("webhook.created")] == [created["id"]]


def test_a_chosen_secret_is_echoed_on_creation_only(client: TestClient) -> None:
    _, auth = signed_in(Role.APPROVER)
    chosen = "my-own-signing-secret-1234"

    created = subscribe(client, auth, secret=chosen)

    assert created["secret"] == chosen
    assert chosen not in client.get(URL, headers=auth).text
    with session_scope() as session:
        (row,) = session.exec(select(WebhookSubscription)).all()
    assert chosen not in row.encrypted_secret


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://example.com/x", "events": ["approval.exploded"]}, "events"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x"}, "events"),
        ({"url": "https://example.com/x", "events": "*"}, "events"),
        ({"url": "https://example.com/x", "events": ["*"], "secret": "short"}, "secret"),
        ({"url": "https://example.com/x", "events": ["*"], "colour": "red"}, "colour"),
    ],
)
def test_a_wrong_body_is_refused_naming_the_field(client: TestClient, body: dict[str, Any], field_name: str) -> None:
    _, auth = signed_in(Role.BUILDER)

    fields = error_fields(client.post(URL, json=body, headers=auth), 422, "invalid_input")

    assert field_name in fields


def test_an_anonymous_caller_gets_401_and_a_viewer_403(client: TestClient) -> None:
    _, builder = signed_in(Role.BUILDER)
    created = subscribe(client, builder)
    _, viewer = signed_in(Role.VIEWER)
    body = {"url": "https://example.com/x", "events": ["*"]}

    error_fields(client.post(URL, json=body), 401, "unauthorized")
    error_fields(client.get(URL), 401, "unauthorized")
    error_fields(client.post(URL, json=body, headers=viewer), 403, "forbidden")
    error_fields(client.get(URL, headers=viewer), 403, "forbidden")
    error_fields(client.delete(f"{URL}/{created['id']}", headers=viewer), 403, "forbidden")
    error_fields(client.get(f"{URL}/{created['id']}/deliveries", headers=viewer), 403, "forbidden")
    error_fields(client.get(f"{URL}/callback-secret", headers=viewer), 403, "forbidden")


def test_deleting_a_subscription(client: TestClient) -> None:
    _, owner = signed_in(Role.BUILDER)
    _, other = signed_in(Role.BUILDER)
    _, admin = signed_in(Role.ADMIN)
    first = subscribe(client, owner)
    second = subscribe(client, owner, url="https://example.com/second")

    error_fields(client.delete(f"{URL}/{first['id']}", headers=other), 404, "not_found")
    assert client.get(URL, headers=other).json() == []
    assert len(client.get(URL, headers=admin).json()) == 2

    assert client.delete(f"{URL}/{first['id']}", headers=owner).status_code == 204
    assert client.delete(f"{URL}/{second['id']}", headers=admin).status_code == 204

    error_fields(client.get(f"{URL}/{first['id']}", headers=owner), 404, "not_found")
    error_fields(client.delete(f"{URL}/{first['id']}", headers=owner), 404, "not_found")
    assert client.get(URL, headers=owner).json() == []
    assert sorted(entry.target_id or "" for entry in audit_rows("webhook.deleted")) == sorted(
        [first["id"], second["id"]]
    )


def _wait_for_attempts(client: TestClient, auth: dict[str, str], webhook_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        rows = client.get(f"{URL}/{webhook_id}/deliveries", headers=auth).json()
        if rows and all(row["attempts"] >= 1 for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"no attempt recorded on webhook {webhook_id}: {rows}")
        time.sleep(0.02)


def test_deliveries_show_their_attempts_and_status_codes(client: TestClient, server: FakeHttpServer) -> None:
    user, auth = signed_in(Role.BUILDER)
    approver = make_user(Role.APPROVER)
    working = subscribe(client, auth, url=server.url("/ok"), events=["approval.created"])
    failing = subscribe(client, auth, url=server.url("/status/500"), events=["approval.created"])

    approval = create_approval(ApprovalInput(title="Ship it?", approvers=[approver.email]), requested_by=user)

    (delivered,) = _wait_for_attempts(client, auth, working["id"])
    (retrying,) = _wait_for_attempts(client, auth, failing["id"])
    assert delivered["status"] == "delivered" and delivered["status_code"] == 200 and delivered["delivered_at"]
    assert delivered["approval_id"] == approval.id and delivered["event_type"] == "approval.created"
    assert retrying["status"] == "pending" and retrying["attempts"] == 1 and retrying["status_code"] == 500
    assert retrying["last_error"].startswith("HTTP 500") and retrying["next_retry_at"]
    assert retrying["max_attempts"] == notifications.MAX_ATTEMPTS
    (received,) = server.received("/ok")
    assert verify_signature(working["secret"], received.headers["x-hitl-signature"], received.body)
    _, other = signed_in(Role.BUILDER)
    error_fields(client.get(f"{URL}/{working['id']}/deliveries", headers=other), 404, "not_found")


def test_each_user_gets_their_own_callback_secret(client: TestClient) -> None:
    first, first_auth = signed_in(Role.BUILDER)
    _, second_auth = signed_in(Role.APPROVER)

    mine = client.get(f"{URL}/callback-secret", headers=first_auth)
    theirs = client.get(f"{URL}/callback-secret", headers=second_auth)

    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["secret"] == notifications.callback_signing_secret(first.id)
    assert mine.json()["header"] == "X-HITL-Signature"
    assert mine.json()["secret"] != theirs.json()["secret"]
