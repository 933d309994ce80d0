"""Read/Write Files from Disk: files under one allowed folder (HITL_FILES_ROOT) to binary items and back."""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath
from typing import Literal

from nodes.files._common import guess_mime_type, read_input
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, param

WRITE = {"operation": ["write"]}
GLOB_CHARACTERS = frozenset("*?[")
MAX_FILES = 10_000
"""A pattern matching more files than this fails rather than flood the run with items."""


class DiskParameters(Parameters):
    operation: Literal["read", "write"] = param(
        "read",
        title="Operation",
        description="read: files become one item each; write: each item's file is saved.",
        no_expressions=True,
    )
    path: str = param(
        title="Path",
        description="Relative to the files folder (HITL_FILES_ROOT). read: a file or a pattern like "
        "reports/*.csv or **/*.json; write: where to save (ending in / keeps the file's own name).",
        placeholder="reports/*.csv",
        min_length=1,
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="read: the property the file is put in; write: the property holding the file.",
        min_length=1,
    )
    if_exists: Literal["overwrite", "append", "error"] = param(
        "overwrite",
        title="If the file exists",
        description="overwrite it, append to it, or fail the run.",
        show_if=WRITE,
        no_expressions=True,
    )


def files_root() -> Path:
    """The only folder this node reads and writes: ``HITL_FILES_ROOT``, else ``<HITL_DATA_DIR>/files-root``."""
    configured = os.environ.get("HITL_FILES_ROOT") or os.path.join(
        os.environ.get("HITL_DATA_DIR", ".data"), "files-root"
    )
    return Path(configured).resolve()


def _outside(path: str, root: Path, index: int) -> NodeError:
    return NodeError(
        f"{path!r} is outside the files folder",
        description=f"Files can only be read and written under {root} (set by HITL_FILES_ROOT); "
        "use a path relative to it, without '..' or links that lead out of it.",
        item_index=index,
    )


def _inside(root: Path, path: str, index: int) -> Path:
    """``path`` resolved (links followed, ``..`` collapsed), refused unless it stays under ``root``."""
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise _outside(path, root, index)
    return resolved


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


class DiskNode(Node):
    type = "files.disk"
    display_name = "Read/Write Files from Disk"
    category = Category.FILES
    description = "Reads files matching a path or pattern into items, or writes an item's file, under the files folder."
    icon = "hard-drive"
    Parameters = DiskParameters
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        root = files_root()
        write = ctx.params().operation == "write"
        produced: list[Item] = []
        for index, item in enumerate(items):
            if write:
                produced.append(self._write(ctx, item, index, root))
            else:
                produced.extend(self._read(ctx, index, root))
        return [produced]

    @staticmethod
    def _matches(root: Path, path: str, index: int) -> list[Path]:
        if not GLOB_CHARACTERS & set(path):
            target = _inside(root, path, index)
            if not target.is_file():
                what = "a folder; use a pattern like folder/* to read its files" if target.is_dir() else "no file"
                raise NodeError(
                    f"{path!r} is {what}",
                    description=f"Paths are relative to the files folder {root}.",
                    item_index=index,
                )
            return [target]
        pattern = PurePosixPath(path.replace("\\", "/"))
        if pattern.is_absolute():
            if not pattern.is_relative_to(root.as_posix()):
                raise _outside(path, root, index)
            pattern = pattern.relative_to(root.as_posix())
        if ".." in pattern.parts:
            raise _outside(path, root, index)
        matches: list[Path] = []
        for found in sorted(root.glob(str(pattern))):
            resolved = found.resolve()
            if not resolved.is_relative_to(root):
                raise _outside(_relative(root, found), root, index)
            if resolved.is_file():
                matches.append(resolved)
                if len(matches) > MAX_FILES:
                    raise NodeError(
                        f"{path!r} matches more than {MAX_FILES} files",
                        description="Use a narrower pattern.",
                        item_index=index,
                    )
        return matches

    def _read(self, ctx: Context, index: int, root: Path) -> list[Item]:
        params: DiskParameters = ctx.params(index)
        if not root.is_dir():
            raise NodeError(
                f"the files folder {root} does not exist",
                description="Create it, or set HITL_FILES_ROOT to the folder workflows may read.",
                item_index=index,
            )
        produced: list[Item] = []
        for path in self._matches(root, params.path, index):
            try:
                data = path.read_bytes()
            except OSError as err:
                raise NodeError(
                    f"{_relative(root, path)!r} could not be read: {err.strerror}", item_index=index
                ) from err
            relative = _relative(root, path)
            reference = ctx.store_binary(data, file_name=path.name, mime_type=guess_mime_type(path.name))
            directory = PurePosixPath(relative).parent.as_posix()
            if directory != ".":
                reference = {**reference, "directory": directory}
            produced.append(
                Item(
                    {"file_path": relative, "file_name": path.name, "size": len(data)},
                    binary={params.binary_property: reference},
                    paired_item=index,
                )
            )
        return produced

    @staticmethod
    def _write(ctx: Context, item: Item, index: int, root: Path) -> Item:
        params: DiskParameters = ctx.params(index)
        data, reference = read_input(ctx, item, params.binary_property, index)
        path = params.path
        if path.endswith(("/", "\\")):
            # Only the name: a stored file name like "../x" must not pick the folder.
            path += Path(str(reference.get("file_name") or "")).name or params.binary_property
        target = _inside(root, path, index)
        if target == root or target.is_dir():
            raise NodeError(
                f"{params.path!r} is a folder",
                description="End the path with a file name, or with / to keep the file's own name.",
                item_index=index,
            )
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        flags |= {"overwrite": os.O_TRUNC, "append": os.O_APPEND, "error": os.O_EXCL}[params.if_exists]
        relative = _relative(root, target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: a link put in place after the check above is not followed out of the folder.
            descriptor = os.open(target, flags, 0o644)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        except FileExistsError as err:
            raise NodeError(
                f"{relative!r} already exists",
                description="Choose another path, or set 'If the file exists' to overwrite or append.",
                item_index=index,
            ) from err
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise _outside(params.path, root, index) from err
            raise NodeError(f"{relative!r} could not be written: {err.strerror}", item_index=index) from err
        return Item({**item.json, "file_path": relative}, binary=dict(item.binary), paired_item=index)
