"""GitLab Merge Request (gitlab.merge_request), through the engine against the fake GitLab."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.gitlab_server import TOKEN, FakeGitLab, Project, fake_gitlab_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

PROJECT = "acme/tools/app"


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with fake_gitlab_server() as server:
        yield server


@pytest.fixture
def project(gitlab: FakeGitLab) -> Project:
    return gitlab.add_project(PROJECT, branches={"main", "develop", "feature/a", "feature/b"})


def merge_request(
    gitlab: FakeGitLab,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "gitlab.merge_request",
        {"project": PROJECT, **parameters},
        items,
        credential_type="gitlab_api",
        host=host_for(gitlab.credential(token)),
        **settings,
    )


def test_create_opens_a_merge_request_per_item(gitlab: FakeGitLab, project: Project) -> None:
    parameters = {
        "source_branch": "{{ $json.branch }}",
        "target_branch": "main",
        "title": "Merge {{ $json.branch }}",
        "description": "Closes #3",
        "labels": ["review"],
        "assignee_ids": [7],
        "remove_source_branch": True,
        "squash": True,
    }

    created = outputs(merge_request(gitlab, parameters, [{"branch": "feature/a"}, {"branch": "feature/b"}]))

    assert [(entry["iid"], entry["source_branch"]) for entry in created] == [(1, "feature/a"), (2, "feature/b")]
    assert created[0]["force_remove_source_branch"] is True and created[0]["squash"] is True
    (first, _) = gitlab.received("POST", "/merge_requests")
    assert first.path == "/api/v4/projects/acme%2Ftools%2Fapp/merge_requests"
    assert first.headers["private-token"] == TOKEN
    assert first.body == {
        "source_branch": "feature/a",
        "title": "Merge feature/a",
        "description": "Closes #3",
        "target_branch": "main",
        "labels": "review",
        "assignee_ids": [7],
        "remove_source_branch": True,
        "squash": True,
    }


def test_get_and_get_many_with_a_target_branch_filter(gitlab: FakeGitLab, project: Project) -> None:
    for n in range(1, 8):
        gitlab.add_merge_request(project, f"feature/{n}", f"MR {n}", target_branch="develop" if n % 2 else "main")

    (found,) = outputs(merge_request(gitlab, {"operation": "get", "merge_request_iid": 3}))
    into_develop = outputs(
        merge_request(gitlab, {"operation": "get_many", "target_branch": "develop", "return_all": True, "sort": "asc"})
    )
    first_two = outputs(merge_request(gitlab, {"operation": "get_many", "limit": 2}))

    assert found["title"] == "MR 3"
    assert [entry["iid"] for entry in into_develop] == [1, 3, 5, 7]
    assert [entry["iid"] for entry in first_two] == [7, 6]
    requests = gitlab.received("GET", "/merge_requests")
    assert requests[1].query == {
        "state": "opened",
        "order_by": "created_at",
        "sort": "asc",
        "target_branch": "develop",
        "per_page": "100",
    }
    assert requests[2].query["per_page"] == "2"


def test_update_retargets_and_closes(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_merge_request(project, "feature/a", "Old title")

    (updated,) = outputs(
        merge_request(
            gitlab,
            {"operation": "update", "merge_request_iid": 1, "target_branch": "develop", "state_event": "close"},
        )
    )

    assert gitlab.received("PUT")[0].body == {"target_branch": "develop", "state_event": "close"}
    assert (updated["target_branch"], updated["state"], updated["title"]) == ("develop", "closed", "Old title")


def test_merge_squashes_and_removes_the_source_branch(gitlab: FakeGitLab, project: Project) -> None:
    opened = gitlab.add_merge_request(project, "feature/a", "Ready")

    (merged,) = outputs(
        merge_request(
            gitlab,
            {
                "operation": "merge",
                "merge_request_iid": 1,
                "squash": True,
                "remove_source_branch": True,
                "merge_commit_message": "Ship it",
                "sha": "{{ $json.sha }}",
            },
            [{"sha": opened["sha"]}],
        )
    )

    assert merged["state"] == "merged" and merged["merge_commit_sha"]
    request = gitlab.received("PUT", "/merge")[0]
    assert request.path == "/api/v4/projects/acme%2Ftools%2Fapp/merge_requests/1/merge"
    assert request.body == {
        "squash": True,
        "should_remove_source_branch": True,
        "merge_commit_message": "Ship it",
        "sha": opened["sha"],
    }
    assert "feature/a" not in project.branches


def test_merge_refusals_say_what_to_do(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_merge_request(project, "feature/a", "Draft: not yet")
    gitlab.add_merge_request(project, "feature/b", "Conflicted", has_conflicts=True)
    gitlab.add_merge_request(project, "develop", "Moved on", sha="a" * 40)

    draft = failure(merge_request(gitlab, {"operation": "merge", "merge_request_iid": 1}))
    conflicted = failure(merge_request(gitlab, {"operation": "merge", "merge_request_iid": 2}))
    stale = failure(merge_request(gitlab, {"operation": "merge", "merge_request_iid": 3, "sha": "b" * 40}))

    assert draft["message"] == (
        "item 0: GitLab refused merging merge request !1 of acme/tools/app (405): 405 Method Not Allowed"
    )
    assert "already merged or closed, a draft" in draft["description"]
    assert conflicted["message"].endswith("(406): Branch cannot be merged")
    assert "resolve the conflicts" in conflicted["description"]
    assert stale["message"].endswith(f"(409): SHA does not match HEAD of source branch: {'a' * 40}")
    assert "use its current sha" in stale["description"]
    assert [entry["state"] for entry in project.merge_requests] == ["opened", "opened", "opened"]
    assert [request.body for request in gitlab.received("PUT", "/merge")] == [{}, {}, {"sha": "b" * 40}]


def test_create_note_comments_on_the_merge_request(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_merge_request(project, "feature/a", "Review me")

    (note,) = outputs(merge_request(gitlab, {"operation": "create_note", "merge_request_iid": 1, "note": "LGTM"}))

    assert note["body"] == "LGTM" and note["noteable_type"] == "MergeRequest"
    assert project.merge_requests[0]["user_notes_count"] == 1


def test_a_422_lists_gitlabs_branch_problems(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_merge_request(project, "feature/a", "Existing")

    error = failure(merge_request(gitlab, {"source_branch": "feature/a", "target_branch": "main", "title": "Again"}))
    missing = failure(merge_request(gitlab, {"source_branch": "feature/zzz", "target_branch": "main", "title": "Nope"}))

    assert error["message"] == (
        "item 0: GitLab refused creating a merge request from feature/a in acme/tools/app (422): "
        "Another open merge request already exists for this source branch: !1"
    )
    assert missing["message"].endswith('(422): Source branch "feature/zzz" does not exist')
    assert missing["description"] == "Change what GitLab named above, then retry."
    assert len(project.merge_requests) == 1


def test_a_wrong_token_and_a_missing_merge_request(gitlab: FakeGitLab, project: Project) -> None:
    refused = failure(merge_request(gitlab, {"operation": "get", "merge_request_iid": 1}, token="glpat-nope"))
    missing = failure(merge_request(gitlab, {"operation": "get", "merge_request_iid": 9}))

    assert refused["message"].startswith("item 0: GitLab did not accept the credential's token while getting")
    assert "glpat-nope" not in refused["message"]
    assert missing["message"] == (
        "item 0: GitLab refused getting merge request !9 of acme/tools/app (404): 404 Merge Request Not Found"
    )


def test_continue_on_fail_turns_the_error_into_an_item(gitlab: FakeGitLab, project: Project) -> None:
    gitlab.add_merge_request(project, "feature/a", "Exists")

    (entry,) = outputs(
        merge_request(
            gitlab,
            {"operation": "get", "merge_request_iid": "{{ $json.iid }}"},
            [{"iid": 1}, {"iid": 4}],
            on_error="continue",
        )
    )

    assert entry["error"].startswith("item 1: GitLab refused getting merge request !4 of acme/tools/app (404)")
    assert entry["error_details"]["item_index"] == 1


def test_parameters_are_checked_before_calling_gitlab(gitlab: FakeGitLab, project: Project) -> None:
    same = failure(merge_request(gitlab, {"source_branch": "main", "target_branch": "main", "title": "x"}))
    no_target = failure(merge_request(gitlab, {"source_branch": "feature/a", "title": "x"}))
    no_iid = failure(merge_request(gitlab, {"operation": "merge"}))

    assert "create needs a source branch other than the target branch" in same["message"]
    assert "create needs the source and the target branch" in no_target["message"]
    assert "merge needs the merge request IID" in no_iid["message"]
    assert gitlab.received() == []
