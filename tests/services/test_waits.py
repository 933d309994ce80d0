"""Runs paused on Form and Wait for Webhook nodes: resume links, single use, forms, deadlines, versions.

Through the real services (SQLite and PostgreSQL): a saved workflow, a started run, the embedded queue, the routes.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hitl_studio.api import resume_routes
from hitl_studio.api.app import create_app
from hitl_studio.models.executions import Execution, ExecutionMode
from hitl_studio.services import executions, waits, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.runs import wait_for_run, wait_for_runs_of
from tests.workflows import node, workflow


@pytest.fixture(autouse=True)
def wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Call register_wait from executions._finish until the studio wires it there itself."""
    if "register_wait" in inspect.getsource(executions._finish):
        return
    original = executions._finish

    def finish(execution: Execution, graph: Any, result: Any, masker: Any) -> None:
        original(execution, graph, result, masker)
        if result.wait is not None and result.wait.kind in ("form", "webhook"):
            waits.register_wait(execution, graph, result)

    monkeypatch.setattr(executions, "_finish", finish)


@pytest.fixture
def client(database: Settings) -> Iterator[TestClient]:
    app: FastAPI = create_app()
    if not any(getattr(route, "path", "") == "/form/{execution_id}/{token}" for route in app.routes):
        app.include_router(resume_routes.router)
    with TestClient(app) as test_client:
        yield test_client


def save(nodes: list[dict], links: list, name: str = "flow") -> str:
    return workflows.create_workflow(WorkflowInput(**{**workflow(nodes, links), "name": name}), actor=None).id


def webhook_flow(**params: Any) -> tuple[list[dict], list]:
    nodes = [
        node("Start", "trigger.manual"),
        node("Hold", "human.wait_for_webhook", params),
        node("Done", "core.no_op"),
    ]
    return nodes, [("Start", "Hold"), ("Hold", "Done")]


def form_flow(**params: Any) -> tuple[list[dict], list]:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 2}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name"],
    }
    nodes = [
        node("Start", "trigger.manual"),
        node("Ask", "human.form", {"title": "About {{ $json.order }}", "form_schema": schema, **params}),
        node("Done", "core.no_op"),
    ]
    return nodes, [("Start", "Ask"), ("Ask", "Done")]


