"""Compression: zip or gzip binary files, and unpack zip and gzip archives, refusing zip bombs."""

from __future__ import annotations

import gzip
import io
import posixpath
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any, Literal

from nodes.files._common import file_label, guess_mime_type, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

COMPRESS = {"operation": ["compress"]}
DECOMPRESS = {"operation": ["decompress"]}
ZIP = {"operation": ["compress"], "format": ["zip"]}
CHUNK_BYTES = 1024 * 1024
MAX_ARCHIVE_ENTRIES = 10_000
"""More files than this in one archive is refused: each becomes a binary property of one item."""


class CompressionParameters(Parameters):
    operation: Literal["compress", "decompress"] = param(
        "compress",
        title="Operation",
        description="compress: pack binary files into zip or gzip; decompress: unpack zip and gzip files.",
        no_expressions=True,
    )
    binary_properties: str = param(
        "",
        title="Binary properties",
        description="Comma-separated names of the binary properties to use; empty: all of the item's.",
        placeholder="data, attachment",
    )
    format: Literal["zip", "gzip"] = param(
        "zip",
        title="Format",
        description="zip: one archive of several files; gzip: each file compressed on its own, in place.",
        show_if=COMPRESS,
        no_expressions=True,
    )
    zip_mode: Literal["per_item", "all_items"] = param(
        "per_item",
        title="Archive",
        description="per_item: one archive per item with its files; all_items: one archive with every item's files.",
        show_if=ZIP,
        no_expressions=True,
    )
    file_name: str = param("archive.zip", title="Archive file name", show_if=ZIP, min_length=1)
    output_property: str = param("data", title="Put the archive in binary property", show_if=ZIP, min_length=1)
    output_prefix: str = param(
        "file_",
        title="Output property prefix",
        description="Unpacked files go in binary properties file_0, file_1...",
        show_if=DECOMPRESS,
        min_length=1,
    )
    max_decompressed_mb: float = param(
        200,
        title="Most MB to unpack",
        description="The run fails rather than unpack more than this (in MiB, over all items): it stops zip bombs.",
        show_if=DECOMPRESS,
        advanced=True,
        gt=0,
    )


def _selected(item: Item, names: str, index: int) -> list[str]:
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if not wanted:
        if not item.binary:
            raise NodeError(
                f"item {index} has no binary data to process",
                description="Load a file earlier in the workflow, e.g. with an HTTP Request or Read Files node.",
                item_index=index,
            )
        return list(item.binary)
    return wanted


def _safe_path(raw: str) -> str:
    """``raw`` without ``..``, ``.`` or a leading /, so it cannot point outside wherever it is unpacked."""
    return "/".join(part for part in raw.replace("\\", "/").split("/") if part not in ("", ".", ".."))


def _member_path(reference: Mapping[str, Any], prop: str) -> str:
    """Where a file goes inside an archive: its directory (if known) and name."""
    raw = posixpath.join(str(reference.get("directory") or ""), str(reference.get("file_name") or prop))
    return _safe_path(raw) or prop


def _unique(path: str, used: set[str]) -> str:
    stem, extension = posixpath.splitext(path)
    candidate, count = path, 1
    while candidate in used:
        count += 1
        candidate = f"{stem} ({count}){extension}"
    used.add(candidate)
    return candidate


def _gunzipped_name(file_name: str) -> str:
    lower = file_name.lower()
    if lower.endswith(".tgz"):
        return file_name[:-4] + ".tar"
    for suffix in (".gz", ".gzip"):
        if lower.endswith(suffix) and len(file_name) > len(suffix):
            return file_name[: -len(suffix)]
    return file_name


class _Budget:
    """How many bytes may still be unpacked in this node run."""

    def __init__(self, limit_mb: float) -> None:
        self.limit = int(limit_mb * 1024 * 1024)
        self.left = self.limit

    def take(self, count: int, label: str, index: int) -> None:
        self.left -= count
        if self.left < 0:
            raise NodeError(
                f"{label} unpacks to more than {self.limit} bytes (the Most MB to unpack limit); refused",
                description="It may be a zip bomb; if the file is genuine, raise the limit in the node's options.",
                item_index=index,
            )


