"""Read/Write Files from Disk (files.disk) run through the engine, confined to the files folder."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.setenv("HITL_FILES_ROOT", str(folder))
    return folder


def run_nodes(host: LocalHost, items: list[Item], *nodes: dict[str, Any]) -> RunResult:
    names = ["Start", *(spec["name"] for spec in nodes)]
    data = workflow([MANUAL, *nodes], list(itertools.pairwise(names)))
    return run(data, host=host, pinned={"Start": items})


def file_item(host: LocalHost, file_name: str, content: bytes, **json: Any) -> Item:
    return Item(json, binary={"data": host.store_binary(content, file_name=file_name, mime_type="text/plain")})


def assert_failed(result: RunResult, node_name: str, item_index: int) -> str:
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == node_name and result.error["item_index"] == item_index
    return str(result.error["message"])


def test_written_files_are_read_back_by_a_pattern(root: Path) -> None:
    host = LocalHost()
    items = [file_item(host, "a.csv", b"a\n1\n", name="first"), file_item(host, "b.csv", b"b\n2\n", name="second")]

    result = run_nodes(
        host,
        items,
        node("Write", "files.disk", {"operation": "write", "path": "exports/{{ $json.name }}.csv"}),
        node("Read", "files.disk", {"operation": "read", "path": "exports/*.csv"}, execute_once=True),
    )

    assert result.status is RunStatus.SUCCEEDED
    assert (root / "exports" / "first.csv").read_bytes() == b"a\n1\n"
    assert output_json(result, "Write") == [
        {"name": "first", "file_path": "exports/first.csv"},
        {"name": "second", "file_path": "exports/second.csv"},
    ]
    assert output_json(result, "Read") == [
        {"file_path": "exports/first.csv", "file_name": "first.csv", "size": 4},
        {"file_path": "exports/second.csv", "file_name": "second.csv", "size": 4},
    ]
    read = result.last_outputs["Read"][0]
    assert [host.read_binary(item.binary["data"]) for item in read] == [b"a\n1\n", b"b\n2\n"]
    assert read[0].binary["data"]["mime_type"] == "text/csv"
    assert read[0].binary["data"]["directory"] == "exports"


def test_a_path_ending_in_a_slash_keeps_the_files_own_name_and_a_recursive_pattern_finds_it(root: Path) -> None:
    host = LocalHost()

    result = run_nodes(
        host,
        [file_item(host, "../../notes.txt", b"hello")],
        node("Write", "files.disk", {"operation": "write", "path": "deep/er/"}),
        node("Read", "files.disk", {"operation": "read", "path": "**/*.txt"}),
    )

    assert (root / "deep" / "er" / "notes.txt").read_bytes() == b"hello"
    assert [item["file_path"] for item in output_json(result, "Read")] == ["deep/er/notes.txt"]


def test_a_single_file_is_read_by_its_path(root: Path) -> None:
    (root / "in.json").write_text('{"a": 1}')
    data = workflow([MANUAL, node("Read", "files.disk", {"operation": "read", "path": "in.json"})], [("Start", "Read")])
    host = LocalHost()

    result = run(data, host=host)

    (item,) = result.last_outputs["Read"][0]
    assert host.read_binary(item.binary["data"]) == b'{"a": 1}'
    assert item.binary["data"]["mime_type"] == "application/json" and "directory" not in item.binary["data"]


def test_existing_files_can_be_appended_to_or_protected(root: Path) -> None:
    (root / "log.txt").write_bytes(b"one\n")
    host = LocalHost()
    append = node("Append", "files.disk", {"operation": "write", "path": "log.txt", "if_exists": "append"})
    refuse = node("Refuse", "files.disk", {"operation": "write", "path": "log.txt", "if_exists": "error"})

    appended = run_nodes(host, [file_item(host, "x", b"two\n")], append)
    refused = run_nodes(host, [file_item(host, "x", b"three\n")], refuse)

    assert appended.status is RunStatus.SUCCEEDED
    assert assert_failed(refused, "Refuse", 0) == "'log.txt' already exists"
    assert (root / "log.txt").read_bytes() == b"one\ntwo\n"


@pytest.mark.parametrize("path", ["../outside.txt", "a/../../outside.txt", "/etc/passwd"])
def test_paths_leaving_the_files_folder_are_refused_for_reading_and_writing(root: Path, path: str) -> None:
    (root.parent / "outside.txt").write_text("secret")
    host = LocalHost()
    items = [file_item(host, "ok.txt", b"ok"), file_item(host, "evil.txt", b"evil", target=path)]

    read = run_nodes(host, items[:1], node("Read", "files.disk", {"operation": "read", "path": path}))
    write = run_nodes(
        host, items, node("Write", "files.disk", {"operation": "write", "path": "{{ $json.get('target', 'ok.txt') }}"})
    )

    assert assert_failed(read, "Read", 0) == f"{path!r} is outside the files folder"
    assert assert_failed(write, "Write", 1) == f"{path!r} is outside the files folder"
    assert (root.parent / "outside.txt").read_text() == "secret"


def test_links_leading_out_of_the_files_folder_are_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    host = LocalHost()

    by_path = run_nodes(host, [Item({})], node("Read", "files.disk", {"operation": "read", "path": "link.txt"}))
    by_glob = run_nodes(host, [Item({})], node("Read", "files.disk", {"operation": "read", "path": "*.txt"}))
    through_dir = run_nodes(
        host,
        [file_item(host, "x.txt", b"evil")],
        node("Write", "files.disk", {"operation": "write", "path": "linked-dir/secret.txt"}),
    )

    assert assert_failed(by_path, "Read", 0) == "'link.txt' is outside the files folder"
    assert assert_failed(by_glob, "Read", 0) == "'link.txt' is outside the files folder"
    assert assert_failed(through_dir, "Write", 0) == "'linked-dir/secret.txt' is outside the files folder"
    assert (outside / "secret.txt").read_text() == "secret"


def test_a_missing_file_and_a_folder_fail_with_a_hint(root: Path) -> None:
    (root / "folder").mkdir()
    host = LocalHost()

    missing = run_nodes(host, [Item({})], node("Read", "files.disk", {"operation": "read", "path": "nope.txt"}))
    folder = run_nodes(host, [Item({})], node("Read", "files.disk", {"operation": "read", "path": "folder"}))
    no_match = run_nodes(host, [Item({})], node("Read", "files.disk", {"operation": "read", "path": "*.nothing"}))

    assert assert_failed(missing, "Read", 0) == "'nope.txt' is no file"
    assert "use a pattern like folder/*" in assert_failed(folder, "Read", 0)
    assert no_match.status is RunStatus.SUCCEEDED and output_json(no_match, "Read") == []


def test_writing_an_item_without_the_binary_property_fails_naming_it(root: Path) -> None:
    data = workflow(
        [MANUAL, node("Write", "files.disk", {"operation": "write", "path": "x.txt"})], [("Start", "Write")]
    )

    result = run(data, [{"id": 1}])

    assert assert_failed(result, "Write", 0) == "item 0 has no binary property 'data' (its binary properties: none)"
    assert not (root / "x.txt").exists()


def test_the_files_folder_defaults_to_files_root_in_the_data_directory(isolated_settings: Path) -> None:
    host = LocalHost()

    result = run_nodes(
        host, [file_item(host, "x.txt", b"data")], node("Write", "files.disk", {"operation": "write", "path": "x.txt"})
    )

    assert result.status is RunStatus.SUCCEEDED
    assert (isolated_settings / "files-root" / "x.txt").read_bytes() == b"data"
