"""Webhook triggers over HTTP: routing, bodies, auth, limits and the three response modes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hitl_studio.api.app import create_app
from hitl_studio.models.users import Role
from hitl_studio.services import workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import make_user
from tests.runs import wait_for_run
from tests.workflows import node, workflow


@pytest.fixture
def client(sqlite_database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def hook(path: str = "orders", *, active: bool = True, tail: list[dict[str, Any]] | None = None, **params: Any) -> str:
    """Save (and activate) Webhook → Edit Fields (→ tail...) and return the workflow id."""
    nodes = [
        node("Hook", "trigger.webhook", {"path": path, **params}),
        node("Shape", "core.set", {"assignments": [{"name": "total", "value": "{{ $json.body.amount * 2 }}"}]}),
        *(tail or []),
    ]
    links: list[tuple[str, str]] = [("Hook", "Shape")]
    if tail:
        links.append(("Shape", tail[0]["name"]))
    data = workflow(nodes, links)
    saved = workflows.create_workflow(WorkflowInput(**{**data, "name": f"hook {path}"}), actor=make_user(Role.BUILDER))
    if active:
        workflows.set_active(saved.id, True, actor=None)
    return saved.id


def test_immediately_answers_202_with_the_run_id_and_the_run_gets_the_request(client: TestClient) -> None:
    hook()

    response = client.post("/webhook/orders?source=shop", json={"amount": 21}, headers={"X-Custom": "yes"})

    assert response.status_code == 202
    run = wait_for_run(response.json()["execution_id"])
    assert run.status == "succeeded"
    item = run.trigger_data["items"][0]["json"]
    assert item["body"] == {"amount": 21}
    assert item["query"] == {"source": "shop"}
    assert item["headers"]["x-custom"] == "yes"
    assert set(item) == {"headers", "params", "query", "body"}


def test_last_node_answers_with_the_last_nodes_item(client: TestClient) -> None:
    hook(response_mode="last_node")

    response = client.post("/webhook/orders", json={"amount": 21})

    assert response.status_code == 200
    assert response.json()["total"] == 42
    assert response.json()["body"] == {"amount": 21}


def test_last_node_answers_with_an_array_for_several_items(client: TestClient) -> None:
    split = node("Both", "core.merge", {"mode": "append"})
    data = workflow(
        [
            node("Hook", "trigger.webhook", {"path": "pair", "method": "GET", "response_mode": "last_node"}),
            node("A", "core.no_op"),
            node("B", "core.no_op"),
            split,
        ],
        [("Hook", "A"), ("Hook", "B"), ("A", 0, "Both", 0), ("B", 0, "Both", 1)],
    )
    saved = workflows.create_workflow(WorkflowInput(**{**data, "name": "pair"}), actor=None)
    workflows.set_active(saved.id, True, actor=None)

    response = client.get("/webhook/pair?x=1")

    assert response.status_code == 200
    assert [row["query"] for row in response.json()] == [{"x": "1"}, {"x": "1"}]


def test_respond_node_sets_status_headers_and_body(client: TestClient) -> None:
    respond = node(
        "Reply",
        "core.respond_to_webhook",
        {
            "respond_with": "json",
            "body": {"ok": True, "total": "{{ $json.total }}"},
            "status_code": 201,
            "headers": {"X-Run": "yes"},
        },
    )
    hook(response_mode="respond_node", tail=[respond])

    response = client.post("/webhook/orders", json={"amount": 5})

    assert response.status_code == 201
    assert response.json() == {"ok": True, "total": 10}
    assert response.headers["x-run"] == "yes"


def test_path_parameters_and_form_bodies(client: TestClient) -> None:
    hook("orders/:order_id", response_mode="last_node")

    response = client.post("/webhook/orders/A-17", data={"amount": "3"})

    assert response.status_code == 200
    assert response.json()["params"] == {"order_id": "A-17"}
    assert response.json()["body"] == {"amount": "3"}


def test_unknown_paths_wrong_methods_and_inactive_workflows(client: TestClient) -> None:
    hook("live")
    hook("sleeping", active=False)

    assert client.post("/webhook/nothing-here").status_code == 404
    assert client.post("/webhook/sleeping").status_code == 404
    wrong = client.get("/webhook/live")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    hook()

    response = client.post("/webhook/orders", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient, configure: Callable[..., Settings]) -> None:
    configure(HITL_WEBHOOK_MAX_BYTES="4096")
    hook()

    response = client.post("/webhook/orders", content=b"x" * 50_000, headers={"content-type": "text/plain"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_50_mb_body_is_refused_by_default(client: TestClient) -> None:
    hook()

    response = client.post("/webhook/orders", content=b"0" * (50 * 1024 * 1024), headers={"content-type": "text/plain"})

    assert response.status_code == 413


def test_header_secret_authentication(client: TestClient) -> None:
    hook(authentication="header", header_name="X-Token", secret="s3cret")

    assert client.post("/webhook/orders", json={"amount": 1}).status_code == 401
    assert client.post("/webhook/orders", json={"amount": 1}, headers={"X-Token": "wrong"}).status_code == 401
    assert client.post("/webhook/orders", json={"amount": 1}, headers={"X-Token": "s3cret"}).status_code == 202


def test_hmac_signature_authentication(client: TestClient) -> None:
    hook(authentication="hmac", secret="k3y")
    body = json.dumps({"amount": 1}).encode()
    signature = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json"}

    assert (
        client.post("/webhook/orders", content=body, headers={**headers, "X-Signature": "sha256=00"}).status_code == 401
    )
    signed = client.post("/webhook/orders", content=body, headers={**headers, "X-Signature": f"sha256={signature}"})
    assert signed.status_code == 202


def test_a_failed_run_answers_with_the_node_and_message(client: TestClient) -> None:
    hook(response_mode="last_node", tail=[node("Stop", "core.stop_and_error", {"message": "out of stock"})])

    response = client.post("/webhook/orders", json={"amount": 1})

    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "workflow_failed"
    assert "'Stop'" in error["message"] and "out of stock" in error["message"]
    assert error["execution_id"]


def test_a_webhook_path_taken_by_another_active_workflow_cannot_be_activated(sqlite_database: Settings) -> None:
    from hitl_studio.services.errors import Conflict

    hook("shared")
    second = hook("shared", active=False)

    with pytest.raises(Conflict, match="already used by the active workflow"):
        workflows.set_active(second, True, actor=None)