class CompressionNode(Node):
    type = "files.compression"
    display_name = "Compression"
    category = Category.FILES
    description = "Packs binary files into zip or gzip archives, or unpacks zip and gzip archives into files."
    icon = "file-archive"
    Parameters = CompressionParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        params: CompressionParameters = ctx.params()
        if params.operation == "decompress":
            return [self._decompress(ctx, items, _Budget(params.max_decompressed_mb))]
        if params.format == "gzip":
            return [self._gzip(ctx, items)]
        if params.zip_mode == "all_items":
            return [self._zip_all(ctx, items)] if items else [[]]
        return [self._zip_each(ctx, items)]

    @staticmethod
    def _add_files(ctx: Context, archive: zipfile.ZipFile, item: Item, index: int, used: set[str]) -> None:
        params: CompressionParameters = ctx.params(index)
        for prop in _selected(item, params.binary_properties, index):
            data, reference = read_input(ctx, item, prop, index)
            archive.writestr(_unique(_member_path(reference, prop), used), data)

    def _zip_each(self, ctx: Context, items: list[Item]) -> list[Item]:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: CompressionParameters = ctx.params(index)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                self._add_files(ctx, archive, item, index, set())
            reference = ctx.store_binary(buffer.getvalue(), file_name=params.file_name, mime_type="application/zip")
            produced.append(Item(dict(item.json), binary={params.output_property: reference}, paired_item=index))
        return produced

    def _zip_all(self, ctx: Context, items: list[Item]) -> list[Item]:
        params: CompressionParameters = ctx.params(0)
        buffer = io.BytesIO()
        used: set[str] = set()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for index, item in enumerate(items):
                self._add_files(ctx, archive, item, index, used)
        reference = ctx.store_binary(buffer.getvalue(), file_name=params.file_name, mime_type="application/zip")
        return [Item({}, binary={params.output_property: reference}, paired_item=0)]

    @staticmethod
    def _gzip(ctx: Context, items: list[Item]) -> list[Item]:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: CompressionParameters = ctx.params(index)
            binary = dict(item.binary)
            for prop in _selected(item, params.binary_properties, index):
                data, reference = read_input(ctx, item, prop, index)
                # mtime=0: the same input gives the same bytes (and the same file id in the store).
                packed = gzip.compress(data, mtime=0)
                name = f"{reference.get('file_name') or prop}.gz"
                binary[prop] = ctx.store_binary(packed, file_name=name, mime_type="application/gzip")
            produced.append(Item(dict(item.json), binary=binary, paired_item=index))
        return produced

    def _decompress(self, ctx: Context, items: list[Item], budget: _Budget) -> list[Item]:
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: CompressionParameters = ctx.params(index)
            binary: dict[str, dict[str, Any]] = {}
            for prop in _selected(item, params.binary_properties, index):
                data, reference = read_input(ctx, item, prop, index)
                label = file_label(reference, prop)
                if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
                    unpacked = self._unzip(data, label, index, budget)
                elif data[:2] == b"\x1f\x8b":
                    name = _gunzipped_name(str(reference.get("file_name") or prop))
                    unpacked = [("", name, self._gunzip(data, label, index, budget))]
                else:
                    raise NodeError(
                        f"{label} is neither a zip nor a gzip archive",
                        description="Pick the binary property holding the archive in 'Binary properties'.",
                        item_index=index,
                    )
                for directory, name, content in unpacked:
                    stored = ctx.store_binary(content, file_name=name, mime_type=guess_mime_type(name))
                    if directory:
                        stored = {**stored, "directory": directory}
                    binary[f"{params.output_prefix}{len(binary)}"] = stored
            produced.append(Item(dict(item.json), binary=binary, paired_item=index))
        return produced

    @staticmethod
    def _unzip(data: bytes, label: str, index: int, budget: _Budget) -> list[tuple[str, str, bytes]]:
        unpacked: list[tuple[str, str, bytes]] = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) > MAX_ARCHIVE_ENTRIES:
                    raise NodeError(
                        f"{label} holds {len(members)} files, more than the {MAX_ARCHIVE_ENTRIES} allowed",
                        item_index=index,
                    )
                # Check the declared sizes first, so a bomb is refused before anything is unpacked...
                declared = sum(info.file_size for info in members)
                if declared > budget.left:
                    budget.take(declared, label, index)
                for info in members:
                    chunks: list[bytes] = []
                    # ...and count what really comes out, in case the declared sizes lie.
                    with archive.open(info) as member:
                        while chunk := member.read(CHUNK_BYTES):
                            budget.take(len(chunk), label, index)
                            chunks.append(chunk)
                    directory, name = posixpath.split(_safe_path(info.filename))
                    unpacked.append((directory, name or f"file_{len(unpacked)}", b"".join(chunks)))
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
            # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression method.
            raise NodeError(
                f"{label} could not be unpacked: {err}",
                description="Check that the archive is complete and not password-protected.",
                item_index=index,
            ) from err
        return unpacked

    @staticmethod
    def _gunzip(data: bytes, label: str, index: int, budget: _Budget) -> bytes:
        chunks: list[bytes] = []
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                while chunk := stream.read(CHUNK_BYTES):
                    budget.take(len(chunk), label, index)
                    chunks.append(chunk)
        except (OSError, EOFError, zlib.error) as err:
            raise NodeError(
                f"{label} could not be unpacked: {err}",
                description="Check that the gzip file is complete.",
                item_index=index,
            ) from err
        return b"".join(chunks)
