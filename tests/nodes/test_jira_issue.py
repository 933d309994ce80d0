"""Jira Issue (jira.issue) and the jira_cloud_api credential, through the engine against the fake Jira."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.jira.credentials import JiraCloudApiCredential
from nodes.sdk import NodeError
from tests.fakes.jira_server import ALICE, API_TOKEN, EMAIL, ME, FakeJira, fake_jira_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with fake_jira_server() as server:
        yield server


def issue(
    jira: FakeJira,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = API_TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "jira.issue",
        parameters,
        items,
        credential_type="jira_cloud_api",
        host=host_for(jira.credential(token)),
        **settings,
    )


def test_create_sends_fields_with_an_atlassian_document_and_basic_auth(jira: FakeJira) -> None:
    parameters = {
        "project_key": "PROJ",
        "issue_type": "Bug",
        "summary": "Order {{ $json.id }} failed",
        "description": "The payment bounced.\nRetry at noon.\n\nSee order {{ $json.id }}.",
        "labels": "payments, {{ $json.area }}",
        "priority": "High",
        "assignee_account_id": ALICE["accountId"],
        "custom_fields": '{"customfield_10016": 3, "duedate": "2026-03-31"}',
    }

    created = outputs(issue(jira, parameters, [{"id": 7, "area": "billing"}, {"id": 8, "area": "ui"}]))

    assert [entry["key"] for entry in created] == ["PROJ-1", "PROJ-2"]
    assert set(created[0]) == {"id", "key", "self"}
    stored = jira.issue("PROJ-1")["fields"]
    assert (stored["issuetype"], stored["priority"]) == ({"name": "Bug"}, {"name": "High"})
    assert stored["labels"] == ["payments", "billing"] and stored["customfield_10016"] == 3
    assert stored["assignee"]["displayName"] == "Alice"
    request = jira.received("POST", "/rest/api/3/issue")[0]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    assert request.body["fields"]["description"] == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "The payment bounced."},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Retry at noon."},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "See order 7."}]},
        ],
    }
    assert request.body["fields"]["project"] == {"key": "PROJ"} and request.body["fields"]["duedate"] == "2026-03-31"


def test_create_a_subtask_under_its_parent(jira: FakeJira) -> None:
    parent = jira.add_issue("Parent")

    (child,) = outputs(
        issue(jira, {"project_key": "PROJ", "issue_type": "Subtask", "summary": "Child", "parent_key": parent["key"]})
    )

    assert jira.issue(parent["key"])["fields"]["subtasks"] == [{"id": child["id"], "key": child["key"]}]


def test_get_by_key_from_an_expression_with_chosen_fields(jira: FakeJira) -> None:
    jira.add_issue("First")
    jira.add_issue("Second", labels=["x"])

    (full,) = outputs(issue(jira, {"operation": "get", "issue_key": "{{ $json.key }}"}, [{"key": "PROJ-2"}]))
    (some,) = outputs(issue(jira, {"operation": "get", "issue_key": "PROJ-2", "fields": "summary, status"}))

    assert full["fields"]["summary"] == "Second" and full["fields"]["labels"] == ["x"]
    assert some["fields"] == {"summary": "Second", "status": {"name": "To Do"}}
    assert jira.received("GET", "/issue/PROJ-2")[1].query == {"fields": "summary,status"}


def test_get_many_follows_next_page_tokens(jira: FakeJira) -> None:
    for n in range(1, 231):
        jira.add_issue(f"Issue {n}", status="Done" if n % 10 == 0 else "To Do")

    everything = outputs(issue(jira, {"operation": "get_many", "jql": "project = PROJ", "return_all": True}))

    assert len(everything) == 230
    assert everything[0]["key"] == "PROJ-230" and everything[0]["fields"]["summary"] == "Issue 230"
    searches = jira.received("POST", "/search/jql")
    assert [request.body.get("nextPageToken") is None for request in searches] == [True, False, False]
    assert searches[0].body == {"jql": "project = PROJ", "fields": ["*navigable"], "maxResults": 100}


def test_get_many_stops_at_the_limit_and_passes_the_jql_and_fields(jira: FakeJira) -> None:
    for n in range(1, 31):
        jira.add_issue(f"Issue {n}", status="Done" if n % 10 == 0 else "To Do")

    done = outputs(
        issue(
            jira,
            {
                "operation": "get_many",
                "jql": 'project = PROJ AND status = "Done" ORDER BY created ASC',
                "fields": ["summary"],
                "limit": 2,
            },
        )
    )

    assert done == [
        {**jira.issue("PROJ-10"), "fields": {"summary": "Issue 10"}},
        {**jira.issue("PROJ-20"), "fields": {"summary": "Issue 20"}},
    ]
    (search,) = jira.received("POST", "/search/jql")
    assert search.body["maxResults"] == 2 and search.body["fields"] == ["summary"]


def test_an_unbounded_search_is_explained(jira: FakeJira) -> None:
    error = failure(issue(jira, {"operation": "get_many", "jql": "ORDER BY created DESC"}))

    assert error["message"] == (
        "item 0: Jira refused searching issues (400): Unbounded JQL queries are not allowed here. "
        "Please add a search restriction to your query."
    )


def test_update_returns_the_edited_issue(jira: FakeJira) -> None:
    jira.add_issue("Old", labels=["a"])

    (updated,) = outputs(
        issue(jira, {"operation": "update", "issue_key": "PROJ-1", "summary": "New", "priority": "Low"})
    )

    request = jira.received("PUT")[0]
    assert request.query == {"returnIssue": "true"}
    assert request.body == {"fields": {"summary": "New", "priority": {"name": "Low"}}}
    assert updated["fields"]["summary"] == "New" and updated["fields"]["labels"] == ["a"]


def test_delete_with_and_without_subtasks(jira: FakeJira) -> None:
    parent = jira.add_issue("Parent")
    outputs(issue(jira, {"project_key": "PROJ", "issue_type": "Subtask", "summary": "Child", "parent_key": "PROJ-1"}))

    refused = failure(issue(jira, {"operation": "delete", "issue_key": parent["key"]}))
    (deleted,) = outputs(issue(jira, {"operation": "delete", "issue_key": parent["key"], "delete_subtasks": True}))

    assert refused["message"].startswith("item 0: Jira refused deleting issue PROJ-1 (400): The issue has subtasks.")
    assert deleted == {"key": "PROJ-1", "deleted": True}
    assert jira.issues == []
    assert [request.query for request in jira.received("DELETE")] == [
        {"deleteSubtasks": "false"},
        {"deleteSubtasks": "true"},
    ]


def test_get_transitions_lists_what_the_status_allows(jira: FakeJira) -> None:
    jira.add_issue("Work")

    transitions = outputs(issue(jira, {"operation": "get_transitions", "issue_key": "PROJ-1"}))

    assert [(t["id"], t["name"], t["to"]["name"]) for t in transitions] == [
        ("21", "Start work", "In Progress"),
        ("31", "Done", "Done"),
    ]


def test_transition_by_name_or_id_with_a_comment(jira: FakeJira) -> None:
    first = jira.add_issue("Work")
    jira.add_issue("More work")

    (started,) = outputs(
        issue(
            jira,
            {
                "operation": "transition",
                "issue_key": "PROJ-1",
                "transition": "start WORK",
                "transition_comment": "On it",
            },
        )
    )
    (done,) = outputs(issue(jira, {"operation": "transition", "issue_key": "PROJ-2", "transition": "31"}))

    assert started == {"key": "PROJ-1", "transition": {"id": "21", "name": "Start work"}, "status": "In Progress"}
    assert done["status"] == "Done" and jira.issue("PROJ-2")["fields"]["status"] == {"name": "Done"}
    (first_post, _) = jira.received("POST", "/transitions")
    assert first_post.body["transition"] == {"id": "21"}
    assert jira.comments[first["id"]][0]["body"]["content"][0]["content"][0]["text"] == "On it"


def test_an_unknown_transition_names_the_ones_available(jira: FakeJira) -> None:
    jira.add_issue("Work", status="Done")

    error = failure(issue(jira, {"operation": "transition", "issue_key": "PROJ-1", "transition": "Done"}))

    assert error["message"] == (
        "item 0: issue PROJ-1 has no transition 'Done' from its current status "
        "(available: Back to do (11), Start work (21))"
    )
    assert jira.received("POST") == []


def test_field_errors_carry_jiras_messages(jira: FakeJira) -> None:
    error = failure(
        issue(
            jira,
            {
                "project_key": "PROJ",
                "summary": "x",
                "labels": ["has space"],
                "custom_fields": {"customfield_99999": "?"},
            },
        )
    )

    assert error["message"] == (
        "item 0: Jira refused creating an issue in PROJ (400): "
        "customfield_99999: Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown.; "
        "labels: The label 'has space' contains spaces which is invalid."
    )
    assert "create and edit screens" in error["description"]
    assert jira.issues == []


def test_wrong_credentials_say_so_without_showing_the_token(jira: FakeJira) -> None:
    error = failure(issue(jira, {"operation": "get", "issue_key": "PROJ-1"}, token="ATATTwrongWRONG"))

    assert error["message"] == (
        "item 0: Jira did not accept the credential's email and API token while getting issue PROJ-1 "
        "(401: Client must be authenticated to access this resource.)"
    )
    assert "id.atlassian.com" in error["description"]
    assert "ATATTwrongWRONG" not in json.dumps(error)


def test_a_missing_issue_names_the_failing_item(jira: FakeJira) -> None:
    jira.add_issue("Only")

    error = failure(
        issue(jira, {"operation": "get", "issue_key": "{{ $json.key }}"}, [{"key": "PROJ-1"}, {"key": "X-9"}])
    )

    assert error["message"] == (
        "item 1: Jira refused getting issue X-9 (404): Issue does not exist or you do not have permission to see it."
    )
    assert error["item_index"] == 1
    assert "Check the issue key" in error["description"]


def test_the_rate_limit_is_explained(jira: FakeJira) -> None:
    jira.rate_limited = 1

    error = failure(issue(jira, {"project_key": "PROJ", "summary": "x"}))

    assert error["message"] == "item 0: Jira's rate limit stopped creating an issue in PROJ (429: Rate limit exceeded.)"
    assert error["description"].startswith("Wait 5 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(jira: FakeJira) -> None:
    (entry,) = outputs(issue(jira, {"operation": "get", "issue_key": "PROJ-5"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Jira refused getting issue PROJ-5 (404)")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_jira(jira: FakeJira) -> None:
    no_key = failure(issue(jira, {"operation": "get"}))
    no_summary = failure(issue(jira, {"project_key": "PROJ"}))
    nothing = failure(issue(jira, {"operation": "update", "issue_key": "PROJ-1"}))
    no_jql = failure(issue(jira, {"operation": "get_many"}))
    bad_json = failure(issue(jira, {"project_key": "PROJ", "summary": "x", "custom_fields": "{nope"}))

    assert "get needs the issue key" in no_key["message"]
    assert "create needs a summary" in no_summary["message"]
    assert "update needs at least one field to change" in nothing["message"]
    assert "get_many needs a JQL search" in no_jql["message"]
    assert "the custom fields are not valid JSON" in bad_json["message"]
    assert jira.received() == []


def test_the_credential_test_names_the_account_and_refuses_a_wrong_token(jira: FakeJira) -> None:
    assert JiraCloudApiCredential.test_connection(jira.credential()) == f"Connected as {ME['displayName']}"

    with pytest.raises(NodeError) as refused:
        JiraCloudApiCredential.test_connection(jira.credential("revoked"))

    assert "did not accept the credential's email and API token while checking" in refused.value.message
    assert jira.received("GET", "/myself")[0].path == "/rest/api/3/myself"
