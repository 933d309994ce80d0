"""``GET /api/v1/audit``: admins read the log with filters and paging; nobody can change it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.db import utcnow
from hitl_studio.models.users import Role, User
from hitl_studio.services import auth, credentials
from hitl_studio.services.errors import NotAuthenticated
from hitl_studio.settings import Settings
from tests.factories import make_api_key, make_user

URL = "/api/v1/audit"
SECRET = "audit-must-never-hold-this-secret"


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_api_key(user)}"}


def _failed_login(email: str) -> None:
    with pytest.raises(NotAuthenticated):
        auth.login(email, "not-the-password", ip="127.0.0.9")


def test_admins_list_the_log_newest_first_with_a_total(client: TestClient) -> None:
    admin = make_user(Role.ADMIN, email="root@example.com")
    headers = _auth(admin)
    credentials.create_credential("Billing API", "http_header_auth", {"name": "X-Key", "value": SECRET}, actor=admin)
    _failed_login("mallory@example.com")

    response = client.get(URL, headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    actions = [row["action"] for row in body["items"]]
    assert actions[:2] == ["auth.login_failed", "credential.created"]
    assert body["total"] == len(body["items"]) and body["limit"] == 50 and body["offset"] == 0
    created = body["items"][1]
    assert created["actor"] == "root@example.com" and created["actor_id"] == admin.id
    assert created["target_type"] == "credential" and created["after"] == {
        "name": "Billing API",
        "type": "http_header_auth",
    }
    assert SECRET not in response.text


def test_filters_narrow_the_log(client: TestClient) -> None:
    admin = make_user(Role.ADMIN, email="root@example.com")
    builder = make_user(Role.BUILDER, email="bob@example.com")
    headers = _auth(admin)
    credentials.create_credential("Billing API", "http_header_auth", {"name": "X", "value": SECRET}, actor=admin)
    credentials.create_credential("Mail relay", "http_header_auth", {"name": "X", "value": SECRET}, actor=builder)
    _failed_login("mallory@example.com")

    by_action = client.get(URL, params={"action": "credential.created"}, headers=headers).json()
    assert {row["after"]["name"] for row in by_action["items"]} == {"Billing API", "Mail relay"}

    by_actor = client.get(URL, params={"actor": "BOB@"}, headers=headers).json()
    assert [(row["actor"], row["action"]) for row in by_actor["items"]] == [("bob@example.com", "credential.created")]
    by_actor_id = client.get(URL, params={"actor": builder.id}, headers=headers).json()
    assert by_actor_id["items"] == by_actor["items"]

    failed = client.get(URL, params={"action": "auth.login_failed", "target_type": "user"}, headers=headers).json()
    assert [row["target_id"] for row in failed["items"]] == ["mallory@example.com"]
    assert failed["items"][0]["ip"] == "127.0.0.9"

    searched = client.get(URL, params={"q": "mail RELAY"}, headers=headers).json()
    assert [row["after"]["name"] for row in searched["items"]] == ["Mail relay"]
    assert client.get(URL, params={"q": "100%_"}, headers=headers).json()["total"] == 0

    by_target = client.get(URL, params={"target_id": builder.id}, headers=headers).json()
    assert [row["action"] for row in by_target["items"]] == ["user.created"]


def test_date_range_and_paging(client: TestClient) -> None:
    admin = make_user(Role.ADMIN)
    headers = _auth(admin)
    for n in range(5):
        _failed_login(f"guess-{n}@example.com")
    now = utcnow()

    everything = client.get(URL, params={"action": "auth.login_failed"}, headers=headers).json()
    assert everything["total"] == 5
    first = client.get(URL, params={"action": "auth.login_failed", "limit": 2}, headers=headers).json()
    second = client.get(URL, params={"action": "auth.login_failed", "limit": 2, "offset": 2}, headers=headers).json()
    assert first["total"] == second["total"] == 5
    assert [row["target_id"] for row in first["items"]] == ["guess-4@example.com", "guess-3@example.com"]
    assert [row["target_id"] for row in second["items"]] == ["guess-2@example.com", "guess-1@example.com"]

    window = {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    assert client.get(URL, params={**window, "action": "auth.login_failed"}, headers=headers).json()["total"] == 5
    later = {"since": (now + timedelta(hours=1)).replace(tzinfo=None).isoformat()}
    assert client.get(URL, params=later, headers=headers).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_without_a_key_it_is_401(client: TestClient) -> None:
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("role", [Role.BUILDER, Role.APPROVER, Role.VIEWER])
def test_roles_other_than_admin_get_403(client: TestClient, role: Role) -> None:
    response = client.get(URL, headers=_auth(make_user(role)))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-40"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_filters_are_422_naming_the_field(client: TestClient, params: dict[str, object], field: str) -> None:
    response = client.get(URL, params=params, headers=_auth(make_user(Role.ADMIN)))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert field in error["fields"]
    assert field in error["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_log_cannot_be_changed_through_the_api(client: TestClient, method: str) -> None:
    response = client.request(method, URL, json={}, headers=_auth(make_user(Role.ADMIN)))

    assert response.status_code == 405
