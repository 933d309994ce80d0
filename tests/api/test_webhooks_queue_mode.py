"""Webhooks in queue mode (PostgreSQL, Redis, RQ): test listeners shared by studio processes, early answers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.queue import get_redis
from hitl_studio.services import executions, triggers, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.runs import wait_for_run
from tests.services.test_queue_mode import burst, queue_mode  # noqa: F401 (queue_mode is a fixture)
from tests.workflows import node, workflow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(queue_mode: Settings) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app()) as test_client:
        yield test_client


def save(path: str, mode: str, tail: list[dict[str, Any]], *, active: bool) -> str:
    nodes = [node("Hook", "trigger.webhook", {"path": path, "response_mode": mode}), *tail]
    links = [(nodes[index]["name"], nodes[index + 1]["name"]) for index in range(len(nodes) - 1)]
    saved = workflows.create_workflow(WorkflowInput(**{**workflow(nodes, links), "name": path}), actor=None)
    if active:
        workflows.set_active(saved.id, True, actor=None)
    return saved.id


def call_while_working(client: TestClient, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST to a webhook that waits for its run, running RQ jobs here until the answer comes."""
    answer: dict[str, httpx.Response] = {}
    caller = threading.Thread(target=lambda: answer.setdefault("response", client.post(path, json=body)))
    caller.start()
    deadline = time.monotonic() + 30
    while caller.is_alive() and time.monotonic() < deadline:
        burst()
        caller.join(0.05)
    caller.join(5)
    return answer["response"]


def test_a_listener_made_by_another_studio_process_answers_here(
    client: TestClient,
    queue_mode: Settings,  # noqa: F811
) -> None:
    workflow_id = save("from-editor", "immediately", [node("Pass", "core.no_op")], active=False)
    env = {
        **os.environ,
        "DATABASE_URL": queue_mode.database_url,
        "REDIS_URL": queue_mode.redis_url or "",
        "HITL_QUEUE_NAME": queue_mode.queue_name,
        "HITL_DATA_DIR": str(queue_mode.data_dir),
    }
    script = f"from hitl_studio.services import triggers; triggers.listen_for_test({workflow_id!r})"
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, check=True, timeout=60)

    response = client.post("/webhook-test/from-editor", json={"n": 1})

    assert response.status_code == 202, response.text
    burst()
    run = wait_for_run(response.json()["execution_id"])
    assert (run.status, run.mode) == ("succeeded", ExecutionMode.TEST)
    redis = get_redis()
    assert redis is not None
    assert redis.hget(f"hitl:test-webhooks:{queue_mode.queue_name}", workflow_id) is None, "the listener is consumed"
    assert client.post("/webhook-test/from-editor", json={}).status_code == 404
    assert triggers.webhook_listeners.live() == []


def test_a_listener_stopped_over_the_api_is_gone_for_every_process(client: TestClient) -> None:
    workflow_id = save("stopped", "immediately", [node("Pass", "core.no_op")], active=False)
    triggers.listen_for_test(workflow_id)
    assert [listener.workflow_id for listener in triggers.webhook_listeners.live()] == [workflow_id]

    triggers.stop_test_listener(workflow_id)

    assert client.post("/webhook-test/stopped", json={}).status_code == 404


def test_respond_node_answers_from_the_worker_while_the_run_waits(client: TestClient) -> None:
    reply = node("Reply", "core.respond_to_webhook", {"respond_with": "json", "body": {"ok": True}, "status_code": 201})
    pause = node("Pause", "core.wait", {"amount": 60, "unit": "seconds"})
    workflow_id = save("queued-reply", "respond_node", [reply, pause], active=True)

    response = call_while_working(client, "/webhook/queued-reply", {"order": 1})

    assert response.status_code == 201, response.text
    assert response.json() == {"ok": True}
    runs, _ = executions.list_executions(executions.ExecutionFilter(workflow_id=workflow_id))
    assert wait_for_run(runs[0].id, statuses=frozenset({"waiting"})).status == "waiting"


def test_a_test_event_with_last_node_answers_with_the_workers_result(client: TestClient) -> None:
    label = node("Label", "core.set", {"assignments": [{"name": "label", "value": "tested"}]})
    workflow_id = save("answer-me", "last_node", [label], active=False)
    triggers.listen_for_test(workflow_id)

    response = call_while_working(client, "/webhook-test/answer-me", {"n": 2})

    assert response.status_code == 200, response.text
    assert response.json()["label"] == "tested"
    assert response.json()["body"] == {"n": 2}
