"""Microsoft To Do Task (microsoft.todo_task), through the engine against the fake Graph on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.microsoft_server import FakeMicrosoft, User, fake_microsoft_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

TYPE = "microsoft.todo_task"
UPN = "ada@contoso.com"


@dataclass
class Todo:
    """The fake Graph, its user and one of their To Do lists."""

    server: FakeMicrosoft
    user: User
    list_id: str

    def run(self, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **settings: Any) -> RunResult:
        return run_node(
            TYPE,
            {"user": UPN, "list_id": self.list_id, **parameters},
            items,
            credential_type="microsoft_graph",
            host=host_for(self.server.credential()),
            **settings,
        )

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.user.todo_lists[self.list_id]


@pytest.fixture
def todo() -> Iterator[Todo]:
    with fake_microsoft_server() as fake:
        user = fake.add_user(UPN)
        yield Todo(fake, user, fake.add_todo_list(user))


def test_create_sends_the_title_notes_importance_and_due_date(todo: Todo) -> None:
    parameters = {
        "title": "Call {{ $json.name }}",
        "body": "About the renewal.",
        "importance": "high",
        "due_date": "{{ $json.due }}",
        "time_zone": "Europe/Paris",
    }

    (created,) = outputs(todo.run(parameters, [{"name": "Grace", "due": "2026-03-01"}]))

    assert created["title"] == "Call Grace" and created["importance"] == "high"
    assert created["status"] == "notStarted"
    (request,) = todo.server.received("POST")
    assert request.path == f"/v1.0/users/{UPN}/todo/lists/{todo.list_id}/tasks"
    assert request.body == {
        "title": "Call Grace",
        "body": {"content": "About the renewal.", "contentType": "text"},
        "importance": "high",
        "dueDateTime": {"dateTime": "2026-03-01T00:00:00.0000000", "timeZone": "Europe/Paris"},
    }
    assert created["id"] in todo.tasks


def test_a_due_date_with_an_offset_is_sent_in_utc(todo: Todo) -> None:
    outputs(todo.run({"title": "Ship", "due_date": "2026-03-01T17:30:00+02:00", "time_zone": "Europe/Paris"}))

    assert todo.server.received("POST")[0].body["dueDateTime"] == {
        "dateTime": "2026-03-01T15:30:00.0000000",
        "timeZone": "UTC",
    }


def test_get_reads_one_task(todo: Todo) -> None:
    task = todo.server.add_task(todo.user, todo.list_id, "Water the plants")

    (found,) = outputs(todo.run({"operation": "get", "task_id": "{{ $json.id }}"}, [{"id": task["id"]}]))

    assert found["title"] == "Water the plants"
    assert todo.server.received("GET")[0].path == f"/v1.0/users/{UPN}/todo/lists/{todo.list_id}/tasks/{task['id']}"


def test_get_many_filters_pages_and_limits(todo: Todo) -> None:
    for n in range(130):
        todo.server.add_task(todo.user, todo.list_id, f"Task {n}", status="completed" if n % 10 == 0 else "notStarted")

    open_tasks = outputs(todo.run({"operation": "get_many", "filter": "status ne 'completed'", "return_all": True}))
    first_two = outputs(todo.run({"operation": "get_many", "limit": 2}))

    assert len(open_tasks) == 117 and all(task["status"] == "notStarted" for task in open_tasks)
    requests = todo.server.received("GET")
    assert [r.query.get("$skip") for r in requests[:2]] == [None, "100"]
    assert requests[0].query == {"$filter": "status ne 'completed'", "$top": "100"}
    assert [task["title"] for task in first_two] == ["Task 0", "Task 1"]
    assert requests[-1].query == {"$top": "2"}


def test_update_sends_only_what_changes_and_completes_the_task(todo: Todo) -> None:
    task = todo.server.add_task(
        todo.user,
        todo.list_id,
        "Renew passport",
        dueDateTime={"dateTime": "2026-02-01T00:00:00.0000000", "timeZone": "UTC"},
    )

    (done,) = outputs(todo.run({"operation": "update", "task_id": task["id"], "status": "completed"}))
    (undated,) = outputs(
        todo.run(
            {"operation": "update", "task_id": task["id"], "title": "Renew passport (done)", "clear_due_date": True}
        )
    )

    first, second = todo.server.received("PATCH")
    assert first.body == {"status": "completed"}
    assert done["status"] == "completed" and "completedDateTime" in done and done["title"] == "Renew passport"
    assert second.body == {"title": "Renew passport (done)", "dueDateTime": None}
    assert "dueDateTime" not in undated and undated["status"] == "completed"


def test_delete_removes_the_task(todo: Todo) -> None:
    task = todo.server.add_task(todo.user, todo.list_id, "Old")

    (deleted,) = outputs(todo.run({"operation": "delete", "task_id": task["id"]}))

    assert deleted == {"id": task["id"], "deleted": True}
    assert todo.tasks == {}


def test_an_unknown_list_says_what_to_check(todo: Todo) -> None:
    error = failure(todo.run({"operation": "get_many", "list_id": "AAMkNoSuchList"}))

    assert error["message"] == (
        "item 0: Microsoft Graph refused listing the tasks of the To Do list (404 ErrorItemNotFound): "
        "The specified object was not found in the store."
    )
    assert error["description"].startswith("Check the user, the list id")


def test_a_missing_tasks_permission_is_named(todo: Todo) -> None:
    todo.server.roles = ["Mail.Send"]

    error = failure(todo.run({"title": "x"}))

    assert "(403 Forbidden)" in error["message"]
    assert "application permission Tasks.ReadWrite.All" in error["description"]


def test_continue_on_fail_keeps_the_error_as_an_item(todo: Todo) -> None:
    (entry,) = outputs(todo.run({"operation": "get", "task_id": "missing"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Microsoft Graph refused getting task missing (404 ErrorItemNotFound)")


def test_parameters_are_checked_before_calling_graph(todo: Todo) -> None:
    bad_date = failure(todo.run({"title": "x", "due_date": "next friday"}))
    no_title = failure(todo.run({"title": " "}))
    no_task = failure(todo.run({"operation": "update"}))

    assert "the due date 'next friday' is not a date" in bad_date["message"]
    assert "create needs a title" in no_title["message"]
    assert "update needs the task id" in no_task["message"]
    assert todo.server.received() == []


def test_an_oauth2_account_works_on_its_own_lists(todo: Todo) -> None:
    todo.server.sign_in("delegated-token", UPN)
    parameters = {
        "authentication": "oauth2",
        "graph_url": todo.server.graph_url,
        "list_id": todo.list_id,
        "title": "Mine",
    }

    (created,) = outputs(
        run_node(TYPE, parameters, credential_type="oauth2", host=host_for({"access_token": "delegated-token"}))
    )

    assert created["title"] == "Mine"
    assert todo.server.received("POST")[0].path == f"/v1.0/me/todo/lists/{todo.list_id}/tasks"
