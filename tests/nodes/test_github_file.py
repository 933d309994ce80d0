"""GitHub File (github.file) through the engine against the fake GitHub: contents as text or files, commits, folders."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.fakes.github_server import blob_sha
from tests.nodes.github_fixtures import GitHub, github_session
from tests.nodes.integrations import NODE, failure, outputs

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture
def github() -> Iterator[GitHub]:
    with github_session() as session:
        yield session


def file(github: GitHub, parameters: dict[str, Any], items: list[Any] | None = None, **options: Any) -> RunResult:
    return github.run("github.file", parameters, items, **options)


def test_create_then_update_fetches_the_sha_itself(github: GitHub) -> None:
    (created,) = outputs(
        file(
            github,
            {"operation": "create_or_update", "path": "docs/{{ $json.name }}.md", "content": "# {{ $json.name }}\n"},
            [{"name": "intro"}],
        )
    )
    (updated,) = outputs(
        file(
            github,
            {
                "operation": "create_or_update",
                "path": "docs/intro.md",
                "content": "# Intro, rewritten\n",
                "commit_message": "Rewrite the intro",
            },
        )
    )

    assert created["created"] is True and created["content"]["path"] == "docs/intro.md"
    assert created["commit"]["message"] == "Create docs/intro.md"
    assert updated["created"] is False and updated["commit"]["message"] == "Rewrite the intro"
    assert github.repo.files["main"]["docs/intro.md"] == b"# Intro, rewritten\n"
    (first, second) = github.server.received("PUT", "/contents/")
    assert "sha" not in first.body
    assert second.body["sha"] == blob_sha(b"# intro\n")
    assert base64.b64decode(second.body["content"]) == b"# Intro, rewritten\n"


def test_create_commits_an_input_file_to_a_branch(github: GitHub) -> None:
    github.repo.files["dev"] = {}
    host = github.host()
    reference = host.store_binary(PNG, file_name="logo.png", mime_type="image/png")

    (created,) = outputs(
        file(
            github,
            {
                "operation": "create_or_update",
                "path": "assets/logo.png",
                "content_source": "binary",
                "binary_property": "image",
                "branch": "dev",
            },
            [Item({}, binary={"image": reference})],
            host=host,
        )
    )

    assert created["content"]["sha"] == blob_sha(PNG)
    assert github.repo.files["dev"]["assets/logo.png"] == PNG
    assert "assets/logo.png" not in github.repo.files["main"]
    assert github.server.received("PUT")[0].body["branch"] == "dev"


def test_a_missing_input_file_is_named(github: GitHub) -> None:
    error = failure(
        file(github, {"operation": "create_or_update", "path": "a.bin", "content_source": "binary"}, [{"x": 1}])
    )

    assert error["message"] == "item 0 has no binary property 'data' (its binary properties: none)"
    assert github.server.received("PUT") == []


def test_get_decodes_text_into_the_item(github: GitHub) -> None:
    sha = github.server.add_file(github.repo, "README.md", "Héllo, world\n" * 20)

    (got,) = outputs(file(github, {"operation": "get", "path": "{{ $json.path }}"}, [{"path": "README.md"}]))

    assert got["content"] == "Héllo, world\n" * 20
    assert got["sha"] == sha and got["type"] == "file" and "encoding" not in got


def test_get_as_a_file_stores_it_in_the_binary_property(github: GitHub) -> None:
    github.server.add_file(github.repo, "assets/logo.png", PNG, branch="main")
    host = github.host()

    result = file(github, {"operation": "get", "path": "assets/logo.png", "output": "binary"}, [{}], host=host)

    (got,) = outputs(result)
    stored = result.last_outputs[NODE][0][0].binary["data"]
    assert host.read_binary(stored) == PNG
    assert (stored["file_name"], stored["mime_type"]) == ("logo.png", "image/png")
    assert got["path"] == "assets/logo.png" and "content" not in got


def test_get_a_large_file_asks_for_the_raw_contents(github: GitHub) -> None:
    github.server.large_file_bytes = 100
    github.server.add_file(github.repo, "data.csv", "a,b\n" * 100)

    (got,) = outputs(file(github, {"operation": "get", "path": "data.csv"}))

    assert got["content"] == "a,b\n" * 100
    (_, raw) = github.server.received("GET", "/contents/")
    assert raw.headers["accept"] == "application/vnd.github.raw+json"


def test_get_text_of_a_binary_file_suggests_binary_output(github: GitHub) -> None:
    github.server.add_file(github.repo, "logo.png", PNG)

    error = failure(file(github, {"operation": "get", "path": "logo.png"}))

    assert error["message"] == "item 0: logo.png in octo/app is not UTF-8 text (byte 0)"
    assert "binary" in error["description"]


def test_get_of_a_folder_says_to_list_it(github: GitHub) -> None:
    github.server.add_file(github.repo, "docs/a.md", "a")

    error = failure(file(github, {"operation": "get", "path": "docs"}))

    assert error["message"] == "item 0: docs in octo/app is a folder, not a file"
    assert "list operation" in error["description"]


def test_get_reads_another_branch(github: GitHub) -> None:
    github.server.add_file(github.repo, "VERSION", "1.0\n")
    github.server.add_file(github.repo, "VERSION", "2.0-dev\n", branch="dev")

    (got,) = outputs(file(github, {"operation": "get", "path": "VERSION", "branch": "dev"}))

    assert got["content"] == "2.0-dev\n"
    assert github.server.received("GET")[0].query == {"ref": "dev"}


def test_delete_fetches_the_sha_and_removes_the_file(github: GitHub) -> None:
    sha = github.server.add_file(github.repo, "old.txt", "bye")

    (deleted,) = outputs(file(github, {"operation": "delete", "path": "old.txt"}))

    assert deleted["path"] == "old.txt" and deleted["deleted"] is True
    assert deleted["commit"]["message"] == "Delete old.txt"
    assert "old.txt" not in github.repo.files["main"]
    assert github.server.received("DELETE")[0].body == {"message": "Delete old.txt", "sha": sha}


def test_deleting_a_file_that_is_not_there_is_explained(github: GitHub) -> None:
    error = failure(file(github, {"operation": "delete", "path": "nope.txt"}))

    assert error["message"] == "item 0: there is no file nope.txt in octo/app"
    assert "case-sensitive" in error["description"]
    assert github.server.received("DELETE") == []


def test_list_gives_one_item_per_entry_of_a_folder(github: GitHub) -> None:
    github.server.add_file(github.repo, "README.md", "top")
    github.server.add_file(github.repo, "docs/a.md", "a")
    github.server.add_file(github.repo, "docs/guides/b.md", "b")

    top = outputs(file(github, {"operation": "list"}))
    docs = outputs(file(github, {"operation": "list", "path": "docs"}))

    assert [(entry["path"], entry["type"]) for entry in top] == [("README.md", "file"), ("docs", "dir")]
    assert [(entry["path"], entry["type"]) for entry in docs] == [("docs/a.md", "file"), ("docs/guides", "dir")]


def test_a_missing_repository_says_what_to_check_or_continues(github: GitHub) -> None:
    parameters = {"operation": "get", "repository": "gone", "path": "README.md"}

    error = failure(file(github, parameters))
    (entry,) = outputs(file(github, parameters, on_error="continue"))

    assert error["message"] == "item 0: GitHub refused getting README.md in octo/gone (404): Not Found"
    assert "cannot see a private repository" in error["description"]
    assert entry["error"] == error["message"]


def test_a_wrong_token_is_about_the_token(github: GitHub) -> None:
    github.server.add_file(github.repo, "README.md", "top")

    error = failure(file(github, {"operation": "list"}, token="ghp_wrong"))

    assert "did not accept the credential's token" in error["message"]
    assert "ghp_wrong" not in error["message"]


def test_a_write_without_a_path_is_refused_before_calling_github(github: GitHub) -> None:
    error = failure(file(github, {"operation": "create_or_update", "content": "x"}))

    assert "create_or_update needs the file's path" in error["message"]
    assert github.server.received() == []
