"""GitLab Issue (gitlab.issue) and the gitlab_api credential, through the engine against the fake GitLab."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.gitlab.credentials import GitlabApiCredential
from nodes.sdk import NodeError
from tests.fakes.gitlab_server import TOKEN, USERNAME, FakeGitLab, Project, fake_gitlab_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

PROJECT = "acme/app"
ENCODED = "/api/v4/projects/acme%2Fapp/issues"


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with fake_gitlab_server() as server:
        yield server


@pytest.fixture
def project(gitlab: FakeGitLab) -> Project:
    return gitlab.add_project(PROJECT)


def issue(
    gitlab: FakeGitLab,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "gitlab.issue",
        {"project": PROJECT, **parameters},
        items,
        credential_type="gitlab_api",
        host=host_for(gitlab.credential(token)),
        **settings,
    )


def seed(gitlab: FakeGitLab, project: Project, count: int) -> None:
    for n in range(1, count + 1):
        gitlab.add_issue(project, f"Issue {n}", labels=["bug"] if n % 3 == 0 else ["docs"])


def test_create_makes_an_issue_per_item_with_the_private_token(gitlab: FakeGitLab, project: Project) -> None:
    parameters = {
        "title": "Order {{ $json.id }} failed",
        "description": "See the logs of {{ $json.id }}.",
        "labels": "bug, {{ $json.area }}",
        "assignee_ids": "7, 8",
        "due_date": "2026-03-31",
        "confidential": True,
    }

    created = outputs(issue(gitlab, parameters, [{"id": 7, "area": "billing"}, {"id": 8, "area": "ui"}]))

    assert [entry["iid"] for entry in created] == [1, 2]
    assert [entry["title"] for entry in created] == ["Order 7 failed", "Order 8 failed"]
    assert project.issues[1]["labels"] == ["bug", "ui"]
    assert [user["username"] for user in project.issues[0]["assignees"]] == ["alice", "bob"]
    (first, _) = gitlab.received("POST", "/issues")
    assert first.path == ENCODED
    assert first.headers["private-token"] == TOKEN
    assert first.body == {
        "title": "Order 7 failed",
        "description": "See the logs of 7.",
        "labels": "bug,billing",
        "assignee_ids": [7, 8],
        "due_date": "2026-03-31",
        "confidential": True,
    }


def test_get_reads_the_issue_by_iid_from_an_expression_and_a_numeric_project(
    gitlab: FakeGitLab, project: Project
) -> None:
    gitlab.add_issue(project, "First")
    gitlab.add_issue(project, "Second", description="details")

    (found,) = outputs(
        issue(gitlab, {"project": str(project.id), "operation": "get", "issue_iid": "{{ $json.iid }}"}, [{"iid": 2}])
    )

    assert (found["iid"], found["title"], found["description"]) == (2, "Second", "details")
    assert gitlab.received("GET")[0].path == f"/api/v4/projects/{project.id}/issues/2"


def test_get_many_return_all_follows_the_link_header(gitlab: FakeGitLab, project: Project) -> None:
    seed(gitlab, project, 230)

    listed = outputs(issue(gitlab, {"operation": "get_many", "return_all": True}))

    assert len(listed) == 230
    assert [entry["iid"] for entry in listed[:3]] == [230, 229, 228]
    pages = gitlab.received("GET", "/issues")
    assert [(request.query.get("page"), request.query["per_page"]) for request in pages] == [
        (None, "100"),
        ("2", "100"),
        ("3", "100"),
    ]


def test_get_many_falls_back_to_x_next_page_without_a_link(gitlab: FakeGitLab, project: Project) -> None:
    seed(gitlab, project, 150)
    gitlab.send_links = False

    listed = outputs(issue(gitlab, {"operation": "get_many", "return_all": True}))

    assert len(listed) == 150
    assert [request.query.get("page") for request in gitlab.received("GET", "/issues")] == [None, "2"]


def test_get_many_stops_at_the_limit_and_sends_the_filters(gitlab: FakeGitLab, project: Project) -> None:
    seed(gitlab, project, 130)
    gitlab.add_issue(project, "Crash on save", labels=["bug", "p1"], state="closed")

    limited = outputs(issue(gitlab, {"operation": "get_many", "limit": 120}))
    closed = outputs(
        issue(
            gitlab,
            {
                "operation": "get_many",
                "state": "closed",
                "label_filter": ["bug", "p1"],
                "search": "crash",
                "order_by": "updated_at",
                "sort": "asc",
            },
        )
    )

    assert len(limited) == 120 and limited[0]["iid"] == 130
    assert len(gitlab.received("GET", "/issues")) == 3
    assert [entry["title"] for entry in closed] == ["Crash on save"]
    assert gitlab.received("GET", "/issues")[-1].query == {
        "state": "closed",
        "order_by": "updated_at",
        "sort": "asc",
        "labels": "bug,p1",
        "search": "crash",
        "per_page": "50",
    }


def test_update_sends_only_the_fields_given_and_closes(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_issue(project, "Keep me", description="old", labels=["bug"])

    (closed,) = outputs(issue(gitlab, {"operation": "update", "issue_iid": 1, "state_event": "close"}))
    (relabelled,) = outputs(
        issue(gitlab, {"operation": "update", "issue_iid": 1, "title": "New title", "labels": ["ui", "p2"]})
    )

    (first, second) = gitlab.received("PUT")
    assert first.body == {"state_event": "close"}
    assert closed["state"] == "closed" and closed["description"] == "old"
    assert second.body == {"title": "New title", "labels": "ui,p2"}
    assert relabelled["labels"] == ["ui", "p2"] and relabelled["state"] == "closed"


def test_delete_removes_the_issue(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_issue(project, "Spam")

    (deleted,) = outputs(issue(gitlab, {"operation": "delete", "issue_iid": 1}))

    assert deleted == {"project": PROJECT, "iid": 1, "deleted": True}
    assert project.issues == []
    assert gitlab.received("DELETE")[0].path == f"{ENCODED}/1"


def test_create_note_comments_on_the_issue(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_issue(project, "Question")

    (note,) = outputs(
        issue(gitlab, {"operation": "create_note", "issue_iid": 1, "note": "Fixed in {{ $json.v }}"}, [{"v": "1.2"}])
    )

    assert note["body"] == "Fixed in 1.2" and note["noteable_iid"] == 1
    assert project.notes[0]["noteable_type"] == "Issue"
    assert project.issues[0]["user_notes_count"] == 1


def test_a_wrong_token_says_so_without_showing_it(gitlab: FakeGitLab, project: Project) -> None:
    error = failure(issue(gitlab, {"operation": "get", "issue_iid": 1}, token="glpat-wrongWRONG"))

    assert error["message"] == (
        "item 0: GitLab did not accept the credential's token while getting issue #1 of acme/app "
        "(401: 401 Unauthorized)"
    )
    assert "create a new access token with the api scope" in error["description"]
    assert "glpat-wrongWRONG" not in json.dumps(error)


def test_a_missing_project_or_issue_says_what_to_check(gitlab: FakeGitLab, project: Project) -> None:
    no_issue = failure(issue(gitlab, {"operation": "get", "issue_iid": 42}))
    no_project = failure(issue(gitlab, {"project": "acme/nope", "operation": "get", "issue_iid": 1}))

    assert no_issue["message"] == "item 0: GitLab refused getting issue #42 of acme/app (404): 404 Issue Not Found"
    assert no_project["message"].endswith("(404): 404 Project Not Found")
    assert "numeric id or full path" in no_issue["description"]


def test_a_validation_error_carries_gitlabs_field_messages(gitlab: FakeGitLab, project: Project) -> None:
    error = failure(issue(gitlab, {"title": "{{ $json.long }}"}, [{"long": "x" * 300}]))

    assert error["message"] == (
        "item 0: GitLab refused creating an issue in acme/app (400): title is too long (maximum is 255 characters)"
    )
    assert error["description"] == "Change what GitLab named above, then retry."
    assert project.issues == []


def test_a_refused_delete_names_the_failing_item(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_issue(project, "One")
    gitlab.add_issue(project, "Two")
    gitlab.may_delete = False

    error = failure(issue(gitlab, {"operation": "delete", "issue_iid": "{{ $json.n }}"}, [{"n": 2}]))

    assert error["message"] == "item 0: GitLab refused deleting issue #2 of acme/app (403): 403 Forbidden"
    assert "Planner or Owner to delete issues" in error["description"]
    assert len(project.issues) == 2


def test_the_item_index_names_the_failing_item(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_issue(project, "Only one")

    error = failure(issue(gitlab, {"operation": "get", "issue_iid": "{{ $json.n }}"}, [{"n": 1}, {"n": 9}]))

    assert error["message"].startswith("item 1: GitLab refused getting issue #9 of acme/app (404)")
    assert error["item_index"] == 1


def test_the_rate_limit_is_explained(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.rate_limited = 1

    error = failure(issue(gitlab, {"title": "x"}))

    assert error["message"] == "item 0: GitLab's rate limit stopped creating an issue in acme/app (429: Retry later)"
    assert "Wait until GitLab lifts the limit (in 60 seconds)" in error["description"]


def test_a_next_page_on_another_host_is_refused(gitlab: FakeGitLab, project: Project) -> None:
    seed(gitlab, project, 120)
    gitlab.link_base = "http://elsewhere.example"

    error = failure(issue(gitlab, {"operation": "get_many", "return_all": True}))

    assert "GitLab's next page is outside the server URL (http://elsewhere.example/" in error["message"]
    assert len(gitlab.received("GET", "/issues")) == 1


def test_continue_on_fail_turns_the_error_into_an_item(gitlab: FakeGitLab, project: Project) -> None:
    (entry,) = outputs(issue(gitlab, {"operation": "get", "issue_iid": 5}, on_error="continue"))

    assert entry["error"] == "item 0: GitLab refused getting issue #5 of acme/app (404): 404 Issue Not Found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_gitlab(gitlab: FakeGitLab, project: Project) -> None:
    no_iid = failure(issue(gitlab, {"operation": "get"}))
    no_title = failure(issue(gitlab, {"operation": "create"}))
    bad_date = failure(issue(gitlab, {"title": "x", "due_date": "31/12/2026"}))
    no_note = failure(issue(gitlab, {"operation": "create_note", "issue_iid": 1}))

    assert "get needs the issue IID" in no_iid["message"]
    assert "create needs a title" in no_title["message"]
    assert "the due date must look like 2026-12-31" in bad_date["message"]
    assert "create_note needs the comment's text" in no_note["message"]
    assert gitlab.received() == []


def test_the_credential_test_names_the_user_and_refuses_a_wrong_token(gitlab: FakeGitLab) -> None:
    assert GitlabApiCredential.test_connection(gitlab.credential()) == f"Connected as @{USERNAME}"

    with pytest.raises(NodeError) as refused:
        GitlabApiCredential.test_connection(gitlab.credential("glpat-revoked"))

    assert "did not accept the credential's token while checking the token" in refused.value.message
    assert gitlab.received("GET", "/user")[0].headers["private-token"] == TOKEN
