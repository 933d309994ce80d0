"""GitHub Issue (github.issue) and the github_api credential, through the engine against the fake GitHub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.github.credentials import GithubApiCredential
from nodes.sdk import NodeError
from tests.fakes.github_server import LOGIN, TOKEN
from tests.nodes.github_fixtures import GitHub, github_session
from tests.nodes.integrations import failure, outputs


@pytest.fixture
def github() -> Iterator[GitHub]:
    with github_session() as session:
        yield session


def issue(github: GitHub, parameters: dict[str, Any], items: list[Any] | None = None, **options: Any) -> RunResult:
    return github.run("github.issue", parameters, items, **options)


def test_create_makes_an_issue_per_item_with_github_headers(github: GitHub) -> None:
    parameters = {
        "title": "Order {{ $json.id }} failed",
        "body": "See the logs of {{ $json.id }}.",
        "labels": "bug, {{ $json.area }}",
        "assignees": ["alice"],
    }

    created = outputs(issue(github, parameters, [{"id": 7, "area": "billing"}, {"id": 8, "area": "ui"}]))

    assert [entry["number"] for entry in created] == [1, 2]
    assert [entry["title"] for entry in created] == ["Order 7 failed", "Order 8 failed"]
    stored = github.repo.issues
    assert [label["name"] for label in stored[1]["labels"]] == ["bug", "ui"]
    assert stored[0]["assignees"] == [{"login": "alice"}] and stored[0]["body"] == "See the logs of 7."
    (first, _) = github.server.received("POST", "/issues")
    assert first.path == "/repos/octo/app/issues"
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["accept"] == "application/vnd.github+json"
    assert first.headers["x-github-api-version"] == "2022-11-28"


def test_get_reads_the_issue_numbered_by_an_expression(github: GitHub) -> None:
    github.server.add_issue(github.repo, "First")
    github.server.add_issue(github.repo, "Second", body="details")

    (found,) = outputs(issue(github, {"operation": "get", "issue_number": "{{ $json.n }}"}, [{"n": 2}]))

    assert (found["number"], found["title"], found["body"]) == (2, "Second", "details")


def seed(github: GitHub, count: int) -> None:
    for n in range(1, count + 1):
        labels = ["bug"] if n % 3 == 0 else ["docs"]
        state = "closed" if n % 10 == 0 else "open"
        github.server.add_issue(github.repo, f"Issue {n}", labels=labels, state=state, comments=n % 7)


def test_list_return_all_follows_the_link_header_across_pages(github: GitHub) -> None:
    seed(github, 250)

    listed = outputs(issue(github, {"operation": "list", "state": "all", "return_all": True}))

    assert len(listed) == 250
    assert [entry["number"] for entry in listed[:3]] == [250, 249, 248]
    pages = github.server.received("GET", "/issues")
    assert [request.query.get("page") for request in pages] == [None, "2", "3"]
    assert all(request.headers["authorization"] == f"Bearer {TOKEN}" for request in pages)


def test_list_stops_at_the_limit_and_filters_sorts_and_orders(github: GitHub) -> None:
    seed(github, 250)

    limited = outputs(issue(github, {"operation": "list", "limit": 5}))
    closed_bugs = outputs(
        issue(
            github,
            {
                "operation": "list",
                "state": "closed",
                "label_filter": "bug",
                "sort": "created",
                "direction": "asc",
                "return_all": True,
            },
        )
    )

    assert [entry["number"] for entry in limited] == [249, 248, 247, 246, 245]
    (first_request, *_) = github.server.received("GET", "/issues")
    assert first_request.query["per_page"] == "5"
    assert [entry["number"] for entry in closed_bugs] == [30, 60, 90, 120, 150, 180, 210, 240]
    assert github.server.received("GET", "/issues")[-1].query == {
        "state": "closed",
        "sort": "created",
        "direction": "asc",
        "labels": "bug",
        "per_page": "100",
    }


def test_a_limit_over_one_page_follows_the_link_and_stops(github: GitHub) -> None:
    seed(github, 250)

    listed = outputs(issue(github, {"operation": "list", "state": "all", "limit": 130}))

    assert len(listed) == 130
    assert len(github.server.received("GET", "/issues")) == 2


def test_update_sends_only_the_fields_given(github: GitHub) -> None:
    github.server.add_issue(github.repo, "Keep me", body="old body", labels=["bug"])

    (closed,) = outputs(issue(github, {"operation": "update", "issue_number": 1, "new_state": "closed"}))
    (retitled,) = outputs(
        issue(
            github,
            {
                "operation": "update",
                "issue_number": 1,
                "title": "New title",
                "labels": ["ui", "p1"],
                "assignees": "alice",
            },
        )
    )

    (first, second) = github.server.received("PATCH")
    assert first.body == {"state": "closed"}
    assert closed["state"] == "closed" and closed["title"] == "Keep me" and closed["body"] == "old body"
    assert second.body == {"title": "New title", "labels": ["ui", "p1"], "assignees": ["alice"]}
    assert [label["name"] for label in retitled["labels"]] == ["ui", "p1"]
    assert retitled["state"] == "closed"


def test_create_comment_posts_on_the_issue(github: GitHub) -> None:
    github.server.add_issue(github.repo, "Question")

    (comment,) = outputs(
        issue(
            github,
            {"operation": "create_comment", "issue_number": 1, "comment": "Fixed in {{ $json.v }}"},
            [{"v": "1.2"}],
        )
    )

    assert comment["body"] == "Fixed in 1.2" and comment["user"]["login"] == LOGIN
    assert github.repo.comments[0]["issue_number"] == 1
    assert github.repo.issues[0]["comments"] == 1


def test_lock_with_a_reason_then_unlock(github: GitHub) -> None:
    github.server.add_issue(github.repo, "Flame war")

    (locked,) = outputs(issue(github, {"operation": "lock", "issue_number": 1, "lock_reason": "too heated"}))
    assert github.repo.issues[0]["locked"] is True
    assert github.repo.issues[0]["active_lock_reason"] == "too heated"
    (unlocked,) = outputs(issue(github, {"operation": "unlock", "issue_number": 1}))

    assert locked == {"number": 1, "repository": "octo/app", "locked": True, "lock_reason": "too heated"}
    assert unlocked == {"number": 1, "repository": "octo/app", "locked": False}
    assert github.repo.issues[0]["locked"] is False
    assert github.server.received("PUT", "/lock")[0].body == {"lock_reason": "too heated"}


def test_a_wrong_token_says_so_without_showing_it(github: GitHub) -> None:
    error = failure(issue(github, {"operation": "get", "issue_number": 1}, token="ghp_wrongWRONGwrong000"))

    assert error["message"] == (
        "item 0: GitHub did not accept the credential's token while getting issue #1 of octo/app (401: Bad credentials)"
    )
    assert "personal access token is wrong, expired or revoked" in error["description"]
    assert "ghp_wrongWRONGwrong000" not in json.dumps(error)


def test_a_missing_issue_says_what_to_check(github: GitHub) -> None:
    error = failure(issue(github, {"operation": "get", "issue_number": 42}))

    assert error["message"] == "item 0: GitHub refused getting issue #42 of octo/app (404): Not Found"
    assert "Check the owner, the repository's name and the number" in error["description"]
    assert error["item_index"] == 0


def test_a_validation_error_carries_githubs_message_and_errors(github: GitHub) -> None:
    error = failure(issue(github, {"title": "Hi {{ $json.n }}", "assignees": ["mallory"]}, [{"n": 1}, {"n": 2}]))

    assert error["message"] == (
        "item 0: GitHub refused creating an issue in octo/app (422): "
        "Validation Failed: Issue.assignees invalid ('mallory')"
    )
    assert error["description"] == "Change what GitHub named above, then retry."
    assert github.repo.issues == []


def test_the_item_index_names_the_failing_item(github: GitHub) -> None:
    github.server.add_issue(github.repo, "Only one")

    error = failure(issue(github, {"operation": "get", "issue_number": "{{ $json.n }}"}, [{"n": 1}, {"n": 9}]))

    assert error["message"].startswith("item 1: GitHub refused getting issue #9 of octo/app (404)")
    assert error["item_index"] == 1


def test_the_rate_limit_is_explained(github: GitHub) -> None:
    github.server.rate_limited = 1

    error = failure(issue(github, {"title": "x"}))

    assert error["message"] == (
        "item 0: GitHub's rate limit stopped creating an issue in octo/app "
        "(403: API rate limit exceeded for user ID 1.)"
    )
    assert "Wait until GitHub resets the limit (at 00:00 UTC)" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(github: GitHub) -> None:
    (entry,) = outputs(issue(github, {"operation": "get", "issue_number": 5}, on_error="continue"))

    assert entry["error"] == "item 0: GitHub refused getting issue #5 of octo/app (404): Not Found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_github(github: GitHub) -> None:
    no_number = failure(issue(github, {"operation": "get"}))
    no_title = failure(issue(github, {"operation": "create"}))
    no_comment = failure(issue(github, {"operation": "create_comment", "issue_number": 1}))

    assert "get needs the issue number" in no_number["message"]
    assert "create needs a title" in no_title["message"]
    assert "create_comment needs the comment's text" in no_comment["message"]
    assert github.server.received() == []


def test_the_credential_test_names_the_user_and_refuses_a_wrong_token(github: GitHub) -> None:
    assert GithubApiCredential.test_connection(github.credential()) == f"Connected as {LOGIN}"

    with pytest.raises(NodeError) as refused:
        GithubApiCredential.test_connection(github.credential("ghp_revoked000"))

    assert "did not accept the credential's token" in refused.value.message
    assert github.server.received("GET", "/user")[0].headers["authorization"] == f"Bearer {TOKEN}"