def paused_link(execution_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the run waits and its resume link is made; returns ``waiting_for``."""
    wait_for_run(execution_id, statuses=frozenset({"waiting"}))
    deadline = time.monotonic() + timeout
    while True:
        execution, _, _ = executions.get_execution(execution_id)
        shown = waits.waiting_for(execution)
        if shown is not None:
            return shown
        assert time.monotonic() < deadline, "the run waits but has no resume link"
        time.sleep(0.02)


def path_of(url: str) -> str:
    return urlsplit(url).path


def last_items(execution_id: str) -> list[dict[str, Any]]:
    _, steps, _ = executions.get_execution(execution_id)
    produced = executions.step_data(steps[-1])[1]
    assert steps[-1].node_name == "Done" and produced is not None
    return [item["json"] for item in produced["main"][0]]


def test_a_webhook_wait_pauses_and_its_url_resumes_it_once(client: TestClient) -> None:
    workflow_id = save(*webhook_flow(response="Thanks!"))
    run = executions.start_execution(workflow_id, [{"order": "A1"}, {"order": "B2"}])

    shown = paused_link(run.id)
    assert shown["kind"] == "webhook" and shown["node"] == "Hold" and shown["method"] == "POST"
    assert shown["resume_url"].startswith(f"http://localhost:{urlsplit(shown['resume_url']).port}/resume/{run.id}/")
    url = path_of(shown["resume_url"])

    assert client.get(url).status_code == 405  # the wrong method does not use the link
    answer = client.post(url, params={"q": "1"}, json={"ok": True})
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"execution_id": run.id, "status": "resumed", "message": "Thanks!"}

    assert wait_for_run(run.id).status == "succeeded"
    items = last_items(run.id)
    assert [item["order"] for item in items] == ["A1", "B2"]
    assert items[0]["webhook"]["body"] == {"ok": True} and items[0]["webhook"]["query"] == {"q": "1"}
    assert items[0]["webhook"]["headers"]["content-type"] == "application/json"

    again = client.post(url, json={})
    assert again.status_code == 410 and again.json()["error"]["code"] == "link_used"


def test_forged_and_misplaced_tokens_are_404(client: TestClient) -> None:
    run = executions.start_execution(save(*webhook_flow(http_method="GET")), [{}])
    url = path_of(paused_link(run.id)["resume_url"])
    token = url.rsplit("/", 1)[1]
    expiry, nonce, signature = token.split(".")

    forged = f"{expiry}.{nonce}.{'A' * len(signature)}"
    assert client.get(f"/resume/{run.id}/{forged}").status_code == 404
    assert client.get(f"/resume/{run.id}/garbage").status_code == 404
    assert client.get(f"/resume/other-run/{token}").status_code == 404
    assert client.get(f"/form/{run.id}/{token}").status_code == 404  # a webhook token is not a form token
    assert executions.get_execution(run.id)[0].status == "waiting"

    assert client.get(url).status_code == 202
    assert wait_for_run(run.id).status == "succeeded"


def test_a_form_shows_checks_and_resumes_with_the_answers(client: TestClient) -> None:
    run = executions.start_execution(save(*form_flow(submit_label="Send it")), [{"order": "A1"}])
    shown = paused_link(run.id)
    assert shown["kind"] == "form" and f"/form/{run.id}/" in shown["resume_url"]
    url = path_of(shown["resume_url"])

    page = client.get(url)
    assert page.status_code == 200 and "About A1" in page.text and "Send it" in page.text
    assert "name='field.name'" in page.text and page.headers["x-frame-options"] == "DENY"

    wrong = client.post(url, data={"field.name": "J", "field.age": "-3"})
    assert wrong.status_code == 422 and "Please correct the form" in wrong.text
    assert "value='J'" in wrong.text  # what was typed is kept
    assert executions.get_execution(run.id)[0].status == "waiting"

    done = client.post(url, data={"field.name": "Jo", "field.age": "41"})
    assert done.status_code == 200 and "Thank you" in done.text
    assert wait_for_run(run.id).status == "succeeded"
    (item,) = last_items(run.id)
    assert item["order"] == "A1" and item["name"] == "Jo" and item["age"] == 41
    assert item["form"]["submitted_at"]

    assert client.get(url).status_code == 410
    assert client.post(url, data={"field.name": "Again"}).status_code == 410


def test_the_waiting_run_shows_its_link_in_the_api(client: TestClient) -> None:
    run = executions.start_execution(save(*form_flow()), [{"order": "A1"}])
    shown = paused_link(run.id)
    execution, _, _ = executions.get_execution(run.id)
    assert execution.frontier is not None
    stored = execution.frontier["resume"]
    token = shown["resume_url"].rsplit("/", 1)[1]
    assert stored["token_sha256"] == waits.token_hash(token) and stored["used"] is False
    assert stored["url"] == shown["resume_url"]


def test_an_unanswered_wait_fails_the_run_at_its_deadline(client: TestClient) -> None:
    run = executions.start_execution(save(*form_flow(timeout_seconds=1)), [{"order": "A1"}])
    shown = paused_link(run.id)
    assert shown["expires_at"] is not None

    failed = wait_for_run(run.id, timeout=15)
    assert failed.status == "failed"
    assert failed.error == {"node": "Ask", "message": "nobody submitted the form within 1 s"}
    assert client.get(path_of(shown["resume_url"])).status_code == 410


def error_handler() -> str:
    """A workflow that records the error item it is started with."""
    nodes = [
        node("On error", "trigger.error"),
        node("Note", "core.set", {"assignments": [{"name": "seen", "value": True}]}),
    ]
    return workflows.create_workflow(
        WorkflowInput(**{**workflow(nodes, [("On error", "Note")]), "name": "handler"}), actor=None
    ).id


@pytest.mark.parametrize(
    ("flow", "message"),
    [(form_flow, "nobody submitted the form within 1 s"), (webhook_flow, "nobody called the resume URL within 1 s")],
)
def test_a_missed_deadline_starts_the_error_workflow(
    database: Settings, flow: Callable[..., tuple[list[dict], list]], message: str
) -> None:
    handler = error_handler()
    nodes, links = flow(timeout_seconds=1)
    saved = workflows.create_workflow(
        WorkflowInput(**{**workflow(nodes, links, error_workflow=handler), "name": "waits"}), actor=None
    )
    run = executions.start_execution(saved.id, [{"order": "A1"}])
    paused_link(run.id)

    failed = wait_for_run(run.id, timeout=15)

    assert failed.status == "failed" and failed.error is not None and failed.error["message"] == message
    (handler_run,) = wait_for_runs_of(handler)
    handled = wait_for_run(handler_run.id)
    assert handled.mode == ExecutionMode.ERROR and handled.parent_execution_id == run.id
    assert handled.status == "succeeded"
    _, steps, _ = executions.get_execution(handled.id)
    trigger_item = steps[0].output_items["main"][0][0]["json"]
    assert trigger_item["execution"]["id"] == run.id and trigger_item["execution"]["error"]["message"] == message
    assert trigger_item["execution"]["last_node"] == failed.error["node"]


def test_a_deadline_job_that_runs_twice_starts_the_error_workflow_once(database: Settings) -> None:
    handler = error_handler()
    nodes, links = webhook_flow(timeout_seconds=60)
    saved = workflows.create_workflow(
        WorkflowInput(**{**workflow(nodes, links, error_workflow=handler), "name": "waits"}), actor=None
    )
    run = executions.start_execution(saved.id, [{}])
    token = paused_link(run.id)["resume_url"].rsplit("/", 1)[1]

    assert waits.fire_timeout(run.id, waits.token_hash(token)) == "failed"
    assert waits.fire_timeout(run.id, waits.token_hash(token)) is None

    (handler_run,) = wait_for_runs_of(handler)
    assert wait_for_run(handler_run.id).status == "succeeded"
    assert executions.list_executions(executions.ExecutionFilter(workflow_id=handler))[1] == 1


def test_a_deadline_after_the_answer_changes_nothing(database: Settings) -> None:
    run = executions.start_execution(save(*webhook_flow(timeout_seconds=60)), [{}])
    url = paused_link(run.id)["resume_url"]
    token = url.rsplit("/", 1)[1]
    waits.resume_from_request(run.id, token, "webhook", {"body": "hi"}, method="POST")

    assert waits.fire_timeout(run.id, waits.token_hash(token)) is None
    assert wait_for_run(run.id).status == "succeeded"
    with pytest.raises(waits.UsedWaitLink):
        waits.resume_from_request(run.id, token, "webhook", {"body": "again"}, method="POST")


def test_a_paused_run_resumes_on_the_version_it_started_on(client: TestClient) -> None:
    nodes, links = webhook_flow()
    workflow_id = save(nodes, links)
    run = executions.start_execution(workflow_id, [{"n": 1}])
    url = path_of(paused_link(run.id)["resume_url"])
    edited = [*nodes[:2], node("Done", "core.set", {"assignments": [{"name": "edited", "value": True}]})]
    workflows.update_workflow(workflow_id, WorkflowInput(**{**workflow(edited, links), "name": "flow v2"}), actor=None)

    assert client.post(url, content=b"plain", headers={"content-type": "text/plain"}).status_code == 202
    finished = wait_for_run(run.id)
    assert finished.status == "succeeded" and finished.workflow_version == 1
    (item,) = last_items(run.id)
    assert "edited" not in item and item["webhook"]["body"] == "plain"


def test_simultaneous_calls_have_exactly_one_winner(database: Settings) -> None:
    run = executions.start_execution(save(*webhook_flow()), [{}])
    token = paused_link(run.id)["resume_url"].rsplit("/", 1)[1]
    outcomes: list[str] = []

    def call(n: int) -> None:
        try:
            waits.resume_from_request(run.id, token, "webhook", {"body": n}, method="POST")
            outcomes.append("resumed")
        except waits.UsedWaitLink:
            outcomes.append("used")

    threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["resumed"] + ["used"] * 5
    assert wait_for_run(run.id).status == "succeeded"
