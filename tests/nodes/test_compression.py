"""Compression (files.compression) run through the engine: zip and gzip round trips, zip bombs, bad archives."""

from __future__ import annotations

import gzip
import io
import itertools
import struct
import zipfile
from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, run, workflow

MANUAL = node("Start", "trigger.manual")


def file_item(host: LocalHost, json: dict[str, Any] | None = None, **files: tuple[str, bytes]) -> Item:
    """An item whose binary properties hold ``files`` (property → (file name, content))."""
    binary = {
        prop: host.store_binary(content, file_name=name, mime_type="application/octet-stream")
        for prop, (name, content) in files.items()
    }
    return Item(json or {}, binary=binary)


def run_nodes(host: LocalHost, items: list[Item], *nodes: dict[str, Any]) -> RunResult:
    """Run ``nodes`` in a line after a trigger that emits ``items``."""
    names = ["Start", *(spec["name"] for spec in nodes)]
    data = workflow([MANUAL, *nodes], list(itertools.pairwise(names)))
    return run(data, host=host, pinned={"Start": items})


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unpacked(host: LocalHost, result: RunResult, node_name: str) -> list[dict[str, tuple[str, bytes]]]:
    """Each output item's binary properties as property → (file name, content)."""
    return [
        {prop: (ref["file_name"], host.read_binary(ref)) for prop, ref in item.binary.items()}
        for item in result.last_outputs[node_name][0]
    ]


def test_zip_then_unzip_gives_back_every_file_of_the_item() -> None:
    host = LocalHost()
    item = file_item(host, {"id": 7}, data=("report.csv", b"a,b\n1,2\n"), logo=("logo.png", b"\x89PNG fake"))

    result = run_nodes(
        host,
        [item],
        node("Zip", "files.compression", {"operation": "compress", "file_name": "bundle.zip"}),
        node("Unzip", "files.compression", {"operation": "decompress"}),
    )

    assert result.status is RunStatus.SUCCEEDED
    (archive,) = result.last_outputs["Zip"][0]
    assert archive.json == {"id": 7} and archive.binary["data"]["file_name"] == "bundle.zip"
    assert archive.binary["data"]["mime_type"] == "application/zip"
    assert unpacked(host, result, "Unzip") == [
        {"file_0": ("report.csv", b"a,b\n1,2\n"), "file_1": ("logo.png", b"\x89PNG fake")}
    ]
    files = result.last_outputs["Unzip"][0][0].binary
    assert files["file_0"]["mime_type"] == "text/csv" and files["file_1"]["mime_type"] == "image/png"


def test_all_items_go_into_one_archive_with_clashing_names_kept_apart() -> None:
    host = LocalHost()
    items = [file_item(host, data=("notes.txt", b"first")), file_item(host, data=("notes.txt", b"second"))]

    result = run_nodes(
        host,
        items,
        node("Zip", "files.compression", {"operation": "compress", "zip_mode": "all_items"}),
        node("Unzip", "files.compression", {"operation": "decompress", "output_prefix": "part"}),
    )

    assert len(result.last_outputs["Zip"][0]) == 1
    assert unpacked(host, result, "Unzip") == [
        {"part0": ("notes.txt", b"first"), "part1": ("notes (2).txt", b"second")}
    ]


def test_folders_inside_an_archive_survive_a_round_trip_and_dot_dot_is_dropped() -> None:
    host = LocalHost()
    item = file_item(host, data=("in.zip", zip_bytes({"docs/guide/intro.md": b"# Hi", "../evil.txt": b"x"})))

    result = run_nodes(
        host,
        [item],
        node("Unzip", "files.compression", {"operation": "decompress"}),
        node("Zip", "files.compression", {"operation": "compress"}),
    )

    files = result.last_outputs["Unzip"][0][0].binary
    assert files["file_0"]["directory"] == "docs/guide" and files["file_0"]["file_name"] == "intro.md"
    assert "directory" not in files["file_1"] and files["file_1"]["file_name"] == "evil.txt"
    (rezipped,) = result.last_outputs["Zip"][0]
    with zipfile.ZipFile(io.BytesIO(host.read_binary(rezipped.binary["data"]))) as archive:
        assert archive.namelist() == ["docs/guide/intro.md", "evil.txt"]


