"""Todoist Task (todoist.task) and the todoist_api credential, through the engine against the fake Todoist."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.todoist.credentials import TodoistApiCredential
from tests.fakes.todoist_server import INBOX, SECTIONS, TOKEN, USER, WORK, FakeTodoist, fake_todoist_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

SECTION = next(iter(SECTIONS))


@pytest.fixture
def todoist() -> Iterator[FakeTodoist]:
    with fake_todoist_server() as server:
        yield server


def task(
    todoist: FakeTodoist,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "todoist.task",
        parameters,
        items,
        credential_type="todoist_api",
        host=host_for(todoist.credential(token)),
        **settings,
    )


def test_create_makes_a_task_per_item_with_the_bearer_token(todoist: FakeTodoist) -> None:
    parameters = {
        "content": "Call {{ $json.customer }}",
        "description": "About order {{ $json.order }}",
        "project_id": WORK,
        "section_id": SECTION,
        "labels": "calls, {{ $json.tier }}",
        "priority": 4,
        "due_string": "tomorrow at 10",
    }

    created = outputs(
        task(
            todoist,
            parameters,
            [{"customer": "Ada", "order": 7, "tier": "gold"}, {"customer": "Bo", "order": 8, "tier": "x"}],
        )
    )

    assert [entry["content"] for entry in created] == ["Call Ada", "Call Bo"]
    assert created[0]["due"]["date"] == "2026-01-02T10:00:00" and created[0]["labels"] == ["calls", "gold"]
    request = todoist.received("POST", "/api/v1/tasks")[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body == {
        "content": "Call Ada",
        "description": "About order 7",
        "labels": ["calls", "gold"],
        "priority": 4,
        "due_string": "tomorrow at 10",
        "project_id": WORK,
        "section_id": SECTION,
    }


def test_create_a_sub_task_in_the_inbox_with_a_due_date(todoist: FakeTodoist) -> None:
    parent = todoist.add_task("Parent")

    (child,) = outputs(task(todoist, {"content": "Child", "parent_id": parent["id"], "due_date": "2026-02-01"}))

    assert (child["parent_id"], child["project_id"], child["due"]["date"]) == (parent["id"], INBOX, "2026-02-01")
    assert child["priority"] == 1


def test_get_reads_the_task_by_an_expression(todoist: FakeTodoist) -> None:
    stored = todoist.add_task("Read me", description="details")

    (found,) = outputs(task(todoist, {"operation": "get", "task_id": "{{ $json.id }}"}, [{"id": stored["id"]}]))

    assert found == stored
    assert todoist.received("GET")[0].path == f"/api/v1/tasks/{stored['id']}"


def test_get_many_follows_next_cursors(todoist: FakeTodoist) -> None:
    for n in range(1, 451):
        todoist.add_task(f"Task {n}")

    everything = outputs(task(todoist, {"operation": "get_many", "return_all": True}))

    assert len(everything) == 450 and everything[-1]["content"] == "Task 450"
    pages = todoist.received("GET", "/tasks")
    assert [(r.query.get("cursor"), r.query["limit"]) for r in pages] == [
        (None, "200"),
        ("c200", "200"),
        ("c400", "200"),
    ]


def test_get_many_filters_by_project_section_and_label_up_to_the_limit(todoist: FakeTodoist) -> None:
    for n in range(1, 6):
        todoist.add_task(f"Work {n}", project_id=WORK, section_id=SECTION, labels=["waiting"] if n % 2 else [])
    todoist.add_task("Home", labels=["waiting"])

    waiting = outputs(
        task(
            todoist,
            {"operation": "get_many", "project_id": WORK, "section_id": SECTION, "label": "waiting", "limit": 2},
        )
    )

    assert [entry["content"] for entry in waiting] == ["Work 1", "Work 3"]
    (request,) = todoist.received("GET", "/tasks")
    assert request.query == {"project_id": WORK, "section_id": SECTION, "label": "waiting", "limit": "2"}


def test_get_many_with_a_filter_query(todoist: FakeTodoist) -> None:
    todoist.add_task("Urgent today", priority=4, due_string="today", project_id=WORK)
    todoist.add_task("Urgent later", priority=4, due_string="tomorrow", project_id=WORK)
    todoist.add_task("Calm today", priority=1, due_string="today", project_id=WORK)

    found = outputs(task(todoist, {"operation": "get_many", "filter_query": "today & p1 & #Work", "project_id": INBOX}))

    assert [entry["content"] for entry in found] == ["Urgent today"]
    (request,) = todoist.received("GET", "/tasks/filter")
    assert request.query == {"query": "today & p1 & #Work", "limit": "50"}


def test_update_close_reopen_and_delete(todoist: FakeTodoist) -> None:
    stored = todoist.add_task("Draft", description="keep", labels=["a"])
    key = stored["id"]

    (updated,) = outputs(task(todoist, {"operation": "update", "task_id": key, "content": "Final", "priority": 2}))
    (closed,) = outputs(task(todoist, {"operation": "close", "task_id": key}))
    listed_closed = outputs(task(todoist, {"operation": "get_many"}))
    (reopened,) = outputs(task(todoist, {"operation": "reopen", "task_id": key}))
    listed_open = outputs(task(todoist, {"operation": "get_many"}))
    (deleted,) = outputs(task(todoist, {"operation": "delete", "task_id": key}))

    assert todoist.received("POST", f"/tasks/{key}")[0].body == {"content": "Final", "priority": 2}
    assert (updated["content"], updated["description"], updated["labels"]) == ("Final", "keep", ["a"])
    assert closed == {"id": key, "completed": True} and listed_closed == []
    assert reopened == {"id": key, "completed": False} and [entry["id"] for entry in listed_open] == [key]
    assert deleted == {"id": key, "deleted": True} and todoist.tasks == []


def test_a_wrong_token_says_so_without_showing_it(todoist: FakeTodoist) -> None:
    error = failure(task(todoist, {"content": "x"}, token="wrongWRONGwrong"))

    assert error["message"] == (
        "item 0: Todoist did not accept the credential's token while creating a task "
        "(401 AUTH_INVALID_TOKEN: Invalid token)"
    )
    assert "Settings → Integrations → Developer" in error["description"]
    assert "wrongWRONGwrong" not in json.dumps(error)


def test_a_missing_task_names_the_failing_item(todoist: FakeTodoist) -> None:
    stored = todoist.add_task("Only")

    error = failure(
        task(todoist, {"operation": "close", "task_id": "{{ $json.id }}"}, [{"id": stored["id"]}, {"id": "nope"}])
    )

    assert error["message"] == "item 1: Todoist refused closing task nope (404 NOT_FOUND): Task not found"
    assert error["item_index"] == 1
    assert "Check the task id" in error["description"]


def test_a_validation_error_names_the_argument(todoist: FakeTodoist) -> None:
    bad_due = failure(task(todoist, {"content": "x", "due_string": "whenever"}))
    bad_project = failure(task(todoist, {"content": "x", "project_id": "unknown"}))
    bad_filter = failure(task(todoist, {"operation": "get_many", "filter_query": "today | overdue"}))

    assert (
        bad_due["message"]
        == "item 0: Todoist refused creating a task (400 INVALID_DATE_FORMAT): Date is invalid (due_string)"
    )
    assert bad_project["message"].endswith("(400 INVALID_ARGUMENT_VALUE): Invalid argument value (project_id)")
    assert bad_filter["message"].startswith("item 0: Todoist refused filtering tasks (400 INVALID_SEARCH_QUERY)")
    assert "Change what Todoist named above" in bad_due["description"]
    assert todoist.tasks == []


def test_the_rate_limit_is_explained(todoist: FakeTodoist) -> None:
    todoist.rate_limited = 1

    error = failure(task(todoist, {"content": "x"}))

    assert error["message"] == (
        "item 0: Todoist's rate limit stopped creating a task (429 TOO_MANY_REQUESTS: Too many requests)"
    )
    assert error["description"].startswith("Wait 15 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(todoist: FakeTodoist) -> None:
    (entry,) = outputs(task(todoist, {"operation": "get", "task_id": "gone"}, on_error="continue"))

    assert entry["error"] == "item 0: Todoist refused getting task gone (404 NOT_FOUND): Task not found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_todoist(todoist: FakeTodoist) -> None:
    no_content = failure(task(todoist, {"operation": "create"}))
    both_dues = failure(task(todoist, {"content": "x", "due_string": "today", "due_date": "2026-01-01"}))
    priority = failure(task(todoist, {"content": "x", "priority": 5}))
    nothing = failure(task(todoist, {"operation": "update", "task_id": "abc"}))

    assert "create needs the task's content" in no_content["message"]
    assert "give the due in words or the due date, not both" in both_dues["message"]
    assert priority["message"].startswith("parameter 'priority', item 0:")
    assert "update needs at least one field to change" in nothing["message"]
    assert todoist.received() == []


def test_the_credential_test_names_the_user_and_refuses_a_wrong_token(todoist: FakeTodoist) -> None:
    assert TodoistApiCredential.test_connection(todoist.credential()) == f"Connected as HITL Bot ({USER['email']})"

    with pytest.raises(NodeError) as refused:
        TodoistApiCredential.test_connection(todoist.credential("revoked"))

    assert "did not accept the credential's token while checking the token" in refused.value.message
