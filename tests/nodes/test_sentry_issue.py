"""Sentry Issue (sentry.issue) and the sentry_api credential, through the engine against a fake Sentry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.sentry.credentials import SentryApiCredential
from tests.fakes.sentry_server import TOKEN, FakeSentry, fake_sentry_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with fake_sentry_server() as server:
        yield server


def issue(
    sentry: FakeSentry,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    organization: str = "acme",
    **settings: Any,
) -> RunResult:
    host = host_for(sentry.credential(token, organization))
    return run_node("sentry.issue", parameters, items, credential_type="sentry_api", host=host, **settings)


def seed(sentry: FakeSentry, count: int) -> None:
    for n in range(1, count + 1):
        sentry.add_issue(
            f"ValueError {n}",
            status="resolved" if n % 4 == 0 else "unresolved",
            level="warning" if n % 3 == 0 else "error",
        )
    sentry.add_issue("Elsewhere", project="web")


def test_get_many_return_all_follows_next_links_while_they_have_results(sentry: FakeSentry) -> None:
    seed(sentry, 230)

    listed = outputs(issue(sentry, {"project": "backend", "query": "", "return_all": True}))

    assert len(listed) == 230
    assert [entry["title"] for entry in listed[:2]] == ["ValueError 230", "ValueError 229"]
    assert listed[0]["stats"] == {"24h": [[1767225600, 1]]}
    pages = sentry.received("GET", "/api/0/projects/acme/backend/issues/")
    assert [request.query.get("cursor") for request in pages] == [None, "0:100:0", "0:200:0"]
    assert all(request.headers["authorization"] == f"Bearer {TOKEN}" for request in pages)


def test_get_many_searches_and_stops_at_the_limit(sentry: FakeSentry) -> None:
    seed(sentry, 30)

    found = outputs(
        issue(
            sentry,
            {
                "project": "{{ $json.project }}",
                "query": "is:unresolved level:warning",
                "limit": 3,
                "stats_period": "none",
            },
            [{"project": "backend"}],
        )
    )

    assert [entry["title"] for entry in found] == ["ValueError 30", "ValueError 27", "ValueError 21"]
    assert "stats" not in found[0]
    (request,) = sentry.received("GET", "/api/0/projects/acme/backend/issues/")
    assert request.query == {"query": "is:unresolved level:warning", "statsPeriod": "", "per_page": "3"}


def test_an_empty_last_page_is_not_fetched_when_results_is_false(sentry: FakeSentry) -> None:
    seed(sentry, 100)

    listed = outputs(issue(sentry, {"project": "backend", "query": "", "return_all": True}))

    assert len(listed) == 100
    assert len(sentry.received("GET", "/api/0/projects/acme/backend/issues/")) == 1


def test_get_reads_one_issue(sentry: FakeSentry) -> None:
    sentry.add_issue("KeyError: 'user'")
    second = sentry.add_issue("TimeoutError", level="fatal")

    (found,) = outputs(issue(sentry, {"operation": "get", "issue_id": "{{ $json.id }}"}, [second]))

    assert (found["id"], found["title"], found["level"]) == (second["id"], "TimeoutError", "fatal")
    assert sentry.received("GET")[0].path == f"/api/0/organizations/acme/issues/{second['id']}/"


def test_update_resolves_ignores_assigns_and_bookmarks(sentry: FakeSentry) -> None:
    target = sentry.add_issue("Flaky")

    (assigned,) = outputs(
        issue(
            sentry,
            {"operation": "update", "issue_id": target["id"], "assigned_to": "ada@acme.test", "bookmarked": "yes"},
        )
    )
    (ignored,) = outputs(
        issue(sentry, {"operation": "update", "issue_id": target["id"], "status": "ignored", "ignore_minutes": 60})
    )
    (resolved,) = outputs(
        issue(
            sentry,
            {"operation": "update", "issue_id": target["id"], "status": "resolvedInNextRelease", "unassign": True},
        )
    )

    assert assigned["assignedTo"] == {"type": "user", "id": "1234", "name": "Ada Lovelace", "email": "ada@acme.test"}
    assert assigned["isBookmarked"] is True
    assert (ignored["status"], ignored["statusDetails"]) == ("ignored", {"ignoreDuration": 60})
    assert (resolved["status"], resolved["statusDetails"], resolved["assignedTo"]) == (
        "resolved",
        {"inNextRelease": True},
        None,
    )
    assert [request.body for request in sentry.received("PUT")] == [
        {"assignedTo": "ada@acme.test", "isBookmarked": True},
        {"status": "ignored", "statusDetails": {"ignoreDuration": 60}},
        {"status": "resolvedInNextRelease", "assignedTo": ""},
    ]


def test_delete_removes_the_issue(sentry: FakeSentry) -> None:
    target = sentry.add_issue("Noise")

    (deleted,) = outputs(issue(sentry, {"operation": "delete", "issue_id": target["id"]}))

    assert deleted == {"id": target["id"], "deleted": True}
    assert sentry.issues == []


def test_an_unknown_assignee_carries_sentrys_field_error(sentry: FakeSentry) -> None:
    target = sentry.add_issue("Flaky")

    error = failure(issue(sentry, {"operation": "update", "issue_id": target["id"], "assigned_to": "team:999"}))

    assert error["message"] == (
        f"item 0: Sentry refused updating issue {target['id']} (400): assignedTo: Unknown actor input"
    )
    assert error["description"] == "Change what Sentry named above, then retry."


def test_a_wrong_token_says_so_without_showing_it(sentry: FakeSentry) -> None:
    error = failure(issue(sentry, {"project": "backend"}, token="sntrys_wrong000"))

    assert error["message"] == (
        "item 0: Sentry did not accept the credential's token while listing the issues of project backend (401): "
        "Invalid token"
    )
    assert "Personal Tokens" in error["description"]
    assert "sntrys_wrong000" not in json.dumps(error)


def test_a_missing_issue_or_project_says_what_to_check(sentry: FakeSentry) -> None:
    known = sentry.add_issue("Known")

    missing = failure(
        issue(sentry, {"operation": "get", "issue_id": "{{ $json.id }}"}, [{"id": known["id"]}, {"id": "999"}])
    )
    no_project = failure(issue(sentry, {"project": "mobile"}))

    assert missing["message"] == (
        "item 1: Sentry refused getting issue 999 (404): The requested resource does not exist"
    )
    assert missing["item_index"] == 1
    assert no_project["message"].startswith("item 0: Sentry refused listing the issues of project mobile (404)")
    assert "Check the organization slug" in no_project["description"]


def test_the_rate_limit_says_when_to_retry(sentry: FakeSentry) -> None:
    sentry.rate_limited = 1

    error = failure(issue(sentry, {"project": "backend"}))

    assert error["message"].startswith(
        "item 0: Sentry's rate limit stopped listing the issues of project backend (429)"
    )
    assert error["description"].startswith("Wait 3 seconds and retry the node")


def test_a_next_page_on_another_host_is_refused(sentry: FakeSentry) -> None:
    seed(sentry, 120)
    sentry.link_base = "http://attacker.invalid"

    error = failure(issue(sentry, {"project": "backend", "query": "", "return_all": True}))

    assert "Sentry's next page is outside the Sentry URL (http://attacker.invalid/" in error["message"]
    assert len(sentry.received("GET")) == 1


def test_continue_on_fail_turns_the_error_into_an_item(sentry: FakeSentry) -> None:
    (entry,) = outputs(issue(sentry, {"operation": "delete", "issue_id": "31337"}, on_error="continue"))

    assert entry["error"] == "item 0: Sentry refused deleting issue 31337 (404): The requested resource does not exist"


def test_parameters_are_checked_before_calling_sentry(sentry: FakeSentry) -> None:
    no_project = failure(issue(sentry, {"project": " "}))
    nothing = failure(issue(sentry, {"operation": "update", "issue_id": "1"}))
    both = failure(issue(sentry, {"operation": "update", "issue_id": "1", "assigned_to": "ada", "unassign": True}))

    assert "get_many needs the project's slug" in no_project["message"]
    assert "update needs a status, an assignee, unassign or a bookmark" in nothing["message"]
    assert "give an assignee or unassign, not both" in both["message"]
    assert sentry.received() == []


def test_the_credential_test_reads_the_organization(sentry: FakeSentry) -> None:
    assert SentryApiCredential.test_connection(sentry.credential()) == "Connected to Acme Inc."

    with pytest.raises(NodeError) as unknown:
        SentryApiCredential.test_connection(sentry.credential(organization="globex"))
    with pytest.raises(NodeError) as refused:
        SentryApiCredential.test_connection(sentry.credential("sntrys_revoked"))

    assert (
        unknown.value.message == "Sentry refused reading the organization (404): The requested resource does not exist"
    )
    assert "did not accept the credential's token" in refused.value.message
    assert sentry.received("GET", "/api/0/organizations/acme/")[0].headers["authorization"] == f"Bearer {TOKEN}"
