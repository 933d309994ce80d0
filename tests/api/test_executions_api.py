"""Runs over HTTP: listing with filters, every step of one run, retry, cancel and roles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.users import Role
from hitl_studio.services import executions, workflows
from hitl_studio.services.executions import StartOptions
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.api.test_api import assert_error, signed_in
from tests.runs import wait_for_run
from tests.workflows import node, workflow

API = "/api/v1/executions"
Headers = dict[str, str]


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def builder(sqlite_database: Settings) -> Headers:
    return signed_in(Role.BUILDER)[1]


def doubling() -> dict[str, Any]:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node("Double", "core.set", {"assignments": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]}),
        ],
        [("Start", "Double")],
    )


def failing() -> dict[str, Any]:
    return workflow(
        [node("Start", "trigger.manual"), node("Stop", "core.stop_and_error", {"message": "bad order {{ $json.id }}"})],
        [("Start", "Stop")],
    )


def waiting() -> dict[str, Any]:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node("Pause", "core.wait", {"amount": 1, "unit": "hours"}),
            node("After", "core.no_op"),
        ],
        [("Start", "Pause"), ("Pause", "After")],
    )


def save(data: dict[str, Any], name: str) -> str:
    return workflows.create_workflow(WorkflowInput(**{**data, "name": name}), actor=None).id


def run(workflow_id: str, items: list[dict[str, Any]], mode: ExecutionMode = ExecutionMode.MANUAL) -> str:
    """Start a run and wait until it ends; returns its id."""
    execution = executions.start_execution(workflow_id, items, StartOptions(mode=mode))
    wait_for_run(execution.id)
    return execution.id


def listed(client: TestClient, headers: Headers, **query: Any) -> tuple[list[str], int]:
    response = client.get(API, headers=headers, params=query)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]], response.json()["total"]


def test_the_list_filters_and_pages_newest_first(client: TestClient, builder: Headers) -> None:
    doubler, breaker = save(doubling(), "doubler"), save(failing(), "breaker")
    first = run(doubler, [{"n": 1}])
    second = run(breaker, [{"id": 7}])
    middle = datetime.now(UTC)
    third = run(doubler, [{"n": 3}], ExecutionMode.API)
    fourth = run(doubler, [{"n": 4}])

    assert listed(client, builder) == ([fourth, third, second, first], 4)
    assert listed(client, builder, workflow_id=doubler) == ([fourth, third, first], 3)
    assert listed(client, builder, status="failed") == ([second], 1)
    assert listed(client, builder, mode="api") == ([third], 1)
    assert listed(client, builder, workflow_id=doubler, status="succeeded", mode="manual") == ([fourth, first], 2)
    assert listed(client, builder, since=middle.isoformat()) == ([fourth, third], 2)
    assert listed(client, builder, until=middle.isoformat()) == ([second, first], 2)
    assert listed(client, builder, since=middle.isoformat(), mode="manual") == ([fourth], 1)
    assert listed(client, builder, limit=3) == ([fourth, third, second], 4)
    assert listed(client, builder, limit=3, offset=3) == ([first], 4)
    assert listed(client, builder, workflow_id="no-such-workflow") == ([], 0)
    item = client.get(API, headers=builder, params={"status": "failed"}).json()["items"][0]
    assert (item["workflow_id"], item["mode"], item["error"]["node"]) == (breaker, "manual", "Stop")
    assert item["started_at"] <= item["finished_at"]


def test_editor_test_runs_are_listed_by_their_own_mode_and_an_unknown_mode_is_422(
    client: TestClient, builder: Headers
) -> None:
    hook = save(
        workflow([node("Hook", "trigger.webhook", {"path": "orders"}), node("Done", "core.no_op")], [("Hook", "Done")]),
        "hook",
    )
    run(hook, [{"body": {"n": 1}}], ExecutionMode.WEBHOOK)
    tried = run(hook, [{"body": {"n": 2}}], ExecutionMode.TEST)

    assert listed(client, builder, mode="test") == ([tried], 1)
    unknown = client.get(API, headers=builder, params={"mode": "sideways"})
    assert unknown.status_code == 422 and "mode" in unknown.text


def test_a_time_without_zone_is_taken_as_utc(client: TestClient, builder: Headers) -> None:
    doubler = save(doubling(), "doubler")
    before = datetime.now(UTC)
    earlier = run(doubler, [{"n": 1}])

    naive = before.replace(tzinfo=None).isoformat()

    assert listed(client, builder, since=naive) == ([earlier], 1)
    assert listed(client, builder, until=naive) == ([], 0)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "status"),
        ({"mode": "by hand"}, "mode"),
        ({"since": "last tuesday"}, "since"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
    ids=["status", "mode", "since", "limit", "offset"],
)
def test_a_bad_filter_is_422_naming_the_field(
    client: TestClient, builder: Headers, query: dict[str, Any], field: str
) -> None:
    error = assert_error(client.get(API, headers=builder, params=query), 422, "invalid_input")

    assert list(error["fields"]) == [field]


def test_a_run_shows_every_steps_items_timing_and_its_events(client: TestClient, builder: Headers) -> None:
    user, headers = signed_in(Role.BUILDER)
    doubler = save(doubling(), "doubler")
    started = client.post(f"/api/v1/workflows/{doubler}/run", headers=headers, json={"items": [{"n": 21}]})
    wait_for_run(started.json()["execution_id"])

    response = client.get(f"{API}/{started.json()['execution_id']}", headers=builder)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["workflow_id"], body["mode"], body["error"]) == ("succeeded", doubler, "manual", None)
    assert body["trigger_data"]["items"] == [{"n": 21}]
    assert [(step["node"], step["status"], step["error"]) for step in body["steps"]] == [
        ("Start", "succeeded", None),
        ("Double", "succeeded", None),
    ]
    start, double = body["steps"]
    assert start["input"] == [[{"json": {"n": 21}}]]
    assert double["input"] == start["output"] == [[{"json": {"n": 21}}]]
    assert double["output"] == [[{"json": {"n": 21, "doubled": 42}, "paired_item": 0}]]
    assert all(step["duration_ms"] >= 0 for step in body["steps"])
    assert [(event["type"], event["actor"]) for event in body["events"]] == [
        ("status.queued", user.email),
        ("status.running", None),
        ("status.succeeded", None),
    ]
    assert body["events"][0]["data"] == {"mode": "manual", "start_node": "Start"}


def test_a_failed_run_names_the_node_and_its_error(client: TestClient, builder: Headers) -> None:
    execution_id = run(save(failing(), "breaker"), [{"id": 7}])

    body = client.get(f"{API}/{execution_id}", headers=builder).json()

    assert body["status"] == "failed"
    assert (body["error"]["node"], body["error"]["message"]) == ("Stop", "bad order 7")
    stop = body["steps"][-1]
    assert (stop["node"], stop["status"], stop["output"]) == ("Stop", "failed", None)
    assert stop["error"]["message"] == "bad order 7"
    assert body["events"][-1]["type"] == "status.failed"
    assert body["events"][-1]["data"]["error"]["node"] == "Stop"


def test_an_unknown_run_is_a_json_404(client: TestClient, builder: Headers) -> None:
    for method, suffix in [("GET", ""), ("POST", "/retry"), ("POST", "/cancel")]:
        response = client.request(method, f"{API}/no-such-run{suffix}", headers=builder)

        assert "no-such-run" in assert_error(response, 404, "not_found")["message"]


def test_a_failed_run_is_retried_on_the_current_version(client: TestClient, builder: Headers) -> None:
    flaky = save(failing(), "flaky")
    failed = run(flaky, [{"id": 7}])
    fixed = workflow(
        [node("Start", "trigger.manual"), node("Stop", "core.set", {"assignments": [{"name": "ok", "value": True}]})],
        [("Start", "Stop")],
    )
    workflows.update_workflow(flaky, WorkflowInput(**{**fixed, "name": "flaky"}), actor=None)

    response = client.post(f"{API}/{failed}/retry", headers=builder)

    assert response.status_code == 202, response.text
    retry_id = response.json()["execution_id"]
    assert retry_id != failed
    assert response.json()["status"] == "queued"
    wait_for_run(retry_id)
    retried = client.get(f"{API}/{retry_id}", headers=builder).json()
    assert (retried["status"], retried["mode"], retried["retry_of_id"]) == ("succeeded", "retry", failed)
    assert retried["workflow_version"] == 2
    assert retried["trigger_data"]["items"] == [{"id": 7}]
    assert retried["steps"][-1]["output"] == [[{"json": {"id": 7, "ok": True}, "paired_item": 0}]]
    assert client.get(f"{API}/{failed}", headers=builder).json()["status"] == "failed"


def test_a_succeeded_run_cannot_be_retried(client: TestClient, builder: Headers) -> None:
    succeeded = run(save(doubling(), "doubler"), [{"n": 1}])

    error = assert_error(client.post(f"{API}/{succeeded}/retry", headers=builder), 409, "conflict")

    assert "succeeded" in error["message"]
    assert listed(client, builder) == ([succeeded], 1)


def test_a_waiting_run_is_cancelled_once(client: TestClient, builder: Headers) -> None:
    user, headers = signed_in(Role.BUILDER)
    execution = executions.start_execution(save(waiting(), "sleeper"), [{"n": 1}])
    wait_for_run(execution.id, statuses=frozenset({"waiting"}))

    response = client.post(f"{API}/{execution.id}/cancel", headers=headers)

    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["status"]) == (execution.id, "cancelled")
    assert response.json()["finished_at"] is not None
    body = client.get(f"{API}/{execution.id}", headers=builder).json()
    assert body["status"] == "cancelled"
    assert [step["node"] for step in body["steps"]] == ["Start", "Pause"]
    assert [event["type"] for event in body["events"]][-2:] == ["status.waiting", "status.cancelled"]
    assert body["events"][-1]["actor"] == user.email

    again = assert_error(client.post(f"{API}/{execution.id}/cancel", headers=headers), 409, "conflict")
    assert "cancelled" in again["message"]
    assert listed(client, builder, status="cancelled") == ([execution.id], 1)


def test_a_cancelled_run_can_be_retried(client: TestClient, builder: Headers) -> None:
    execution = executions.start_execution(save(waiting(), "sleeper"), [{"n": 1}])
    wait_for_run(execution.id, statuses=frozenset({"waiting"}))
    assert client.post(f"{API}/{execution.id}/cancel", headers=builder).status_code == 200

    response = client.post(f"{API}/{execution.id}/retry", headers=builder)

    assert response.status_code == 202, response.text
    retry = wait_for_run(response.json()["execution_id"], statuses=frozenset({"waiting"}))
    assert (retry.retry_of_id, retry.mode) == (execution.id, "retry")
    assert client.post(f"{API}/{retry.id}/cancel", headers=builder).json()["status"] == "cancelled"


def test_a_viewer_reads_runs_but_cannot_retry_or_cancel(client: TestClient) -> None:
    failed = run(save(failing(), "breaker"), [{"id": 1}])
    paused = executions.start_execution(save(waiting(), "sleeper"), [])
    wait_for_run(paused.id, statuses=frozenset({"waiting"}))
    for role in (Role.VIEWER, Role.APPROVER):
        _, headers = signed_in(role)

        assert listed(client, headers)[1] == 2
        assert client.get(f"{API}/{failed}", headers=headers).json()["status"] == "failed"
        assert_error(client.post(f"{API}/{failed}/retry", headers=headers), 403, "forbidden")
        assert_error(client.post(f"{API}/{paused.id}/cancel", headers=headers), 403, "forbidden")

    _, builder = signed_in(Role.BUILDER)
    assert client.get(f"{API}/{paused.id}", headers=builder).json()["status"] == "waiting"
    assert listed(client, builder) == ([paused.id, failed], 2)


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("GET", "/any-run"), ("POST", "/any-run/retry"), ("POST", "/any-run/cancel")]
)
def test_no_credentials_is_401(client: TestClient, method: str, suffix: str) -> None:
    assert_error(client.request(method, f"{API}{suffix}"), 401, "unauthorized")
