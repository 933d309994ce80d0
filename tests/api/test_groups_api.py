"""User groups over HTTP (admins): members, renames, and never pulling a group from under a pending request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role, User
from hitl_studio.settings import Settings
from tests.factories import audit_rows, make_api_key, make_user


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def admin() -> tuple[User, dict[str, str]]:
    user = make_user(Role.ADMIN)
    return user, {"Authorization": f"Bearer {make_api_key(user)}"}


def create(client: TestClient, auth: dict[str, str], name: str = "ops", **extra: object) -> dict:
    response = client.post("/api/v1/groups", json={"name": name, **extra}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_group_is_created_filled_and_emptied(client: TestClient, admin: tuple[User, dict[str, str]]) -> None:
    actor, auth = admin
    approver = make_user(Role.APPROVER, email="ana@example.com")
    group = create(client, auth, "On call", description="Whoever carries the pager")

    assert (group["name"], group["address"], group["members"]) == ("On call", "group:On call", [])
    added = client.put(f"/api/v1/groups/{group['id']}/members/{approver.id}", headers=auth)
    again = client.put(f"/api/v1/groups/{group['id']}/members/{approver.id}", headers=auth)
    assert added.status_code == again.status_code == 200
    assert [member["email"] for member in again.json()["members"]] == ["ana@example.com"]
    listed = client.get("/api/v1/groups", headers=auth).json()
    assert [(row["name"], len(row["members"])) for row in listed] == [("On call", 1)]
    assert client.get(f"/api/v1/groups/{group['id']}", headers=auth).json() == again.json()

    removed = client.delete(f"/api/v1/groups/{group['id']}/members/{approver.id}", headers=auth)
    assert removed.status_code == 200 and removed.json()["members"] == []
    assert client.delete(f"/api/v1/groups/{group['id']}/members/{approver.id}", headers=auth).status_code == 404

    assert [row.after for row in audit_rows("group.created")] == [
        {"name": "On call", "description": "Whoever carries the pager"}
    ]
    (joined,) = audit_rows("group.member_added")
    assert joined.actor_id == actor.id and joined.after == {
        "group": "On call",
        "user_id": approver.id,
        "email": "ana@example.com",
    }
    assert len(audit_rows("group.member_removed")) == 1


def test_names_are_checked_and_unique(client: TestClient, admin: tuple[User, dict[str, str]]) -> None:
    _, auth = admin
    first = create(client, auth, "ops")
    create(client, auth, "billing")

    for bad in ("", " ", "-ops", "ops:eu", "x" * 101):
        response = client.post("/api/v1/groups", json={"name": bad}, headers=auth)
        assert response.status_code == 422 and "name" in response.json()["error"]["fields"], bad
    taken = client.post("/api/v1/groups", json={"name": "OPS"}, headers=auth)
    assert taken.status_code == 409 and taken.json()["error"]["fields"] == {"name": "Already taken."}
    renamed = client.patch(f"/api/v1/groups/{first['id']}", json={"name": "billing"}, headers=auth)
    assert renamed.status_code == 409
    assert client.post("/api/v1/groups", json={"name": "x", "extra": 1}, headers=auth).status_code == 422
    long_text = client.patch(f"/api/v1/groups/{first['id']}", json={"description": "d" * 501}, headers=auth)
    assert long_text.status_code == 422 and "description" in long_text.json()["error"]["fields"]

    changed = client.patch(
        f"/api/v1/groups/{first['id']}", json={"name": "ops-eu", "description": "Europe"}, headers=auth
    )
    assert changed.status_code == 200 and changed.json()["address"] == "group:ops-eu"
    (update,) = audit_rows("group.updated")
    assert (update.before, update.after) == (
        {"name": "ops", "description": ""},
        {"name": "ops-eu", "description": "Europe"},
    )


def test_unknown_groups_and_users_are_404(client: TestClient, admin: tuple[User, dict[str, str]]) -> None:
    _, auth = admin
    group = create(client, auth)

    assert client.get("/api/v1/groups/nope", headers=auth).status_code == 404
    assert client.patch("/api/v1/groups/nope", json={"name": "x"}, headers=auth).status_code == 404
    assert client.delete("/api/v1/groups/nope", headers=auth).status_code == 404
    assert client.put(f"/api/v1/groups/{group['id']}/members/nobody", headers=auth).status_code == 404
    assert client.put("/api/v1/groups/nope/members/nobody", headers=auth).status_code == 404


def test_a_group_a_pending_request_names_cannot_be_deleted_or_renamed(
    client: TestClient, admin: tuple[User, dict[str, str]]
) -> None:
    _, auth = admin
    group = create(client, auth, "ops")
    create(client, auth, "managers")
    direct = client.post(
        "/api/v1/approvals", json={"title": "Refund order 1234?", "approvers": ["group:ops"]}, headers=auth
    ).json()
    later = client.post(
        "/api/v1/approvals",
        json={
            "title": "Delete the staging database?",
            "approvers": ["group:managers"],
            "timeout_seconds": 600,
            "timeout_action": "escalate",
            "escalation": [{"approvers": ["group:ops"], "timeout_seconds": 600}],
        },
        headers=auth,
    ).json()

    deleting = client.delete(f"/api/v1/groups/{group['id']}", headers=auth)
    renaming = client.patch(f"/api/v1/groups/{group['id']}", json={"name": "ops-new"}, headers=auth)

    assert deleting.status_code == renaming.status_code == 409
    message = deleting.json()["error"]["message"]
    assert message.startswith("Cannot delete group 'ops': 2 pending approval request(s) are addressed to it: ")
    assert f"{direct['id']} ('Refund order 1234?')" in message and later["id"] in message
    assert renaming.json()["error"]["message"].startswith("Cannot rename group 'ops'")
    assert client.patch(f"/api/v1/groups/{group['id']}", json={"description": "fine"}, headers=auth).status_code == 200

    for approval in (direct, later):
        assert client.post(f"/api/v1/approvals/{approval['id']}/cancel", json={}, headers=auth).status_code == 200
    assert client.delete(f"/api/v1/groups/{group['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/groups/{group['id']}", headers=auth).status_code == 404
    (deleted,) = audit_rows("group.deleted")
    assert deleted.before == {"name": "ops", "description": "fine", "members": []}


def test_only_admins_manage_groups(client: TestClient, admin: tuple[User, dict[str, str]]) -> None:
    _, auth = admin
    group = create(client, auth)
    builder = {"Authorization": f"Bearer {make_api_key(make_user(Role.BUILDER))}"}

    assert client.get("/api/v1/groups", headers=builder).status_code == 403
    assert client.post("/api/v1/groups", json={"name": "mine"}, headers=builder).status_code == 403
    assert client.delete(f"/api/v1/groups/{group['id']}", headers=builder).status_code == 403
    assert client.get("/api/v1/groups").status_code == 401
