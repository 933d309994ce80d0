"""Credentials over HTTP: stored encrypted, never echoed, visible only to their owner, sharers and admins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from hitl_studio.api.app import create_app
from hitl_studio.db import session_scope
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import Role
from hitl_studio.services import credentials
from hitl_studio.settings import Settings
from tests.factories import make_api_key, make_user

SECRET = "sk-live-0123456789-very-secret"


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def headers(role: Role) -> tuple[str, dict[str, str]]:
    user = make_user(role)
    return user.id, {"Authorization": f"Bearer {make_api_key(user)}"}


def create(client: TestClient, auth: dict[str, str], **extra: object) -> dict:
    body = {"name": "Billing API", "type": "http_header_auth", "data": {"name": "X-Api-Key", "value": SECRET}, **extra}
    response = client.post("/api/v1/credentials", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_created_credential_is_never_echoed_and_is_encrypted_at_rest(client: TestClient) -> None:
    _, builder = headers(Role.BUILDER)

    created = create(client, builder)

    assert created["fields"] == {"name": "set", "value": "set"}
    assert SECRET not in str(created)
    fetched = client.get(f"/api/v1/credentials/{created['id']}", headers=builder)
    assert fetched.status_code == 200 and SECRET not in fetched.text
    assert SECRET not in client.get("/api/v1/credentials", headers=builder).text
    with session_scope() as session:
        (row,) = session.exec(select(Credential)).all()
    assert SECRET not in row.encrypted_data
    assert row.encrypted_data.startswith(f"v1:{row.key_id}:")


def test_only_the_owner_sharers_and_admins_see_a_credential(client: TestClient) -> None:
    _, owner = headers(Role.BUILDER)
    other_id, other = headers(Role.BUILDER)
    _, admin = headers(Role.ADMIN)
    created = create(client, owner)

    assert client.get(f"/api/v1/credentials/{created['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/credentials", headers=other).json() == []
    assert client.get(f"/api/v1/credentials/{created['id']}", headers=admin).status_code == 200

    shared = client.put(f"/api/v1/credentials/{created['id']}", json={"shared_with": [other_id]}, headers=owner)
    assert shared.status_code == 200
    assert [row["id"] for row in client.get("/api/v1/credentials", headers=other).json()] == [created["id"]]
    forbidden = client.put(f"/api/v1/credentials/{created['id']}", json={"name": "mine now"}, headers=other)
    assert forbidden.status_code == 403


def test_updating_some_fields_keeps_the_others(client: TestClient) -> None:
    _, builder = headers(Role.BUILDER)
    created = create(client, builder)

    response = client.put(f"/api/v1/credentials/{created['id']}", json={"data": {"name": "X-Key"}}, headers=builder)

    assert response.status_code == 200
    stored = credentials.get_credential(created["id"], credentials_owner(created["owner_id"]))
    assert credentials.open_data(stored) == {"name": "X-Key", "value": SECRET}


def credentials_owner(user_id: str):  # type: ignore[no-untyped-def]
    from hitl_studio.services.users import get_user

    return get_user(user_id)


def test_bad_input_is_a_422_naming_the_field(client: TestClient) -> None:
    _, builder = headers(Role.BUILDER)

    unknown = client.post("/api/v1/credentials", json={"name": "x", "type": "nope", "data": {}}, headers=builder)
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"] == {"type": "Unknown type."}
    missing = client.post(
        "/api/v1/credentials", json={"name": "x", "type": "http_header_auth", "data": {"name": "X"}}, headers=builder
    )
    assert missing.status_code == 422 and "value" in missing.json()["error"]["fields"]
    extra = client.post(
        "/api/v1/credentials", json={"name": "x", "type": "http_header_auth", "oops": 1}, headers=builder
    )
    assert extra.status_code == 422


def test_roles_without_the_permission_get_403_and_anonymous_401(client: TestClient) -> None:
    for role in (Role.VIEWER, Role.APPROVER):
        _, auth = headers(role)
        response = client.get("/api/v1/credentials", headers=auth)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/credentials").status_code == 401


def test_a_type_without_a_test_says_so_and_delete_removes(client: TestClient) -> None:
    _, builder = headers(Role.BUILDER)
    created = create(client, builder)

    tested = client.post(f"/api/v1/credentials/{created['id']}/test", headers=builder)
    assert tested.status_code == 422 and "no connection test" in tested.json()["error"]["message"]
    assert client.delete(f"/api/v1/credentials/{created['id']}", headers=builder).status_code == 204
    assert client.get(f"/api/v1/credentials/{created['id']}", headers=builder).status_code == 404


def test_a_tampered_credential_is_reported_not_decrypted(client: TestClient) -> None:
    _, builder = headers(Role.BUILDER)
    created = create(client, builder)
    with session_scope() as session:
        row = session.get(Credential, created["id"])
        assert row is not None
        row.encrypted_data = row.encrypted_data[:-6] + "AAAAAA"
        session.add(row)

    response = client.get(f"/api/v1/credentials/{created['id']}", headers=builder)

    assert response.status_code == 400
    assert "tampered" in response.json()["error"]["message"]


def test_deleting_a_credential_a_workflow_selects_is_refused_with_409_naming_it(client: TestClient) -> None:
    _, builder = headers(Role.BUILDER)
    created = create(client, builder)
    node = {
        "id": "call",
        "name": "Call",
        "type": "http.request",
        "position": [240, 0],
        "parameters": {"url": "http://127.0.0.1:9/", "authentication": "header"},
        "credentials": {"http_header_auth": {"id": created["id"], "name": "Billing API"}},
    }
    graph = {
        "name": "Invoices",
        "nodes": [
            {"id": "start", "name": "Start", "type": "trigger.manual", "position": [0, 0], "parameters": {}},
            node,
        ],
        "connections": {"Start": {"main": [[{"node": "Call", "type": "main", "index": 0}]]}},
    }
    workflow = client.post("/api/v1/workflows", json=graph, headers=builder)
    assert workflow.status_code == 201, workflow.text

    refused = client.delete(f"/api/v1/credentials/{created['id']}", headers=builder)
    assert refused.status_code == 409
    assert "'Invoices'" in refused.json()["error"]["message"]
    assert client.get(f"/api/v1/credentials/{created['id']}", headers=builder).status_code == 200

    assert client.delete(f"/api/v1/workflows/{workflow.json()['id']}", headers=builder).status_code == 204
    assert client.delete(f"/api/v1/credentials/{created['id']}", headers=builder).status_code == 204
