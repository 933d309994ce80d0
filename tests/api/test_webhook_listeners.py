"""Test webhooks ("Listen for test event"): listening over the API, one run on /webhook-test/<path>, every error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.db import utcnow
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.users import Role
from hitl_studio.services import executions, triggers
from hitl_studio.services.triggers import WebhookListener
from hitl_studio.settings import Settings
from tests.api.test_api import assert_error, signed_in
from tests.runs import wait_for_run
from tests.workflows import node, workflow

API = "/api/v1/workflows"
Headers = dict[str, str]


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def builder(sqlite_database: Settings) -> Headers:
    return signed_in(Role.BUILDER)[1]


def hook_flow(path: str = "orders", label: str = "v1", **hook: Any) -> dict[str, Any]:
    """Webhook (answers with the last node) → Label, which stamps ``label`` on the item."""
    data = workflow(
        [
            node("Hook", "trigger.webhook", {"path": path, "response_mode": "last_node", **hook}),
            node("Label", "core.set", {"assignments": [{"name": "label", "value": label}]}),
        ],
        [("Hook", "Label")],
    )
    return {**data, "name": f"hook {path}"}


def create(client: TestClient, headers: Headers, body: dict[str, Any]) -> str:
    response = client.post(API, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def listen(client: TestClient, headers: Headers, workflow_id: str) -> dict[str, Any]:
    response = client.post(f"{API}/{workflow_id}/test-webhook", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_listening_returns_the_test_url_and_when_it_stops(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow("orders/:id", method="PUT"))

    before = utcnow()
    answer = listen(client, builder, workflow_id)

    assert answer["url"] == "http://localhost:8000/webhook-test/orders/:id"
    assert answer["method"] == "PUT"
    assert answer["version"] == 1
    assert answer["webhooks"] == [{"node": "Hook", "method": "PUT", "url": answer["url"]}]
    expires = datetime.fromisoformat(answer["expires_at"])
    assert before + timedelta(seconds=triggers.TEST_LISTEN_SECONDS) <= expires <= utcnow() + timedelta(seconds=120)


def test_one_event_runs_the_saved_inactive_workflow_once_in_test_mode(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow())
    listen(client, builder, workflow_id)

    response = client.post("/webhook-test/orders?source=editor", json={"amount": 3})

    assert response.status_code == 200, response.text
    assert response.json()["label"] == "v1"
    assert response.json()["body"] == {"amount": 3}
    assert response.json()["query"] == {"source": "editor"}
    runs, total = executions.list_executions(executions.ExecutionFilter(workflow_id=workflow_id))
    assert total == 1
    assert runs[0].mode == ExecutionMode.TEST
    assert wait_for_run(runs[0].id).status == "succeeded"
    again = client.post("/webhook-test/orders", json={"amount": 3})
    assert "Listen for test event" in assert_error(again, 404, "not_found")["message"]
    assert client.post("/webhook/orders", json={}).status_code == 404, "an inactive workflow has no production URL"


def test_the_listener_runs_the_current_saved_version(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow(label="v1"))
    saved = client.put(f"{API}/{workflow_id}", headers=builder, json=hook_flow(label="v2"))
    assert saved.status_code == 200, saved.text

    assert listen(client, builder, workflow_id)["version"] == 2
    response = client.post("/webhook-test/orders", json={})

    assert response.json()["label"] == "v2"


def test_the_test_event_answers_as_the_response_mode_says(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow("later", response_mode="immediately"))
    listen(client, builder, workflow_id)

    response = client.post("/webhook-test/later", json={"n": 1})

    assert response.status_code == 202
    run = wait_for_run(response.json()["execution_id"])
    assert (run.status, run.mode) == ("succeeded", ExecutionMode.TEST)


def test_path_parameters_and_literal_paths_first(client: TestClient, builder: Headers) -> None:
    by_id = create(client, builder, hook_flow("orders/:id", label="by id"))
    latest = create(client, builder, hook_flow("orders/latest", label="latest"))
    listen(client, builder, by_id)
    listen(client, builder, latest)

    assert client.post("/webhook-test/orders/latest", json={}).json()["label"] == "latest"
    answer = client.post("/webhook-test/orders/A-7", json={}).json()
    assert (answer["label"], answer["params"]) == ("by id", {"id": "A-7"})


def test_nobody_listening_is_a_404_that_says_what_to_do(client: TestClient, builder: Headers) -> None:
    create(client, builder, hook_flow())

    error = assert_error(client.post("/webhook-test/orders", json={}), 404, "not_found")

    assert '"Listen for test event"' in error["message"]
    assert "/webhook-test/orders" in error["message"]


def test_stopping_the_listener(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow())
    listen(client, builder, workflow_id)

    stopped = client.delete(f"{API}/{workflow_id}/test-webhook", headers=builder)

    assert stopped.status_code == 204
    assert_error(client.post("/webhook-test/orders", json={}), 404, "not_found")
    assert client.delete(f"{API}/{workflow_id}/test-webhook", headers=builder).status_code == 204


def test_an_expired_listener_answers_404(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow())
    past = utcnow() - timedelta(seconds=1)
    triggers.webhook_listeners.put(WebhookListener(workflow_id, 1, past, (("Hook", "POST", "orders"),)))

    assert_error(client.post("/webhook-test/orders", json={}), 404, "not_found")


def test_the_wrong_method_is_a_405_and_keeps_listening(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow())
    listen(client, builder, workflow_id)

    assert_error(client.get("/webhook-test/orders"), 405, "method_not_allowed")
    assert client.post("/webhook-test/orders", json={}).status_code == 200


def test_authentication_is_checked_and_a_refused_call_keeps_the_listener(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow(authentication="header", header_name="X-Token", secret="s3cret"))
    listen(client, builder, workflow_id)

    assert_error(client.post("/webhook-test/orders", json={}, headers={"X-Token": "nope"}), 401, "unauthorized")
    bad_json = client.post(
        "/webhook-test/orders", content=b"{nope", headers={"X-Token": "s3cret", "content-type": "application/json"}
    )
    assert_error(bad_json, 400, "bad_request")
    response = client.post("/webhook-test/orders", json={}, headers={"X-Token": "s3cret"})
    assert response.status_code == 200, response.text
    assert "x-token" in response.json()["headers"]


def test_listening_on_an_unknown_workflow_is_a_404(client: TestClient, builder: Headers) -> None:
    assert_error(client.post(f"{API}/does-not-exist/test-webhook", headers=builder), 404, "not_found")
    assert_error(client.delete(f"{API}/does-not-exist/test-webhook", headers=builder), 404, "not_found")


def test_a_workflow_without_a_webhook_cannot_listen(client: TestClient, builder: Headers) -> None:
    manual = workflow([node("Start", "trigger.manual"), node("Pass", "core.no_op")], [("Start", "Pass")])
    workflow_id = create(client, builder, {**manual, "name": "manual"})

    error = assert_error(client.post(f"{API}/{workflow_id}/test-webhook", headers=builder), 422, "invalid_input")

    assert "no Webhook trigger" in error["message"]


def test_two_workflows_cannot_listen_on_the_same_path(client: TestClient, builder: Headers) -> None:
    first = create(client, builder, hook_flow())
    second = create(client, builder, {**hook_flow(), "name": "second"})
    listen(client, builder, first)

    error = assert_error(client.post(f"{API}/{second}/test-webhook", headers=builder), 409, "conflict")

    assert "'hook orders'" in error["message"] and "'Hook'" in error["message"]
    assert listen(client, builder, first)["url"].endswith("/webhook-test/orders"), "listening again renews"


def test_viewers_and_approvers_may_not_listen(client: TestClient, builder: Headers) -> None:
    workflow_id = create(client, builder, hook_flow())

    for role in (Role.VIEWER, Role.APPROVER):
        headers = signed_in(role)[1]
        assert_error(client.post(f"{API}/{workflow_id}/test-webhook", headers=headers), 403, "forbidden")
        assert_error(client.delete(f"{API}/{workflow_id}/test-webhook", headers=headers), 403, "forbidden")
    assert_error(client.post(f"{API}/{workflow_id}/test-webhook"), 401, "unauthorized")
