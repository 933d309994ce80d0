"""Response mode ``respond_node``: the caller is answered when Respond to Webhook runs, while the run goes on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.services import executions, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.runs import wait_for_run
from tests.workflows import node, workflow


@pytest.fixture
def client(database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


REPLY = node(
    "Reply",
    "core.respond_to_webhook",
    {
        "respond_with": "json",
        "body": {"accepted": "{{ $json.body.order }}"},
        "status_code": 201,
        "headers": {"X-A": "1"},
    },
)


def activate(path: str, tail: list[dict[str, Any]]) -> str:
    """Webhook (respond_node) → each node of ``tail`` in a chain; saved and active. Returns the workflow id."""
    nodes = [node("Hook", "trigger.webhook", {"path": path, "response_mode": "respond_node"}), *tail]
    links = [(nodes[index]["name"], nodes[index + 1]["name"]) for index in range(len(nodes) - 1)]
    saved = workflows.create_workflow(WorkflowInput(**{**workflow(nodes, links), "name": path}), actor=None)
    workflows.set_active(saved.id, True, actor=None)
    return saved.id


def only_run(workflow_id: str) -> str:
    runs, total = executions.list_executions(executions.ExecutionFilter(workflow_id=workflow_id))
    assert total == 1
    return runs[0].id


def test_the_answer_goes_out_when_the_node_runs_and_the_run_then_waits(client: TestClient) -> None:
    workflow_id = activate("slow", [REPLY, node("Pause", "core.wait", {"amount": 60, "unit": "seconds"})])

    response = client.post("/webhook/slow", json={"order": "A-1"})

    assert response.status_code == 201, response.text
    assert response.json() == {"accepted": "A-1"}
    assert response.headers["x-a"] == "1"
    run = wait_for_run(only_run(workflow_id), statuses=frozenset({"waiting"}))
    assert run.frontier is not None and run.frontier["paused"]["node"] == "Pause"


def test_a_failure_after_the_answer_does_not_change_the_answer(client: TestClient) -> None:
    workflow_id = activate("late-failure", [REPLY, node("Stop", "core.stop_and_error", {"message": "broke later"})])

    response = client.post("/webhook/late-failure", json={"order": "B-2"})

    assert response.status_code == 201
    assert response.json() == {"accepted": "B-2"}
    run = wait_for_run(only_run(workflow_id))
    assert run.status == "failed"
    assert run.error is not None and run.error["message"] == "broke later"


def test_a_pause_before_the_respond_node_answers_202(client: TestClient) -> None:
    workflow_id = activate("waits-first", [node("Pause", "core.wait", {"amount": 60, "unit": "seconds"}), REPLY])

    response = client.post("/webhook/waits-first", json={"order": "C-3"})

    assert response.status_code == 202
    assert response.json() == {"execution_id": only_run(workflow_id), "status": "waiting"}