def test_gzip_then_gunzip_each_property_in_place() -> None:
    host = LocalHost()
    item = file_item(host, data=("report.csv", b"x" * 1000), other=("b.txt", b"keep"))

    result = run_nodes(
        host,
        [item],
        node("Gzip", "files.compression", {"operation": "compress", "format": "gzip", "binary_properties": "data"}),
        node("Gunzip", "files.compression", {"operation": "decompress", "binary_properties": "data"}),
    )

    (packed,) = result.last_outputs["Gzip"][0]
    assert packed.binary["data"]["file_name"] == "report.csv.gz"
    assert gzip.decompress(host.read_binary(packed.binary["data"])) == b"x" * 1000
    assert packed.binary["other"]["file_name"] == "b.txt"
    assert unpacked(host, result, "Gunzip") == [{"file_0": ("report.csv", b"x" * 1000)}]


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    host = LocalHost()
    bomb = zip_bytes({"zeros.bin": b"\0" * 200_000})
    assert len(bomb) < 1_000
    item = file_item(host, data=("bomb.zip", bomb))

    result = run_nodes(
        host, [item], node("Unzip", "files.compression", {"operation": "decompress", "max_decompressed_mb": 0.1})
    )

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Unzip" and result.error["item_index"] == 0
    assert (
        result.error["message"] == "'bomb.zip' unpacks to more than 104857 bytes (the Most MB to unpack limit); refused"
    )


def test_a_zip_that_understates_its_size_is_still_refused() -> None:
    archive = bytearray(zip_bytes({"zeros.bin": b"\0" * 200_000}))
    # Claim 10 bytes uncompressed in both the local header and the central directory.
    local = archive.index(b"PK\x03\x04")
    central = archive.index(b"PK\x01\x02")
    archive[local + 22 : local + 26] = struct.pack("<I", 10)
    archive[central + 24 : central + 28] = struct.pack("<I", 10)
    host = LocalHost()

    result = run_nodes(
        host,
        [file_item(host, data=("liar.zip", bytes(archive)))],
        node("Unzip", "files.compression", {"operation": "decompress", "max_decompressed_mb": 0.1}),
    )

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert result.error["message"].startswith("'liar.zip' could not be unpacked")


def test_a_gzip_bomb_is_refused_while_unpacking() -> None:
    host = LocalHost()
    item = file_item(host, {}, data=("big.gz", gzip.compress(b"\0" * 300_000)))

    result = run_nodes(
        host, [item], node("Gunzip", "files.compression", {"operation": "decompress", "max_decompressed_mb": 0.1})
    )

    assert result.error is not None and result.error["node"] == "Gunzip" and result.error["item_index"] == 0
    assert "unpacks to more than 104857 bytes" in result.error["message"]


def test_something_that_is_not_an_archive_fails_naming_the_item() -> None:
    host = LocalHost()
    items = [
        file_item(host, data=("ok.zip", zip_bytes({"a.txt": b"1"}))),
        file_item(host, data=("photo.jpg", b"\xff\xd8")),
    ]

    result = run_nodes(host, items, node("Unzip", "files.compression", {"operation": "decompress"}))

    assert result.error is not None and result.error["item_index"] == 1
    assert result.error["message"] == "'photo.jpg' is neither a zip nor a gzip archive"


def test_a_truncated_zip_fails_naming_the_item() -> None:
    host = LocalHost()
    truncated = zip_bytes({"a.txt": b"hello" * 100})[:40]

    result = run_nodes(
        host,
        [file_item(host, data=("cut.zip", truncated))],
        node("Unzip", "files.compression", {"operation": "decompress"}),
    )

    assert result.error is not None and result.error["node"] == "Unzip" and result.error["item_index"] == 0
    assert result.error["message"].startswith("'cut.zip' could not be unpacked")


def test_a_missing_binary_property_fails_naming_the_item() -> None:
    data = workflow(
        [MANUAL, node("Zip", "files.compression", {"operation": "compress", "binary_properties": "data"})],
        [("Start", "Zip")],
    )

    result = run(data, [{"id": 1}])

    assert result.error is not None
    assert result.error["node"] == "Zip" and result.error["item_index"] == 0
    assert result.error["message"] == "item 0 has no binary property 'data' (its binary properties: none)"
