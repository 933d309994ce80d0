"""Google Tasks (google.tasks) through the engine against the fake Google APIs on 127.0.0.1, acting as a user."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.fakes.google_server import DEFAULT_TASK_LIST
from tests.nodes.conftest import Google
from tests.nodes.integrations import failure, host_for, outputs, run_node

TASKS_SCOPE = "https://www.googleapis.com/auth/tasks"


def tasks(google: Google, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    google.server.allow_delegation("robot", TASKS_SCOPE)
    host = host_for({**google.credential, "delegated_user": "ada@acme.test"})
    return run_node("google.tasks", parameters, items, credential_type="google_service_account", host=host, **settings)


def listed(google: Google) -> dict[str, dict[str, Any]]:
    return google.server.task_lists[DEFAULT_TASK_LIST]


def test_create_a_task_and_a_subtask_with_a_due_date(google: Google) -> None:
    parameters = {"title": "Call {{ $json.name }}", "notes": "About the renewal.", "due": "{{ $json.due }}"}

    (task,) = outputs(tasks(google, parameters, [{"name": "Grace", "due": "2024-05-03T15:30:00+02:00"}]))
    (subtask,) = outputs(tasks(google, {"title": "Prepare numbers", "parent": task["id"]}))

    assert task == listed(google)[task["id"]]
    assert (task["title"], task["notes"], task["status"]) == ("Call Grace", "About the renewal.", "needsAction")
    assert task["due"] == "2024-05-03T00:00:00.000Z"
    assert subtask["parent"] == task["id"]
    inserts = google.server.received("/tasks/v1/lists/%40default/tasks")
    assert [request.query.get("parent") for request in inserts] == [None, [task["id"]]]
    assert set(google.server.subjects.values()) == {"ada@acme.test"}


def test_get_a_task_of_another_list(google: Google) -> None:
    task = google.server.add_task("groceries", title="Milk")

    (found,) = outputs(
        tasks(google, {"operation": "get", "task_list": "groceries", "task_id": "{{ $json.id }}"}, [task])
    )

    assert found == task


def test_list_can_leave_out_completed_tasks(google: Google) -> None:
    google.server.add_task(title="Open")
    google.server.add_task(title="Done", status="completed")

    everything = outputs(tasks(google, {"operation": "list"}))
    open_only = outputs(tasks(google, {"operation": "list", "show_completed": False}))

    assert [task["title"] for task in everything] == ["Open", "Done"]
    assert everything[1]["completed"]
    assert [task["title"] for task in open_only] == ["Open"]
    assert google.server.received("/tasks/v1/lists/")[-1].query["showCompleted"] == ["false"]


def test_list_return_all_follows_pages_and_limit_stops(google: Google) -> None:
    for number in range(103):
        google.server.add_task(title=f"Task {number}")

    everything = outputs(tasks(google, {"operation": "list", "return_all": True}))
    first = outputs(tasks(google, {"operation": "list", "limit": 5}))

    assert [task["title"] for task in everything] == [f"Task {number}" for number in range(103)]
    pages = google.server.received("/tasks/v1/lists/")
    assert [page.query.get("pageToken") for page in pages[:2]] == [None, ["100"]]
    assert pages[0].query["maxResults"] == ["100"]
    assert len(first) == 5 and pages[-1].query["maxResults"] == ["5"]


def test_update_completes_then_reopens_a_task(google: Google) -> None:
    task = google.server.add_task(title="Report", notes="Draft")

    (completed,) = outputs(
        tasks(google, {"operation": "update", "task_id": task["id"], "status": "completed", "due": "2024-06-01"})
    )
    (reopened,) = outputs(
        tasks(google, {"operation": "update", "task_id": task["id"], "status": "needs_action", "title": "Report v2"})
    )

    assert completed["status"] == "completed" and completed["completed"]
    assert completed["due"] == "2024-06-01T00:00:00.000Z" and completed["notes"] == "Draft"
    assert reopened["status"] == "needsAction" and "completed" not in reopened
    assert reopened["title"] == "Report v2" and reopened["due"] == "2024-06-01T00:00:00.000Z"
    assert [request.method for request in google.server.received("/tasks/v1/lists/")] == ["PATCH", "PATCH"]


def test_delete_removes_the_task(google: Google) -> None:
    task = google.server.add_task(title="Old")

    (deleted,) = outputs(tasks(google, {"operation": "delete", "task_id": task["id"]}))

    assert deleted == {"task_list": "@default", "task_id": task["id"], "deleted": True}
    assert task["id"] not in listed(google)


def test_an_unknown_parent_carries_googles_message(google: Google) -> None:
    error = failure(tasks(google, {"title": "Orphan", "parent": "nope"}))

    assert error["message"] == "item 0: Google refused creating a task in list @default (400): Invalid Value"
    assert "parent task's id" in error["description"]


def test_a_missing_task_names_the_item(google: Google) -> None:
    task = google.server.add_task(title="Here")

    error = failure(tasks(google, {"operation": "get", "task_id": "{{ $json.id }}"}, [{"id": task["id"]}, {"id": "x"}]))

    assert error["message"] == "item 1: Google refused reading task x (404): Task not found."
    assert error["item_index"] == 1 and "@default" in error["description"]


def test_an_unknown_task_list_says_what_to_check(google: Google) -> None:
    error = failure(tasks(google, {"operation": "list", "task_list": "missing"}))

    assert error["message"] == "item 0: Google refused listing the tasks of list missing (404): Task list not found."


def test_continue_on_fail_turns_the_error_into_an_item(google: Google) -> None:
    (entry,) = outputs(tasks(google, {"operation": "delete", "task_id": "gone"}, on_error="continue"))

    assert entry["error"] == "item 0: Google refused deleting task gone (404): Task not found."


def test_parameters_are_checked_before_calling_google(google: Google) -> None:
    no_title = failure(tasks(google, {"title": " "}))
    bad_due = failure(tasks(google, {"title": "x", "due": "{{ $json.due }}"}, [{"due": "soon"}]))
    no_id = failure(tasks(google, {"operation": "update", "title": "x"}))

    assert "create needs a title" in no_title["message"]
    assert "'soon' is not a date like 2024-05-01" in bad_due["message"] and "item 0" in bad_due["message"]
    assert "update needs a task id" in no_id["message"]
    assert not google.server.received("/tasks/")
