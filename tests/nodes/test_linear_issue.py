"""Linear Issue (linear.issue) and the linear_api credential, through the engine against the fake Linear."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.linear.credentials import LinearApiCredential
from nodes.sdk import NodeError
from tests.fakes.linear_server import ALICE, API_KEY, OTHER_TEAM, TEAM, VIEWER, FakeLinear, fake_linear_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def linear() -> Iterator[FakeLinear]:
    with fake_linear_server() as server:
        yield server


def issue(
    linear: FakeLinear,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    return run_node(
        "linear.issue",
        parameters,
        items,
        credential_type="linear_api",
        host=host_for(linear.credential(api_key)),
        **settings,
    )


def test_create_sends_the_input_with_the_bare_api_key(linear: FakeLinear) -> None:
    parameters = {
        "team_id": TEAM["id"],
        "title": "Order {{ $json.id }} failed",
        "description": "**Payment** bounced",
        "priority": "high",
        "assignee_id": ALICE["id"],
        "state_id": linear.state_id("In Progress"),
        "label_ids": "l-0001-bug, l-0002-feature",
        "due_date": "2026-03-31",
    }

    created = outputs(issue(linear, parameters, [{"id": 7}, {"id": 8}]))

    assert [entry["identifier"] for entry in created] == ["ENG-1", "ENG-2"]
    first = created[0]
    assert (first["title"], first["priority"], first["priorityLabel"]) == ("Order 7 failed", 2, "High")
    assert first["state"]["name"] == "In Progress" and first["assignee"]["name"] == "Alice"
    assert [label["name"] for label in first["labels"]["nodes"]] == ["Bug", "Feature"]
    request = linear.received()[0]
    assert request.headers["authorization"] == API_KEY
    assert "issueCreate(input: $input)" in request.body["query"]
    assert request.variables == {
        "input": {
            "teamId": TEAM["id"],
            "title": "Order 7 failed",
            "description": "**Payment** bounced",
            "priority": 2,
            "assigneeId": ALICE["id"],
            "stateId": linear.state_id("In Progress"),
            "labelIds": ["l-0001-bug", "l-0002-feature"],
            "dueDate": "2026-03-31",
        }
    }


def test_get_by_identifier_from_an_expression(linear: FakeLinear) -> None:
    linear.add_issue("First")
    linear.add_issue("Second", description="details")

    (found,) = outputs(issue(linear, {"operation": "get", "issue_id": "{{ $json.key }}"}, [{"key": "ENG-2"}]))

    assert (found["identifier"], found["title"], found["description"]) == ("ENG-2", "Second", "details")
    assert found["team"] == TEAM and found["state"]["name"] == "Todo"
    assert linear.received()[0].variables == {"id": "ENG-2"}


def test_get_many_follows_end_cursors(linear: FakeLinear) -> None:
    for n in range(1, 231):
        linear.add_issue(f"Issue {n}")

    everything = outputs(issue(linear, {"operation": "get_many", "return_all": True}))

    assert len(everything) == 230
    assert [entry["identifier"] for entry in everything[:2]] == ["ENG-230", "ENG-229"]
    pages = [request.variables for request in linear.received()]
    assert [(page["first"], page["after"]) for page in pages] == [
        (100, None),
        (100, everything[99]["id"]),
        (100, everything[199]["id"]),
    ]
    assert pages[0]["filter"] is None and pages[0]["orderBy"] == "createdAt"


def test_get_many_filters_and_stops_at_the_limit(linear: FakeLinear) -> None:
    for n in range(1, 9):
        linear.add_issue(f"Mine {n}", assigneeId=ALICE["id"], stateId=linear.state_id("Done" if n % 2 else "Todo"))
    linear.add_issue("Someone else's", assigneeId=VIEWER["id"], stateId=linear.state_id("Done"))
    linear.add_issue("Other team", teamId=OTHER_TEAM["id"], assigneeId=ALICE["id"])

    done = outputs(
        issue(
            linear,
            {
                "operation": "get_many",
                "team_id": TEAM["id"],
                "assignee_id": ALICE["id"],
                "state_name": "done",
                "limit": 3,
            },
        )
    )

    assert [entry["title"] for entry in done] == ["Mine 7", "Mine 5", "Mine 3"]
    (request,) = linear.received()
    assert request.variables["first"] == 3
    assert request.variables["filter"] == {
        "team": {"id": {"eq": TEAM["id"]}},
        "assignee": {"id": {"eq": ALICE["id"]}},
        "state": {"name": {"eqIgnoreCase": "done"}},
    }


def test_update_sends_only_the_fields_given(linear: FakeLinear) -> None:
    linear.add_issue("Keep", description="old", priority=3)

    (updated,) = outputs(
        issue(linear, {"operation": "update", "issue_id": "ENG-1", "title": "New", "state_id": linear.state_id("Done")})
    )

    assert linear.received()[0].variables == {
        "id": "ENG-1",
        "input": {"title": "New", "stateId": linear.state_id("Done")},
    }
    assert (updated["title"], updated["description"], updated["priorityLabel"]) == ("New", "old", "Medium")
    assert updated["state"]["type"] == "completed"


def test_delete_trashes_or_removes_for_good(linear: FakeLinear) -> None:
    trashed_issue = linear.add_issue("Trash me")
    linear.add_issue("Remove me")

    (trashed,) = outputs(issue(linear, {"operation": "delete", "issue_id": "ENG-1"}))
    (removed,) = outputs(issue(linear, {"operation": "delete", "issue_id": "ENG-2", "permanently": True}))
    listed = outputs(issue(linear, {"operation": "get_many", "include_archived": True}))

    assert trashed == {"id": trashed_issue["id"], "identifier": "ENG-1", "deleted": True}
    assert removed["identifier"] == "ENG-2"
    assert [entry["identifier"] for entry in listed] == ["ENG-1"] and listed[0]["archivedAt"]
    assert [request.variables.get("permanentlyDelete") for request in linear.received()[:2]] == [False, True]


def test_a_wrong_key_says_so_without_showing_it(linear: FakeLinear) -> None:
    error = failure(issue(linear, {"operation": "get", "issue_id": "ENG-1"}, api_key="lin_api_wrongWRONG"))

    assert error["message"] == (
        "item 0: Linear did not accept the credential's API key while getting issue ENG-1: Authentication required, "
        "not authenticated (You need to authenticate to access this operation.)"
    )
    assert "create a new personal API key" in error["description"]
    assert "lin_api_wrongWRONG" not in json.dumps(error)


def test_a_missing_issue_names_the_failing_item(linear: FakeLinear) -> None:
    linear.add_issue("Only")

    error = failure(
        issue(linear, {"operation": "get", "issue_id": "{{ $json.key }}"}, [{"key": "ENG-1"}, {"key": "ENG-9"}])
    )

    assert error["message"] == (
        "item 1: Linear refused getting issue ENG-9 (INVALID_INPUT): Entity not found: Issue "
        "(Could not find referenced Issue.)"
    )
    assert error["item_index"] == 1
    assert "Check the ids" in error["description"]


def test_invalid_input_carries_linears_message(linear: FakeLinear) -> None:
    error = failure(
        issue(linear, {"team_id": TEAM["id"], "title": "x", "state_id": linear.state_id("Done", OTHER_TEAM)})
    )

    assert error["message"] == (
        "item 0: Linear refused creating an issue (INVALID_INPUT): Argument Validation Error "
        "(The workflow state does not belong to the issue's team.)"
    )
    assert linear.issues == []


def test_the_rate_limit_is_explained(linear: FakeLinear) -> None:
    linear.rate_limited = 1

    error = failure(issue(linear, {"team_id": TEAM["id"], "title": "x"}))

    assert error["message"] == (
        "item 0: Linear's rate limit stopped creating an issue: Rate limit exceeded "
        "(Too many requests. Please try again later.)"
    )
    assert "Wait until Linear's limit refills (at 00:00 UTC)" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(linear: FakeLinear) -> None:
    (entry,) = outputs(issue(linear, {"operation": "delete", "issue_id": "ENG-5"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Linear refused deleting issue ENG-5 (INVALID_INPUT)")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_linear(linear: FakeLinear) -> None:
    no_team = failure(issue(linear, {"title": "x"}))
    no_id = failure(issue(linear, {"operation": "get"}))
    nothing = failure(issue(linear, {"operation": "update", "issue_id": "ENG-1"}))
    bad_date = failure(issue(linear, {"team_id": TEAM["id"], "title": "x", "due_date": "tomorrow"}))

    assert "create needs the team id and a title" in no_team["message"]
    assert "get needs the issue's identifier or id" in no_id["message"]
    assert "update needs at least one field to change" in nothing["message"]
    assert "the due date must look like 2026-12-31" in bad_date["message"]
    assert linear.received() == []


def test_the_credential_test_names_the_viewer_and_refuses_a_wrong_key(linear: FakeLinear) -> None:
    assert LinearApiCredential.test_connection(linear.credential()) == "Connected as HITL Bot (bot@example.com)"

    with pytest.raises(NodeError) as refused:
        LinearApiCredential.test_connection(linear.credential("lin_api_revoked"))

    assert "did not accept the credential's API key while checking the API key" in refused.value.message
