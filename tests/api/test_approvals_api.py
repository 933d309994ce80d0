"""Approvals over HTTP: requests and their validation, who sees and decides what, long polls, the audit log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import Decider
from hitl_studio.settings import Settings
from tests.api.test_api import assert_error, bearer, signed_in
from tests.factories import make_api_key, make_user

API = "/api/v1/approvals"
Headers = dict[str, str]
FORM = {
    "type": "object",
    "properties": {"amount": {"type": "number", "maximum": 100}, "note": {"type": "string"}},
    "required": ["amount"],
}
SNAPSHOT_FIELDS = {
    "id",
    "title",
    "description",
    "status",
    "decision",
    "response_data",
    "feedback",
    "approvers",
    "channels",
    "ui_schema",
    "action_type",
    "action_data",
    "expires_at",
    "timeout_action",
    "escalation",
    "escalation_tier",
    "quorum",
    "votes",
    "allow_self_approval",
    "callback_url",
    "agent_id",
    "requested_by",
    "responded_by",
    "responded_at",
    "execution_id",
    "node_id",
    "reminders",
    "next_reminder_at",
    "idempotency_key",
    "created_at",
    "updated_at",
}


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


class People:
    """An agent (builder) asking, two approvers, an admin and a viewer, each with API-key headers.

    Each is created on first use (a user costs a password hash).
    """

    def __init__(self) -> None:
        self._made: dict[str, tuple[User, Headers]] = {}

    def _person(self, name: str, role: Role) -> tuple[User, Headers]:
        if name not in self._made:
            self._made[name] = signed_in(role)
        return self._made[name]

    agent = property(lambda self: self._person("agent", Role.BUILDER)[0])
    agent_h = property(lambda self: self._person("agent", Role.BUILDER)[1])
    ana = property(lambda self: self._person("ana", Role.APPROVER)[0])
    ana_h = property(lambda self: self._person("ana", Role.APPROVER)[1])
    bob = property(lambda self: self._person("bob", Role.APPROVER)[0])
    bob_h = property(lambda self: self._person("bob", Role.APPROVER)[1])
    admin = property(lambda self: self._person("admin", Role.ADMIN)[0])
    admin_h = property(lambda self: self._person("admin", Role.ADMIN)[1])
    viewer = property(lambda self: self._person("viewer", Role.VIEWER)[0])
    viewer_h = property(lambda self: self._person("viewer", Role.VIEWER)[1])


@pytest.fixture
def people(sqlite_database: Settings) -> People:
    return People()


def create(client: TestClient, headers: Headers, approvers: list[User], **fields: Any) -> dict[str, Any]:
    body = {"title": "Refund 40 €?", "approvers": [user.email for user in approvers], **fields}
    response = client.post(API, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def decide(client: TestClient, approval_id: str, headers: Headers, decision: str, **fields: Any) -> httpx.Response:
    return client.post(f"{API}/{approval_id}/decision", headers=headers, json={"decision": decision, **fields})


def event_types(client: TestClient, approval_id: str, headers: Headers) -> list[str]:
    response = client.get(f"{API}/{approval_id}/events", headers=headers)
    assert response.status_code == 200, response.text
    return [event["type"] for event in response.json()]


def test_a_request_is_created_pending_with_its_full_snapshot(client: TestClient, people: People) -> None:
    body = {
        "title": "Refund 40 €?",
        "description": "Parcel lost.",
        "approvers": [people.ana.email.upper(), people.bob.email],
        "channels": ["email", "slack"],
        "ui_schema": FORM,
        "timeout_seconds": 600,
        "action_type": "refund",
        "action_data": {"order": "#1234", "amount": 40},
        "callback_url": "https://agent.example.com/hooks/approval",
        "agent_id": "support-bot",
    }

    response = client.post(API, headers=people.agent_h, json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == SNAPSHOT_FIELDS | {"callback_secret"}  # only here, for checking callbacks' signatures
    assert created.pop("callback_secret")
    assert created["id"] and created["status"] == "pending" and created["decision"] is None
    assert created["approvers"] == [people.ana.email, people.bob.email]
    assert created["channels"] == ["studio", "slack", "email"]
    assert created["requested_by"] == people.agent.id
    assert created["ui_schema"] == FORM and created["action_data"] == {"order": "#1234", "amount": 40}
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert timedelta(seconds=590) < expires_at - datetime.now(UTC) <= timedelta(seconds=600)
    assert (created["timeout_action"], created["quorum"], created["votes"]) == ("reject", 1, [])
    assert client.get(f"{API}/{created['id']}", headers=people.agent_h).json() == created


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"approvers": ["nobody@example.com"]}, "approvers"),
        ({"approvers": ["group:ghosts"]}, "approvers"),
        ({"approvers": []}, "approvers"),
        ({"channels": ["pigeon"]}, "channels"),
        ({"expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, "expires_at"),
        ({"expires_at": "next tuesday"}, "expires_at"),
        ({"ui_schema": {"type": "object", "properties": {"n": {"type": "numbr"}}}}, "ui_schema"),
        ({"ui_schema": {"type": "string"}}, "ui_schema"),
        ({"timeout_seconds": "soon"}, "timeout_seconds"),
        ({"timeout_action": "explode"}, "timeout_action"),
        ({"callback_url": "ftp://agent.example.com"}, "callback_url"),
        ({"colour": "red"}, "colour"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_requests_are_422_naming_the_field(
    client: TestClient, people: People, fields: dict[str, Any], field: str
) -> None:
    body = {"title": "Refund?", "approvers": [people.ana.email], **fields}

    error = assert_error(client.post(API, headers=people.agent_h, json=body), 422, "invalid_input")

    assert field in error["fields"], error
    assert approvals.list_approvals(people.agent)[1] == 0


def test_the_requester_the_approvers_and_admins_see_a_request_and_no_one_else(
    client: TestClient, people: People
) -> None:
    created = create(client, people.agent_h, [people.ana])
    path = f"{API}/{created['id']}"

    for headers in (people.agent_h, people.ana_h, people.admin_h):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == created
    assert_error(client.get(path, headers=people.bob_h), 404, "not_found")
    assert_error(client.get(f"{path}/events", headers=people.viewer_h), 404, "not_found")
    assert_error(client.get(f"{API}/no-such-id", headers=people.admin_h), 404, "not_found")
    assert [item["id"] for item in client.get(API, headers=people.bob_h).json()["items"]] == []


def test_without_a_key_everything_is_401(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])

    assert_error(client.post(API, json={"title": "x", "approvers": [people.ana.email]}), 401, "unauthorized")
    assert_error(client.get(API), 401, "unauthorized")
    assert_error(client.get(f"{API}/{created['id']}/wait?timeout=0"), 401, "unauthorized")
    assert_error(decide(client, created["id"], {}, "approve"), 401, "unauthorized")
    assert_error(decide(client, created["id"], bearer("hitl_not-a-real-key"), "approve"), 401, "unauthorized")


def test_a_viewer_may_not_request(client: TestClient, people: People) -> None:
    body = {"title": "x", "approvers": [people.ana.email]}

    assert_error(client.post(API, headers=people.viewer_h, json=body), 403, "forbidden")


def test_my_inbox_lists_pending_first_then_soonest_due(client: TestClient, people: People) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    later = create(client, people.agent_h, [people.ana], timeout_seconds=3600)
    undated = create(client, people.agent_h, [people.ana])
    decided = create(client, people.agent_h, [people.ana], timeout_seconds=60)
    soonest = create(client, people.agent_h, [people.ana], expires_at=soon.isoformat())
    others = create(client, people.agent_h, [people.bob], timeout_seconds=10)
    assert decide(client, decided["id"], people.ana_h, "reject").status_code == 200

    mine = client.get(API, headers=people.ana_h, params={"mine": "true"}).json()
    visible = client.get(API, headers=people.ana_h).json()
    everything = client.get(API, headers=people.agent_h).json()

    # mine=true is the inbox: pending requests still waiting for this approver, soonest due first.
    assert [item["id"] for item in mine["items"]] == [soonest["id"], later["id"], undated["id"]]
    assert mine["total"] == 3
    assert [item["id"] for item in visible["items"]] == [soonest["id"], later["id"], undated["id"], decided["id"]]
    assert everything["items"][0]["id"] == others["id"]
    assert everything["total"] == 5
    page = client.get(API, headers=people.ana_h, params={"mine": "true", "limit": 2, "offset": 1}).json()
    assert [item["id"] for item in page["items"]] == [later["id"], undated["id"]] and page["total"] == 3
    assert_error(client.get(API, headers=people.ana_h, params={"status": "maybe"}), 422, "invalid_input")


def test_an_addressed_approver_decides_once(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana], ui_schema=FORM)
    approval_id = created["id"]

    assert_error(decide(client, approval_id, people.bob_h, "approve", response_data={"amount": 1}), 403, "forbidden")
    assert_error(decide(client, approval_id, people.viewer_h, "approve"), 403, "forbidden")
    response = decide(client, approval_id, people.ana_h, "approve", response_data={"amount": 35}, feedback="35 max")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["decision"], body["response_data"]) == ("approved", "approve", {"amount": 35})
    assert (body["feedback"], body["responded_by"]) == ("35 max", people.ana.email)
    assert body["responded_at"] is not None

    second = decide(client, approval_id, people.ana_h, "reject")
    assert "already approved" in assert_error(second, 409, "conflict")["message"]
    by_admin = decide(client, approval_id, people.admin_h, "reject")
    assert_error(by_admin, 409, "conflict")
    assert client.get(f"{API}/{approval_id}", headers=people.agent_h).json()["status"] == "approved"
    assert event_types(client, approval_id, people.admin_h) == [
        "approval.created",
        "decision.refused",
        "decision.refused",
        "decision.approved",
        "decision.refused",
        "decision.refused",
    ]


def test_an_admin_may_decide_any_request(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])

    response = decide(client, created["id"], people.admin_h, "reject", feedback="no")

    assert response.status_code == 200 and response.json()["status"] == "rejected"


def test_edits_that_fail_the_form_are_422_and_logged(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana], ui_schema=FORM)
    approval_id = created["id"]

    too_much = decide(client, approval_id, people.ana_h, "approve", response_data={"amount": 500})
    missing = decide(client, approval_id, people.ana_h, "approve", response_data={"note": "x"})

    assert set(assert_error(too_much, 422, "invalid_input")["fields"]) == {"amount"}
    assert set(assert_error(missing, 422, "invalid_input")["fields"]) == {"amount"}
    events = client.get(f"{API}/{approval_id}/events", headers=people.agent_h).json()
    refused = [event for event in events if event["type"] == "decision.refused"]
    assert len(refused) == 2
    assert refused[0]["actor"] == people.ana.email and "amount" in refused[0]["data"]["reason"]
    assert refused[0]["state_snapshot"]["status"] == "pending"
    assert client.get(f"{API}/{approval_id}", headers=people.agent_h).json()["status"] == "pending"


@pytest.mark.parametrize(
    "body",
    [{"decision": "maybe"}, {"decision": "approve", "reason": "x"}, {"decision": "approve", "response_data": [1]}],
    ids=["unknown-decision", "extra-field", "data-not-an-object"],
)
def test_malformed_decisions_are_422(client: TestClient, people: People, body: dict[str, Any]) -> None:
    created = create(client, people.agent_h, [people.ana])

    response = client.post(f"{API}/{created['id']}/decision", headers=people.ana_h, json=body)

    assert_error(response, 422, "invalid_input")
    assert client.get(f"{API}/{created['id']}", headers=people.ana_h).json()["status"] == "pending"


def test_wait_answers_at_once_when_decided_and_at_the_timeout_when_not(client: TestClient, people: People) -> None:
    waiting = create(client, people.agent_h, [people.ana])
    answered = create(client, people.agent_h, [people.ana])
    assert decide(client, answered["id"], people.ana_h, "approve").status_code == 200

    started = time.monotonic()
    still_pending = client.get(f"{API}/{waiting['id']}/wait", headers=people.agent_h, params={"timeout": 0.5})
    held = time.monotonic() - started
    started = time.monotonic()
    decided = client.get(f"{API}/{answered['id']}/wait", headers=people.agent_h, params={"timeout": 10})
    immediate = time.monotonic() - started

    assert still_pending.status_code == 200 and still_pending.json()["status"] == "pending"
    assert 0.45 <= held < 3
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert immediate < 0.5
    too_long = client.get(f"{API}/{waiting['id']}/wait", headers=people.agent_h, params={"timeout": 3600})
    assert "timeout" in assert_error(too_long, 422, "invalid_input")["fields"]
    assert_error(client.get(f"{API}/{waiting['id']}/wait", headers=people.bob_h), 404, "not_found")


def test_wait_returns_when_someone_decides_meanwhile(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])

    def approve_later() -> None:
        time.sleep(0.3)
        approvals.decide(created["id"], "approve", Decider(people.ana), feedback="go")

    thread = threading.Thread(target=approve_later)
    thread.start()
    started = time.monotonic()
    response = client.get(f"{API}/{created['id']}/wait", headers=people.agent_h, params={"timeout": 10})
    elapsed = time.monotonic() - started
    thread.join()

    assert response.json()["status"] == "approved" and response.json()["feedback"] == "go"
    assert 0.25 < elapsed < 3


def test_events_form_a_hash_chain_that_verifies(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])
    decide(client, created["id"], people.bob_h, "approve")
    decide(client, created["id"], people.ana_h, "reject", feedback="no")

    events = client.get(f"{API}/{created['id']}/events", headers=people.ana_h).json()

    assert [event["type"] for event in events] == ["approval.created", "decision.refused", "decision.rejected"]
    assert events[0]["prev_hash"] is None
    assert [event["prev_hash"] for event in events[1:]] == [event["hash"] for event in events[:-1]]
    assert len({event["hash"] for event in events}) == 3
    assert events[-1]["state_snapshot"]["status"] == "rejected" and events[-1]["actor"] == people.ana.email
    assert events[-1]["source"] == "api"
    verified = client.get(f"{API}/{created['id']}/verify", headers=people.agent_h).json()
    assert verified == {"valid": True, "events": 3, "first_invalid_event_id": None}


def test_only_an_admin_restores_an_earlier_state(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])
    decide(client, created["id"], people.ana_h, "reject", feedback="oops")
    first_event = client.get(f"{API}/{created['id']}/events", headers=people.admin_h).json()[0]
    path = f"{API}/{created['id']}/events/{first_event['id']}/restore"

    assert_error(client.post(path, headers=people.ana_h), 403, "forbidden")
    assert_error(client.post(f"{API}/{created['id']}/events/999999/restore", headers=people.admin_h), 404, "not_found")
    restored = client.post(path, headers=people.admin_h)

    assert restored.status_code == 200, restored.text
    assert (restored.json()["status"], restored.json()["feedback"]) == ("pending", None)
    assert event_types(client, created["id"], people.admin_h)[-1] == "state.restored"
    assert client.get(f"{API}/{created['id']}/verify", headers=people.admin_h).json()["valid"] is True
    assert decide(client, created["id"], people.ana_h, "approve").json()["status"] == "approved"


def test_the_requester_cancels_and_then_no_one_decides(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])
    path = f"{API}/{created['id']}/cancel"

    assert_error(client.post(path, headers=people.ana_h), 403, "forbidden")
    cancelled = client.post(path, headers=people.agent_h)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_error(decide(client, created["id"], people.ana_h, "approve"), 409, "conflict")
    assert_error(client.post(path, headers=people.agent_h), 409, "conflict")
    assert event_types(client, created["id"], people.agent_h) == [
        "approval.created",
        "approval.cancelled",
        "decision.refused",
    ]


def test_simultaneous_decisions_over_http_have_exactly_one_winner(database: Settings) -> None:
    agent, ana, bob = make_user(Role.BUILDER), make_user(Role.APPROVER), make_user(Role.APPROVER)
    keys = {user.email: make_api_key(user) for user in (agent, ana, bob)}
    statuses: dict[str, int] = {}
    start = threading.Barrier(2)

    app = create_app()  # built once: building apps in several threads at once upsets pydantic
    with TestClient(app) as client:
        created = create(client, bearer(keys[agent.email]), [ana, bob])

    def click(user: User, decision: str) -> None:
        with TestClient(app) as own_client:
            start.wait()
            statuses[user.email] = decide(own_client, created["id"], bearer(keys[user.email]), decision).status_code

    threads = [
        threading.Thread(target=click, args=(ana, "approve")),
        threading.Thread(target=click, args=(bob, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses.values()) == [200, 409], statuses
    winner = ana if statuses[ana.email] == 200 else bob
    with TestClient(app) as client:
        final = client.get(f"{API}/{created['id']}", headers=bearer(keys[agent.email])).json()
        types = event_types(client, created["id"], bearer(keys[agent.email]))
        verified = client.get(f"{API}/{created['id']}/verify", headers=bearer(keys[agent.email])).json()
    assert final["status"] == ("approved" if winner is ana else "rejected")
    assert final["responded_by"] == winner.email
    assert types[0] == "approval.created" and sorted(types[1:]) == sorted(
        ["decision.refused", "decision.approved" if winner is ana else "decision.rejected"]
    )
    assert verified["valid"] is True


def test_a_retry_with_the_same_idempotency_key_returns_the_first_request(client: TestClient, people: People) -> None:
    body = {"title": "Refund 40 €?", "approvers": [people.ana.email], "callback_url": "https://agent.example.com/cb"}
    key = {"Idempotency-Key": "refund-1234-attempt"}

    first = client.post(API, headers={**people.agent_h, **key}, json=body)
    again = client.post(API, headers={**people.agent_h, **key}, json=body)
    other_body = client.post(API, headers={**people.agent_h, **key}, json={**body, "title": "Refund 50 €?"})
    no_key = client.post(API, headers=people.agent_h, json=body)

    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and first.json()["idempotency_key"] == "refund-1234-attempt"
    assert again.json()["callback_secret"]
    error = assert_error(other_body, 409, "conflict")
    assert "Idempotency-Key" in error["fields"] and first.json()["id"] in error["message"]
    assert no_key.status_code == 201 and no_key.json()["id"] != first.json()["id"]
    assert approvals.list_approvals(people.agent)[1] == 2


@pytest.mark.parametrize("key", ["", "two words", "k" * 201])
def test_a_malformed_idempotency_key_is_422_naming_the_header(client: TestClient, people: People, key: str) -> None:
    body = {"title": "x", "approvers": [people.ana.email]}

    error = assert_error(
        client.post(API, headers={**people.agent_h, "Idempotency-Key": key}, json=body), 422, "invalid_input"
    )

    assert "Idempotency-Key" in error["fields"]
    assert approvals.list_approvals(people.agent)[1] == 0


def test_simultaneous_creates_over_http_with_one_key_make_one_request(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    headers = {**bearer(make_api_key(agent)), "Idempotency-Key": "same-call"}
    body = {"title": "Deploy?", "approvers": [ana.email]}
    answers: list[httpx.Response] = []
    start = threading.Barrier(4)
    app = create_app()

    def post() -> None:
        with TestClient(app) as own_client:
            start.wait()
            answers.append(own_client.post(API, headers=headers, json=body))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert approvals.list_approvals(agent)[1] == 1


def test_search_filters_the_list_and_the_inbox(client: TestClient, people: People) -> None:
    refund = create(client, people.agent_h, [people.ana], title="Refund order 42")
    create(client, people.agent_h, [people.ana], title="Deploy")
    described = create(client, people.agent_h, [people.ana], title="Pay", description="then REFUND the rest")

    listed = client.get(API, headers=people.ana_h, params={"search": "refund"}).json()
    inbox = client.get(API, headers=people.ana_h, params={"search": "Refund", "mine": "true"}).json()

    assert {item["id"] for item in listed["items"]} == {refund["id"], described["id"]} and listed["total"] == 2
    assert {item["id"] for item in inbox["items"]} == {refund["id"], described["id"]}
    too_long = client.get(API, headers=people.ana_h, params={"search": "x" * 201})
    assert "search" in assert_error(too_long, 422, "invalid_input")["fields"]


def bulk(client: TestClient, headers: Headers, **body: Any) -> httpx.Response:
    return client.post(f"{API}/bulk-decision", headers=headers, json=body)


def test_a_bulk_decision_answers_for_each_request(client: TestClient, people: People) -> None:
    first = create(client, people.agent_h, [people.ana])
    second = create(client, people.agent_h, [people.ana])
    bobs = create(client, people.agent_h, [people.bob])
    assert decide(client, second["id"], people.ana_h, "approve").status_code == 200

    response = bulk(
        client, people.ana_h, approval_ids=[first["id"], second["id"], bobs["id"]], decision="reject", feedback="no"
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["succeeded"] == 1 and answer["failed"] == 2
    by_id = {result["approval_id"]: result for result in answer["results"]}
    assert by_id[first["id"]] == {"approval_id": first["id"], "ok": True, "status": "rejected", "error": None}
    assert by_id[second["id"]]["error"] == {"code": "conflict", "message": "This request is already approved."}
    assert by_id[bobs["id"]]["error"]["code"] == "forbidden"
    shown = client.get(f"{API}/{first['id']}", headers=people.agent_h).json()
    assert shown["feedback"] == "no" and shown["responded_by"] == people.ana.email
    assert event_types(client, bobs["id"], people.agent_h)[-1] == "decision.refused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "approve"}, "approval_ids"),
        ({"approval_ids": [], "decision": "approve"}, "approval_ids"),
        ({"approval_ids": [f"id-{n}" for n in range(101)], "decision": "approve"}, "approval_ids"),
        ({"approval_ids": ["x"], "decision": "maybe"}, "decision"),
        ({"approval_ids": ["x"], "decision": "approve", "response_data": {}}, "response_data"),
    ],
)
def test_bad_bulk_decisions_are_422_naming_the_field(
    client: TestClient, people: People, body: dict[str, Any], field: str
) -> None:
    error = assert_error(bulk(client, people.ana_h, **body), 422, "invalid_input")

    assert field in error["fields"], error


def test_bulk_decisions_need_a_key(client: TestClient) -> None:
    assert_error(bulk(client, {}, approval_ids=["x"], decision="approve"), 401, "unauthorized")


def test_a_viewer_bulk_decision_is_refused_per_request(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])

    answer = bulk(client, people.viewer_h, approval_ids=[created["id"]], decision="approve").json()

    assert answer["failed"] == 1 and answer["results"][0]["error"]["code"] == "forbidden"


def test_deliveries_show_where_a_request_went(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana, people.bob])
    assert decide(client, created["id"], people.bob_h, "approve").status_code == 200

    response = client.get(f"{API}/{created['id']}/deliveries", headers=people.agent_h)

    assert response.status_code == 200, response.text
    by_user = {row["user"]: row for row in response.json()}
    assert set(by_user) == {people.ana.email, people.bob.email}
    ana_row, bob_row = by_user[people.ana.email], by_user[people.bob.email]
    assert ana_row["channel"] == "studio" and ana_row["status"] == "delivered" and ana_row["attempts"] == 1
    assert ana_row["sent_at"] and ana_row["decided_at"] is None and ana_row["last_error"] is None
    assert bob_row["decision"] == "approve" and bob_row["decided_at"] and bob_row["decided_via"] == "api"
    assert {"next_retry_at", "max_attempts", "reminders", "link_used_at"} <= set(ana_row)


def test_deliveries_are_404_to_people_who_may_not_see_the_request(client: TestClient, people: People) -> None:
    created = create(client, people.agent_h, [people.ana])

    assert_error(client.get(f"{API}/{created['id']}/deliveries", headers=people.bob_h), 404, "not_found")
    assert_error(client.get(f"{API}/no-such-id/deliveries", headers=people.admin_h), 404, "not_found")
    assert_error(client.get(f"{API}/{created['id']}/deliveries"), 401, "unauthorized")
