"""GitHub Release (github.release) through the engine against the fake GitHub."""

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


def release(github: GitHub, parameters: dict[str, Any], items: list[Any] | None = None, **options: Any) -> RunResult:
    return github.run("github.release", parameters, items, **options)


def test_create_a_release_per_item(github: GitHub) -> None:
    created = outputs(
        release(
            github,
            {"tag_name": "v{{ $json.v }}", "name": "Version {{ $json.v }}", "body": "Notes", "prerelease": True},
            [{"v": "1.0"}, {"v": "1.1"}],
        )
    )

    assert [(entry["tag_name"], entry["name"], entry["prerelease"]) for entry in created] == [
        ("v1.0", "Version 1.0", True),
        ("v1.1", "Version 1.1", True),
    ]
    assert github.repo.tags == ["v1.0", "v1.1"]
    assert github.server.received("POST")[0].body == {
        "tag_name": "v1.0",
        "body": "Notes",
        "draft": False,
        "prerelease": True,
        "name": "Version 1.0",
    }


def test_get_by_id_and_the_latest_published(github: GitHub) -> None:
    (stable,) = outputs(release(github, {"tag_name": "v1.0"}))
    outputs(release(github, {"tag_name": "v2.0-rc1", "prerelease": True}))
    outputs(release(github, {"tag_name": "v2.0", "draft": True}))

    (by_id,) = outputs(release(github, {"operation": "get", "release_id": "{{ $json.id }}"}, [{"id": stable["id"]}]))
    (latest,) = outputs(release(github, {"operation": "get", "get_by": "latest"}))

    assert by_id["tag_name"] == "v1.0"
    assert latest["id"] == stable["id"]


def test_latest_without_a_published_release_says_what_to_check(github: GitHub) -> None:
    outputs(release(github, {"tag_name": "v0.1", "draft": True}))

    error = failure(release(github, {"operation": "get", "get_by": "latest"}))

    assert error["message"] == "item 0: GitHub refused getting the latest release of octo/app (404): Not Found"
    assert "tag or id" in error["description"]


def test_list_follows_pages_or_stops_at_the_limit(github: GitHub) -> None:
    outputs(release(github, {"tag_name": "v{{ $json.n }}"}, [{"n": n} for n in range(105)]))

    every = outputs(release(github, {"operation": "list", "return_all": True}))
    newest = outputs(release(github, {"operation": "list", "limit": 2}))

    assert len(every) == 105 and len(github.server.received("GET", "/releases")) == 3
    assert [entry["tag_name"] for entry in newest] == ["v104", "v103"]


def test_update_sends_only_what_changes_and_publishes_a_draft(github: GitHub) -> None:
    (draft,) = outputs(release(github, {"tag_name": "v3.0", "name": "Three", "body": "Draft notes", "draft": True}))

    (published,) = outputs(
        release(github, {"operation": "update", "release_id": draft["id"], "body": "Final notes", "set_draft": "no"})
    )

    assert github.server.received("PATCH")[0].body == {"body": "Final notes", "draft": False}
    assert (published["name"], published["body"], published["draft"]) == ("Three", "Final notes", False)


def test_delete_removes_the_release(github: GitHub) -> None:
    (created,) = outputs(release(github, {"tag_name": "v9"}))

    (deleted,) = outputs(release(github, {"operation": "delete", "release_id": created["id"]}))

    assert deleted == {"id": created["id"], "repository": "octo/app", "deleted": True}
    assert github.repo.releases == []


def test_a_duplicate_tag_shows_githubs_validation_errors(github: GitHub) -> None:
    outputs(release(github, {"tag_name": "v1.0"}))

    error = failure(release(github, {"tag_name": "v1.0"}))
    (entry,) = outputs(release(github, {"tag_name": "v1.0"}, on_error="continue"))

    assert error["message"] == (
        "item 0: GitHub refused creating release v1.0 of octo/app (422): Validation Failed: "
        "Release.tag_name already_exists"
    )
    assert entry["error"] == error["message"] and entry["error_details"]["item_index"] == 0
    assert len(github.repo.releases) == 1


def test_a_wrong_token_is_about_the_token(github: GitHub) -> None:
    error = failure(release(github, {"operation": "list"}, token="ghp_bad"))

    assert "did not accept the credential's token while listing the releases of octo/app" in error["message"]
    assert "paste it into the credential" in error["description"]


def test_parameters_are_checked_before_calling_github(github: GitHub) -> None:
    no_id = failure(release(github, {"operation": "update", "name": "x"}))
    no_tag = failure(release(github, {"operation": "create"}))

    assert "update needs the release id" in no_id["message"]
    assert "create needs a tag" in no_tag["message"]
    assert github.server.received() == []
