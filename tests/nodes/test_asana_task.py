"""Asana Task (asana.task) and the asana_api credential, through the engine against a fake Asana."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.asana.credentials import AsanaApiCredential
from nodes.sdk import NodeError
from tests.fakes.asana_server import ME, TOKEN, FakeAsana, fake_asana_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def asana() -> Iterator[FakeAsana]:
    with fake_asana_server() as server:
        yield server


def task(
    asana: FakeAsana,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(asana.credential(token))
    return run_node("asana.task", parameters, items, credential_type="asana_api", host=host, **settings)


def test_create_adds_a_task_per_item_to_the_project(asana: FakeAsana) -> None:
    parameters = {
        "project_id": "2001",
        "name": "Call {{ $json.customer }}",
        "notes": "About order {{ $json.order }}",
        "assignee": "{{ $json.owner }}",
        "due_on": "2026-03-{{ $json.day }}",
        "tags": "5001, 5002",
    }
    items = [
        {"customer": "Globex", "order": 7, "owner": "me", "day": "31"},
        {"customer": "Initech", "order": 8, "owner": "bob@acme.test", "day": "30"},
    ]

    created = outputs(task(asana, parameters, items))

    assert [entry["name"] for entry in created] == ["Call Globex", "Call Initech"]
    assert [entry["assignee"]["name"] for entry in created] == ["Ada Lovelace", "Bob Builder"]
    assert [tag["name"] for tag in created[0]["tags"]] == ["urgent", "customer"]
    first = asana.received("POST", "/tasks")[0]
    assert first.body == {
        "data": {
            "name": "Call Globex",
            "notes": "About order 7",
            "assignee": "me",
            "due_on": "2026-03-31",
            "projects": ["2001"],
            "tags": ["5001", "5002"],
        }
    }
    assert first.headers["authorization"] == f"Bearer {TOKEN}"


def test_create_in_a_workspace_without_a_project(asana: FakeAsana) -> None:
    (created,) = outputs(task(asana, {"workspace_id": "1001", "name": "Private to-do"}))

    assert created["projects"] == [] and created["workspace"]["gid"] == "1001"
    assert asana.received("POST", "/tasks")[0].body == {"data": {"name": "Private to-do", "workspace": "1001"}}


def test_get_returns_the_task_or_only_the_fields_asked_for(asana: FakeAsana) -> None:
    created = asana.add_task("Write launch post", notes="Draft first")

    (full,) = outputs(task(asana, {"operation": "get", "task_id": "{{ $json.gid }}"}, [created]))
    (slim,) = outputs(task(asana, {"operation": "get", "task_id": created["gid"], "fields": "name, due_on"}))

    assert full["notes"] == "Draft first" and full["permalink_url"].endswith(created["gid"])
    assert slim == {
        "gid": created["gid"],
        "name": "Write launch post",
        "due_on": None,
        "resource_type": "task",
        "resource_subtype": "default_task",
    }
    assert asana.received("GET")[1].query == {"opt_fields": "name,due_on"}


def seed(asana: FakeAsana, count: int) -> None:
    for n in range(1, count + 1):
        asana.add_task(f"Task {n}", completed=n % 5 == 0, assignee="4002" if n % 2 == 0 else None)
    asana.add_task("In another project", project="2002")


def test_get_many_of_a_project_follows_next_page_offsets(asana: FakeAsana) -> None:
    seed(asana, 230)

    listed = outputs(task(asana, {"operation": "get_many", "project_id": "2001", "return_all": True}))

    assert len(listed) == 230
    assert set(listed[0]) >= {"gid", "name", "completed", "due_on", "assignee", "permalink_url"}
    assert "workspace" not in listed[0]
    pages = asana.received("GET", "/tasks")
    assert [request.query["limit"] for request in pages] == ["100", "100", "100"]
    assert "offset" not in pages[0].query and pages[1].query["offset"] and pages[2].query["offset"]
    assert pages[0].query["opt_fields"].startswith("name,notes,completed,due_on,assignee.name")


def test_get_many_by_assignee_leaves_out_completed_tasks_and_stops_at_the_limit(asana: FakeAsana) -> None:
    seed(asana, 30)

    found = outputs(
        task(
            asana,
            {
                "operation": "get_many",
                "list_by": "assignee",
                "assignee": "bob@acme.test",
                "workspace_id": "1001",
                "incomplete_only": True,
                "limit": 4,
            },
        )
    )

    assert [entry["name"] for entry in found] == ["Task 2", "Task 4", "Task 6", "Task 8"]
    (request,) = asana.received("GET", "/tasks")
    assert request.query["assignee"] == "bob@acme.test" and request.query["workspace"] == "1001"
    assert request.query["completed_since"] == "now" and request.query["limit"] == "4"


def test_update_changes_only_what_is_given(asana: FakeAsana) -> None:
    created = asana.add_task("Draft", notes="keep me")

    (updated,) = outputs(
        task(asana, {"operation": "update", "task_id": created["gid"], "completed": "yes", "due_on": "2026-04-01"})
    )

    assert asana.received("PUT")[0].body == {"data": {"due_on": "2026-04-01", "completed": True}}
    assert updated["completed"] is True and updated["notes"] == "keep me" and updated["due_on"] == "2026-04-01"


def test_add_comment_and_move_to_section(asana: FakeAsana) -> None:
    created = asana.add_task("Ship it")

    (story,) = outputs(
        task(
            asana,
            {"operation": "add_comment", "task_id": created["gid"], "comment": "Done by {{ $json.who }}"},
            [{"who": "Ada"}],
        )
    )
    (moved,) = outputs(task(asana, {"operation": "move_to_section", "task_id": created["gid"], "section_id": "3002"}))

    assert story["text"] == "Done by Ada" and story["created_by"]["gid"] == ME["gid"]
    assert asana.stories[created["gid"]][0]["text"] == "Done by Ada"
    assert moved == {"gid": created["gid"], "section": "3002", "moved": True}
    assert [m["section"]["name"] for m in asana.tasks[0]["memberships"]] == ["Doing"]
    assert asana.received("POST", "/sections/3002/addTask")[0].body == {"data": {"task": created["gid"]}}


def test_delete_removes_the_task(asana: FakeAsana) -> None:
    created = asana.add_task("Obsolete")

    (deleted,) = outputs(task(asana, {"operation": "delete", "task_id": created["gid"]}))

    assert deleted == {"gid": created["gid"], "deleted": True}
    assert asana.tasks == []


def test_asanas_error_messages_are_passed_on(asana: FakeAsana) -> None:
    unknown_tag = failure(task(asana, {"project_id": "2001", "name": "x", "tags": "9999"}))
    bad_assignee = failure(task(asana, {"project_id": "2001", "name": "x", "assignee": "nobody@acme.test"}))

    assert unknown_tag["message"] == "item 0: Asana refused creating a task (404): tags: Unknown object: 9999"
    assert "Check the ids" in unknown_tag["description"]
    assert bad_assignee["message"] == (
        "item 0: Asana refused creating a task (400): assignee: Not a recognized ID: nobody@acme.test"
    )
    assert bad_assignee["description"] == "Change what Asana named above, then retry."


def test_a_missing_task_names_the_item(asana: FakeAsana) -> None:
    created = asana.add_task("Known")

    error = failure(
        task(asana, {"operation": "get", "task_id": "{{ $json.gid }}"}, [{"gid": created["gid"]}, {"gid": "42"}])
    )

    assert error["message"] == "item 1: Asana refused getting task 42 (404): Unknown object: 42"
    assert error["item_index"] == 1


def test_a_wrong_token_says_so_without_showing_it(asana: FakeAsana) -> None:
    error = failure(task(asana, {"operation": "get", "task_id": "1"}, token="0/wrongtoken"))

    assert error["message"] == (
        "item 0: Asana did not accept the credential's token while getting task 1 (401): Not Authorized"
    )
    assert "developer console" in error["description"]
    assert "0/wrongtoken" not in json.dumps(error)


def test_the_rate_limit_says_when_to_retry(asana: FakeAsana) -> None:
    asana.rate_limited = 1

    error = failure(task(asana, {"operation": "get_many", "project_id": "2001"}))

    assert error["message"] == (
        "item 0: Asana's rate limit stopped listing the tasks of project 2001 (429): "
        "You have made too many requests recently. Please, be chill."
    )
    assert error["description"].startswith("Wait 30 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(asana: FakeAsana) -> None:
    (entry,) = outputs(task(asana, {"operation": "delete", "task_id": "77"}, on_error="continue"))

    assert entry["error"] == "item 0: Asana refused deleting task 77 (404): Unknown object: 77"


def test_parameters_are_checked_before_calling_asana(asana: FakeAsana) -> None:
    nowhere = failure(task(asana, {"name": "x"}))
    bad_date = failure(task(asana, {"project_id": "2001", "name": "x", "due_on": "31/03/2026"}))
    no_workspace = failure(task(asana, {"operation": "get_many", "list_by": "assignee", "assignee": "me"}))
    no_section = failure(task(asana, {"operation": "move_to_section", "task_id": "1"}))

    assert "create needs a project or a workspace" in nowhere["message"]
    assert "the due date is YYYY-MM-DD" in bad_date["message"]
    assert "get_many by assignee needs the assignee and the workspace id" in no_workspace["message"]
    assert "move_to_section needs the section id" in no_section["message"]
    assert asana.received() == []


def test_the_credential_test_names_the_user(asana: FakeAsana) -> None:
    assert AsanaApiCredential.test_connection(asana.credential()) == "Connected as Ada Lovelace (ada@acme.test)"

    with pytest.raises(NodeError) as refused:
        AsanaApiCredential.test_connection(asana.credential("0/revoked"))

    assert "did not accept the credential's token" in refused.value.message
    assert asana.received("GET", "/users/me")[0].headers["authorization"] == f"Bearer {TOKEN}"
