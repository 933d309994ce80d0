"""ClickUp Task (clickup.task) and the clickup_api credential, through the engine against a fake ClickUp."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.clickup.credentials import ClickupApiCredential
from nodes.clickup.task import due_date
from nodes.sdk import NodeError
from tests.fakes.clickup_server import TOKEN, FakeClickUp, fake_clickup_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def clickup() -> Iterator[FakeClickUp]:
    with fake_clickup_server() as server:
        yield server


def task(
    clickup: FakeClickUp,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(clickup.credential(token))
    return run_node("clickup.task", parameters, items, credential_type="clickup_api", host=host, **settings)


def millis(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_create_adds_a_task_per_item_to_the_list(clickup: FakeClickUp) -> None:
    parameters = {
        "list_id": "901",
        "name": "Follow up {{ $json.customer }}",
        "description": "## Order {{ $json.order }}\n- call back",
        "description_format": "markdown",
        "status": "in progress",
        "priority": "high",
        "assignees": "4001, {{ $json.helper }}",
        "tags": "sales",
        "due": "2026-03-31",
    }
    items = [{"customer": "Globex", "order": 7, "helper": 4002}, {"customer": "Initech", "order": 8, "helper": 4001}]

    created = outputs(task(clickup, parameters, items))

    assert [entry["name"] for entry in created] == ["Follow up Globex", "Follow up Initech"]
    assert created[0]["status"]["status"] == "in progress" and created[0]["priority"]["priority"] == "high"
    assert [user["id"] for user in created[0]["assignees"]] == [4001, 4002]
    first = clickup.received("POST", "/list/901/task")[0]
    assert first.body == {
        "name": "Follow up Globex",
        "markdown_content": "## Order 7\n- call back",
        "status": "in progress",
        "priority": 2,
        "due_date": millis("2026-03-31T00:00:00"),
        "due_date_time": False,
        "assignees": [4001, 4002],
        "tags": ["sales"],
    }
    assert first.headers["authorization"] == TOKEN


def test_due_dates_follow_the_workflows_time_zone_unless_they_have_an_offset() -> None:
    assert due_date("2026-03-31T17:00", "Europe/Paris") == (millis("2026-03-31T15:00:00"), True)
    assert due_date("2026-03-31T17:00:00+00:00", "Europe/Paris") == (millis("2026-03-31T17:00:00"), True)
    assert due_date("2026-01-15", "UTC") == (millis("2026-01-15T00:00:00"), False)


def test_get_reads_the_task_named_by_an_expression(clickup: FakeClickUp) -> None:
    clickup.add_task("First")
    second = clickup.add_task("Second", description="details")

    (found,) = outputs(task(clickup, {"operation": "get", "task_id": "{{ $json.id }}"}, [second]))

    assert (found["id"], found["name"], found["description"]) == (second["id"], "Second", "details")


def seed(clickup: FakeClickUp, count: int) -> None:
    for n in range(1, count + 1):
        status = "complete" if n % 10 == 0 else "to do"
        clickup.add_task(
            f"Task {n}", status=status, assignees=[4002] if n % 2 == 0 else [], tags=["bug"] if n % 3 == 0 else []
        )
    clickup.add_task("Other list", list_id="902")


def test_get_many_return_all_pages_until_the_last_page(clickup: FakeClickUp) -> None:
    seed(clickup, 250)

    listed = outputs(
        task(clickup, {"operation": "get_many", "list_id": "901", "include_closed": True, "return_all": True})
    )

    assert len(listed) == 250
    assert [entry["name"] for entry in listed[:2]] == ["Task 250", "Task 249"]
    pages = clickup.received("GET", "/list/901/task")
    assert [request.values("page") for request in pages] == [["0"], ["1"], ["2"]]


def test_get_many_filters_orders_and_stops_at_the_limit(clickup: FakeClickUp) -> None:
    seed(clickup, 40)

    found = outputs(
        task(
            clickup,
            {
                "operation": "get_many",
                "list_id": "901",
                "assignee_filter": "4002",
                "tag_filter": ["bug"],
                "reverse": True,
                "limit": 3,
            },
        )
    )

    assert [entry["name"] for entry in found] == ["Task 6", "Task 12", "Task 18"]
    (request,) = clickup.received("GET", "/list/901/task")
    assert request.query == [
        ("order_by", "created"),
        ("reverse", "true"),
        ("include_closed", "false"),
        ("archived", "false"),
        ("assignees[]", "4002"),
        ("tags[]", "bug"),
        ("page", "0"),
    ]


def test_update_sends_only_the_changes_and_edits_assignees(clickup: FakeClickUp) -> None:
    created = clickup.add_task("Draft", assignees=[4001], description="keep")

    (updated,) = outputs(
        task(
            clickup,
            {
                "operation": "update",
                "task_id": created["id"],
                "status": "complete",
                "priority": "urgent",
                "assignees": "4002",
                "remove_assignees": "4001",
            },
        )
    )

    assert clickup.received("PUT")[0].body == {
        "status": "complete",
        "priority": 1,
        "assignees": {"add": [4002], "rem": [4001]},
    }
    assert updated["status"]["type"] == "closed" and updated["description"] == "keep"
    assert [user["id"] for user in updated["assignees"]] == [4002]


def test_delete_removes_the_task(clickup: FakeClickUp) -> None:
    created = clickup.add_task("Obsolete")

    (deleted,) = outputs(task(clickup, {"operation": "delete", "task_id": created["id"]}))

    assert deleted == {"id": created["id"], "deleted": True}
    assert clickup.tasks == []


def test_a_status_the_list_lacks_carries_clickups_error(clickup: FakeClickUp) -> None:
    error = failure(task(clickup, {"list_id": "902", "name": "x", "status": "in progress"}))

    assert (
        error["message"] == "item 0: ClickUp refused creating a task in list 902 (400 CRTSK_001): Status does not exist"
    )
    assert error["description"] == "Change what ClickUp named above, then retry."


def test_a_list_clickup_will_not_show_explains_access(clickup: FakeClickUp) -> None:
    error = failure(task(clickup, {"operation": "get_many", "list_id": "999"}))

    assert error["message"] == (
        "item 0: ClickUp refused listing the tasks of list 999 (401 OAUTH_027): Team not authorized"
    )
    assert "member of its workspace" in error["description"]


def test_a_missing_task_names_the_item(clickup: FakeClickUp) -> None:
    known = clickup.add_task("Known")

    error = failure(
        task(clickup, {"operation": "get", "task_id": "{{ $json.id }}"}, [{"id": known["id"]}, {"id": "zzz"}])
    )

    assert error["message"] == "item 1: ClickUp refused getting task zzz (404 ITEM_013): Task not found, deleted"
    assert error["item_index"] == 1


def test_a_wrong_token_says_so_without_showing_it(clickup: FakeClickUp) -> None:
    error = failure(task(clickup, {"operation": "get", "task_id": "x"}, token="pk_wrong_0000"))

    assert error["message"] == (
        "item 0: ClickUp did not accept the credential's token while getting task x (401 OAUTH_025): Token invalid"
    )
    assert "Settings → Apps" in error["description"]
    assert "pk_wrong_0000" not in json.dumps(error)


def test_the_rate_limit_says_when_it_resets(clickup: FakeClickUp) -> None:
    clickup.rate_limited = 1

    error = failure(task(clickup, {"list_id": "901", "name": "x"}))

    assert error["message"] == (
        "item 0: ClickUp's rate limit stopped creating a task in list 901 (429 APP_002): Rate limit reached"
    )
    assert "(at 00:01:00 UTC)" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(clickup: FakeClickUp) -> None:
    (entry,) = outputs(task(clickup, {"operation": "delete", "task_id": "gone"}, on_error="continue"))

    assert entry["error"] == "item 0: ClickUp refused deleting task gone (404 ITEM_013): Task not found, deleted"


def test_parameters_are_checked_before_calling_clickup(clickup: FakeClickUp) -> None:
    no_list = failure(task(clickup, {"name": "x"}))
    no_name = failure(task(clickup, {"list_id": "901"}))
    nothing = failure(task(clickup, {"operation": "update", "task_id": "x"}))
    bad_due = failure(task(clickup, {"list_id": "901", "name": "x", "due": "next friday"}))

    assert "create needs the list id" in no_list["message"]
    assert "create needs a name" in no_name["message"]
    assert "update needs a name, description, status, priority, assignees or due date" in nothing["message"]
    assert "the due date is 2026-03-31 or 2026-03-31T17:00" in bad_due["message"]
    assert clickup.received() == []


def test_the_credential_test_names_the_user(clickup: FakeClickUp) -> None:
    assert ClickupApiCredential.test_connection(clickup.credential()) == "Connected as Ada Lovelace (ada@acme.test)"

    with pytest.raises(NodeError) as refused:
        ClickupApiCredential.test_connection(clickup.credential("pk_revoked"))

    assert "did not accept the credential's token" in refused.value.message
    assert clickup.received("GET", "/user")[0].headers["authorization"] == TOKEN
