"""The HTTP API through FastAPI's TestClient: health, authentication, errors and permissions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hitl_studio import __version__
from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role, User
from hitl_studio.services import api_keys, users
from hitl_studio.settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_api_key, make_user
from tests.servers import redis_url_or_skip

Configure = Callable[..., Settings]


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed_in(role: Role) -> tuple[User, dict[str, str]]:
    """A user of ``role`` and the headers that authenticate as them with an API key."""
    user = make_user(role)
    return user, bearer(make_api_key(user))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the API's one error shape and return its ``error`` object."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in response.text
    return error


def test_health_is_ok_in_embedded_mode(client: TestClient) -> None:
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "embedded", "version": __version__}


def test_health_reports_an_unreachable_database(configure: Configure) -> None:
    configure(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing")

    with TestClient(create_app()) as client:
        response = client.get("/api/v1/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "error: OperationalError"
    assert body["queue"] == "embedded"


def test_health_is_ok_in_queue_mode(configure: Configure) -> None:
    configure(REDIS_URL=redis_url_or_skip())

    with TestClient(create_app()) as client:
        response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json()["queue"] == "ok"


def test_health_reports_an_unreachable_redis(configure: Configure) -> None:
    configure(REDIS_URL="redis://127.0.0.1:1/0")

    with TestClient(create_app()) as client:
        response = client.get("/api/v1/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["queue"].startswith("error: ")


def test_me_without_credentials_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Basic x", "Bearer", "Bearer hitl_not-a-real-key", "Bearer not-a-session"],
    ids=["basic", "empty-bearer", "unknown-key", "unknown-session"],
)
def test_me_with_bad_credentials_is_401(client: TestClient, authorization: str) -> None:
    assert_error(client.get("/api/v1/me", headers={"Authorization": authorization}), 401, "unauthorized")


def test_me_with_a_revoked_key_is_401(client: TestClient) -> None:
    user = make_user(Role.BUILDER)
    created = api_keys.create_api_key(user, "agent")
    api_keys.revoke_api_key(created.api_key.id, actor=user)

    assert_error(client.get("/api/v1/me", headers=bearer(created.secret)), 401, "unauthorized")


def test_me_with_an_api_key(client: TestClient) -> None:
    user, headers = signed_in(Role.VIEWER)

    response = client.get("/api/v1/me", headers=headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["email"], body["role"]) == (user.id, user.email, "viewer")
    assert body["permissions"] == ["use_api_keys", "view_approvals", "view_workflows"]
    assert "password_hash" not in body


def test_a_session_token_works_until_logout(client: TestClient) -> None:
    user = make_user(Role.APPROVER)

    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})

    assert login.status_code == 200
    body = login.json()
    assert body["user"]["email"] == user.email
    assert "password_hash" not in body["user"]
    headers = bearer(body["token"])
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "approver"

    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204

    assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_login_with_a_wrong_password_is_401(client: TestClient) -> None:
    user = make_user()

    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": "not the password"})

    assert_error(response, 401, "unauthorized")


def test_login_is_throttled_after_too_many_failures(client: TestClient, configure: Configure) -> None:
    configure(HITL_LOGIN_MAX_FAILURES="3")
    user = make_user()
    wrong = {"email": user.email, "password": "not the password"}
    statuses = [client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert_error(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) > 0


def test_login_refuses_unknown_fields(client: TestClient) -> None:
    body = {"email": "ana@example.com", "password": DEFAULT_PASSWORD, "remember_me": True}

    error = assert_error(client.post("/api/v1/auth/login", json=body), 422, "invalid_input")

    assert list(error["fields"]) == ["remember_me"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_viewer_cannot_manage_users(client: TestClient, method: str) -> None:
    _, headers = signed_in(Role.VIEWER)
    body = {"email": "new@example.com", "password": DEFAULT_PASSWORD}

    response = client.request(method, "/api/v1/users", headers=headers, json=body if method == "POST" else None)

    assert_error(response, 403, "forbidden")
    assert users.find_user_by_email("new@example.com") is None


def test_an_admin_creates_and_lists_users(client: TestClient) -> None:
    admin, headers = signed_in(Role.ADMIN)
    body = {"email": "New@Example.com", "name": "New", "role": "builder", "password": DEFAULT_PASSWORD}

    response = client.post("/api/v1/users", headers=headers, json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["email"], created["role"], created["active"]) == ("new@example.com", "builder", True)
    assert "password_hash" not in created
    assert "password" not in created
    listed = client.get("/api/v1/users", headers=headers).json()
    assert [user["email"] for user in listed] == [admin.email, "new@example.com"]
    assert client.get(f"/api/v1/users/{created['id']}", headers=headers).json() == created

    duplicate = client.post("/api/v1/users", headers=headers, json={**body, "email": "new@example.com"})
    assert "email" in assert_error(duplicate, 409, "conflict")["fields"]


def test_creating_a_user_with_a_bad_email_is_422(client: TestClient) -> None:
    _, headers = signed_in(Role.ADMIN)
    body = {"email": "not-an-email", "password": DEFAULT_PASSWORD}

    error = assert_error(client.post("/api/v1/users", headers=headers, json=body), 422, "invalid_input")

    assert set(error["fields"]) == {"email"}


def test_an_admin_changes_a_role(client: TestClient) -> None:
    _, headers = signed_in(Role.ADMIN)
    viewer = make_user(Role.VIEWER)

    response = client.patch(f"/api/v1/users/{viewer.id}", headers=headers, json={"role": "approver"})

    assert response.status_code == 200
    assert response.json()["role"] == "approver"
    assert users.get_user(viewer.id).role == Role.APPROVER


def test_patching_an_unknown_user_is_404(client: TestClient) -> None:
    _, headers = signed_in(Role.ADMIN)

    assert_error(client.patch("/api/v1/users/no-such-id", headers=headers, json={"role": "viewer"}), 404, "not_found")


def test_the_last_admin_cannot_demote_themselves(client: TestClient) -> None:
    admin, headers = signed_in(Role.ADMIN)

    response = client.patch(f"/api/v1/users/{admin.id}", headers=headers, json={"role": "viewer"})

    assert "role" in assert_error(response, 422, "invalid_input")["fields"]
    assert users.get_user(admin.id).role == Role.ADMIN


def test_an_api_key_is_returned_once(client: TestClient) -> None:
    _, headers = signed_in(Role.BUILDER)

    response = client.post("/api/v1/api-keys", headers=headers, json={"name": "ci agent"})

    assert response.status_code == 201, response.text
    created = response.json()
    key = created["key"]
    assert key.startswith("hitl_")
    assert key.startswith(created["prefix"])
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    listing = client.get("/api/v1/api-keys", headers=headers)
    assert listing.status_code == 200
    assert created["id"] in {item["id"] for item in listing.json()}
    assert all("key" not in item for item in listing.json())
    assert key not in listing.text


def test_only_an_admin_revokes_someone_elses_key(client: TestClient) -> None:
    owner = make_user(Role.BUILDER)
    created = api_keys.create_api_key(owner, "agent")
    _, stranger = signed_in(Role.BUILDER)
    _, admin = signed_in(Role.ADMIN)
    path = f"/api/v1/api-keys/{created.api_key.id}"

    assert_error(client.delete(path, headers=stranger), 404, "not_found")
    assert client.get("/api/v1/me", headers=bearer(created.secret)).status_code == 200

    assert client.delete(path, headers=admin).status_code == 204
    assert_error(client.get("/api/v1/me", headers=bearer(created.secret)), 401, "unauthorized")


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json")

    assert schema.status_code == 200
    assert {"/api/v1/health", "/api/v1/me"} <= set(schema.json()["paths"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
