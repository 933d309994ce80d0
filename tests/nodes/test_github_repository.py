"""GitHub Repository (github.repository) through the engine against the fake GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.nodes.github_fixtures import GitHub, github_session
from tests.nodes.integrations import failure, outputs


@pytest.fixture
def github() -> Iterator[GitHub]:
    with github_session() as session:
        yield session


def repository(github: GitHub, parameters: dict[str, Any], items: list[Any] | None = None, **options: Any) -> RunResult:
    return github.run("github.repository", parameters, items, **options)


def test_get_reads_the_repository_named_by_expressions(github: GitHub) -> None:
    (found,) = outputs(
        repository(github, {"owner": "{{ $json.o }}", "repository": "{{ $json.r }}"}, [{"o": "octo", "r": "app"}])
    )

    assert found["full_name"] == "octo/app" and found["default_branch"] == "main"


def test_list_of_the_user_follows_every_page_or_stops_at_the_limit(github: GitHub) -> None:
    for n in range(149):
        github.server.add_repo("octo-bot", f"repo-{n:03d}")

    every = outputs(repository(github, {"operation": "list", "return_all": True}))
    pages = len(github.server.received("GET", "/user/repos"))
    some = outputs(repository(github, {"operation": "list", "limit": 3}))

    assert len(every) == 150 and pages == 2
    assert len({entry["full_name"] for entry in every}) == 150
    assert [entry["name"] for entry in some] == ["app", "repo-000", "repo-001"]
    assert github.server.received("GET", "/user/repos")[-1].query == {"per_page": "3"}


def test_list_of_an_organisation(github: GitHub) -> None:
    github.server.add_repo("acme", "site", organization=True)
    github.server.add_repo("acme", "api", organization=True)

    listed = outputs(repository(github, {"operation": "list", "list_of": "organization", "organization": "acme"}))

    assert [entry["full_name"] for entry in listed] == ["acme/site", "acme/api"]


def test_an_unknown_organisation_says_what_to_check(github: GitHub) -> None:
    error = failure(repository(github, {"operation": "list", "list_of": "organization", "organization": "nobody"}))

    assert error["message"] == "item 0: GitHub refused listing the repositories of nobody (404): Not Found"
    assert "Check the owner" in error["description"]


def test_list_branches_and_tags(github: GitHub) -> None:
    github.repo.files["dev"] = {}
    github.repo.tags.extend(f"v1.{n}" for n in range(120))

    branches = outputs(repository(github, {"operation": "list_branches"}))
    tags = outputs(repository(github, {"operation": "list_tags", "return_all": True}))
    first_tags = outputs(repository(github, {"operation": "list_tags", "limit": 2}))

    assert [entry["name"] for entry in branches] == ["main", "dev"]
    assert len(tags) == 120 and tags[-1]["name"] == "v1.119"
    assert [entry["name"] for entry in first_tags] == ["v1.0", "v1.1"]


def test_a_wrong_token_and_continue_on_fail(github: GitHub) -> None:
    error = failure(repository(github, {}, token="ghp_nope"))
    (entry,) = outputs(repository(github, {}, token="ghp_nope", on_error="continue"))

    assert error["message"] == (
        "item 0: GitHub did not accept the credential's token while getting repository octo/app (401: Bad credentials)"
    )
    assert entry["error"] == error["message"]


def test_list_of_an_organisation_needs_its_login(github: GitHub) -> None:
    error = failure(repository(github, {"operation": "list", "list_of": "organization"}))

    assert "list needs the organisation's login" in error["message"]
    assert github.server.received() == []


def test_a_next_page_on_another_host_is_not_followed_with_the_token(github: GitHub) -> None:
    github.repo.tags.extend(f"v{n}" for n in range(150))
    github.server.link_base = "http://attacker.invalid"

    error = failure(repository(github, {"operation": "list_tags", "return_all": True}))

    assert error["message"] == (
        "item 0: listing the tags of octo/app: GitHub's next page is outside the API URL "
        "(http://attacker.invalid/repos/octo/app/tags?per_page=100&page=2)"
    )
    assert len(github.server.received("GET", "/tags")) == 1
