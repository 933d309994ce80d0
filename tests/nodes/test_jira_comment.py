"""Jira Comment (jira.comment), through the engine against the fake Jira."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.jira_server import API_TOKEN, ME, FakeJira, document, fake_jira_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with fake_jira_server() as server:
        yield server


@pytest.fixture
def target(jira: FakeJira) -> dict[str, Any]:
    return jira.add_issue("Discuss me")


def comment(
    jira: FakeJira,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = API_TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "jira.comment",
        {"issue_key": "PROJ-1", **parameters},
        items,
        credential_type="jira_cloud_api",
        host=host_for(jira.credential(token)),
        **settings,
    )


def test_add_posts_an_atlassian_document_per_item(jira: FakeJira, target: dict[str, Any]) -> None:
    added = outputs(comment(jira, {"body": "Shipped in {{ $json.v }}"}, [{"v": "1.2"}, {"v": "1.3"}]))

    assert [entry["body"] for entry in added] == [document("Shipped in 1.2"), document("Shipped in 1.3")]
    assert added[0]["author"]["accountId"] == ME["accountId"]
    assert [entry["id"] for entry in jira.comments[target["id"]]] == [entry["id"] for entry in added]
    assert jira.received("POST")[0].path == "/rest/api/3/issue/PROJ-1/comment"


def test_get_update_and_delete_one_comment(jira: FakeJira, target: dict[str, Any]) -> None:
    existing = jira.add_comment(target, "Frist")

    (found,) = outputs(comment(jira, {"operation": "get", "comment_id": "{{ $json.id }}"}, [existing]))
    (updated,) = outputs(comment(jira, {"operation": "update", "comment_id": existing["id"], "body": "First"}))
    (deleted,) = outputs(comment(jira, {"operation": "delete", "comment_id": existing["id"]}))

    assert found["body"] == document("Frist")
    assert updated["body"] == document("First")
    assert jira.received("PUT")[0].body == {"body": document("First")}
    assert deleted == {"issue_key": "PROJ-1", "id": existing["id"], "deleted": True}
    assert jira.comments[target["id"]] == []


def test_get_many_pages_by_start_at_until_the_total(jira: FakeJira, target: dict[str, Any]) -> None:
    for n in range(1, 206):
        jira.add_comment(target, f"Comment {n}")

    everything = outputs(comment(jira, {"operation": "get_many", "return_all": True}))

    assert len(everything) == 205
    assert everything[0]["body"] == document("Comment 1")
    pages = jira.received("GET", "/comment")
    assert [(r.query["startAt"], r.query["maxResults"], r.query["orderBy"]) for r in pages] == [
        ("0", "100", "created"),
        ("100", "100", "created"),
        ("200", "100", "created"),
    ]


def test_get_many_newest_first_with_a_limit(jira: FakeJira, target: dict[str, Any]) -> None:
    for n in range(1, 6):
        jira.add_comment(target, f"Comment {n}")

    newest = outputs(comment(jira, {"operation": "get_many", "order_by": "-created", "limit": 2}))

    assert [entry["body"] for entry in newest] == [document("Comment 5"), document("Comment 4")]
    (request,) = jira.received("GET", "/comment")
    assert request.query == {"orderBy": "-created", "startAt": "0", "maxResults": "2"}


def test_a_missing_comment_or_issue_says_what_to_check(jira: FakeJira, target: dict[str, Any]) -> None:
    no_comment = failure(comment(jira, {"operation": "get", "comment_id": "99"}))
    no_issue = failure(comment(jira, {"issue_key": "NOPE-1", "body": "hi"}))

    assert no_comment["message"] == (
        "item 0: Jira refused getting comment 99 of issue PROJ-1 (404): Can not find a comment for the id: 99."
    )
    assert no_issue["message"].startswith("item 0: Jira refused commenting on issue NOPE-1 (404)")
    assert "Check the issue key (PROJ-123) and the comment id" in no_comment["description"]


def test_a_wrong_token_and_continue_on_fail(jira: FakeJira, target: dict[str, Any]) -> None:
    (entry,) = outputs(comment(jira, {"body": "hi"}, token="nope", on_error="continue"))

    assert entry["error"].startswith(
        "item 0: Jira did not accept the credential's email and API token while commenting on issue PROJ-1 (401"
    )
    assert jira.comments.get(target["id"]) is None


def test_parameters_are_checked_before_calling_jira(jira: FakeJira, target: dict[str, Any]) -> None:
    no_body = failure(comment(jira, {"body": "  "}))
    no_id = failure(comment(jira, {"operation": "delete"}))

    assert "add needs the comment's text" in no_body["message"]
    assert "delete needs the comment id" in no_id["message"]
    assert jira.received() == []
