"""Dropbox File: upload, download, list, create folders, move, copy, delete, search and get temporary links."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from nodes.dropbox._client import DropboxClient
from nodes.files._common import guess_mime_type, read_input
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal[
    "upload", "download", "list_folder", "create_folder", "move", "copy", "delete", "search", "get_temporary_link"
]
IN_FOLDER = ("list_folder", "search")
"""Operations whose path is a folder that may be the Dropbox's root (empty)."""
TWO_PATHS = ("move", "copy")
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
"""The most files/upload takes in one request."""
LIST_PAGE = 2000
SEARCH_PAGE = 1000
"""The largest pages list_folder and search_v2 serve."""
PATH_PREFIXES = ("/", "id:", "ns:", "rev:")


def _normal(path: str) -> str:
    """``path`` without surrounding spaces or a trailing slash (Dropbox refuses one); the root is ``""``."""
    path = path.strip()
    return path.rstrip("/") if path.startswith("/") else path


def _check_path(path: str, what: str, *, root_ok: bool) -> None:
    if not path:
        if root_ok:
            return
        raise ValueError(f"{what} is required")
    if not path.startswith(PATH_PREFIXES):
        raise ValueError(f"{what} {path!r} must start with / (e.g. /Reports/q1.pdf), or be an id:… or rev:…")


class DropboxFileParameters(Parameters):
    operation: Operation = param(
        "upload",
        title="Operation",
        description="upload a file of the item; download one into the item; list_folder: one item per entry; "
        "create_folder; move, copy or delete a file or folder; search: one item per match; get_temporary_link: "
        "a four-hour download link.",
        no_expressions=True,
    )
    path: str = param(
        "",
        title="Path",
        description="From the Dropbox's root, starting with / (or an id:…). upload: the new file's path; "
        "list_folder and search: the folder (empty: the whole Dropbox); move and copy: what to move or copy.",
        placeholder="/Reports/2026/q1.pdf",
    )
    to_path: str = param(
        "",
        title="To path",
        description="Where it goes, with its name: /Archive/q1.pdf.",
        show_if={"operation": TWO_PATHS},
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="upload: the item's file to send; download: where the file goes.",
        show_if={"operation": ["upload", "download"]},
        min_length=1,
    )
    mode: Literal["add", "overwrite"] = param(
        "add",
        title="If the file exists",
        description="add: keep the existing file (see Autorename); overwrite: replace it.",
        show_if={"operation": ["upload"]},
    )
    autorename: bool = param(
        False,
        title="Autorename",
        description="When something is already at the path, add a number to the new name instead of failing.",
        show_if={"operation": ["upload", "create_folder", "move", "copy"]},
    )
    recursive: bool = param(
        False,
        title="Recursive",
        description="Also list what is inside the sub-folders.",
        show_if={"operation": ["list_folder"]},
    )
    query: str = param("", title="Search for", placeholder="invoice 2026", show_if={"operation": ["search"]})
    file_names_only: bool = param(
        False,
        title="File names only",
        description="Match names only, not the text inside files.",
        show_if={"operation": ["search"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' entries.",
        show_if={"operation": IN_FOLDER},
    )
    limit: int = param(
        100,
        title="Limit",
        description="At most this many entries per item.",
        show_if={"operation": IN_FOLDER, "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> DropboxFileParameters:
        self.path = _normal(self.path)
        self.to_path = _normal(self.to_path)
        _check_path(self.path, "the path", root_ok=self.operation in IN_FOLDER)
        if self.operation in TWO_PATHS:
            _check_path(self.to_path, "the to path", root_ok=False)
        if self.operation == "search" and not self.query.strip():
            raise ValueError("search needs the words to search for")
        return self


class DropboxFileNode(Node):
    type = "dropbox.file"
    display_name = "Dropbox File"
    category = Category.INTEGRATION
    description = "Uploads, downloads, lists, moves, copies, deletes or searches files and folders in Dropbox."
    icon = "box"
    Parameters = DropboxFileParameters
    credentials = (CredentialRequirement("dropbox_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with DropboxClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: DropboxFileParameters = ctx.params(index)
                produced.extend(_run(ctx, client, params, item, index))
        return [produced]


def _run(ctx: Context, client: DropboxClient, params: DropboxFileParameters, item: Item, index: int) -> list[Item]:
    path = params.path
    limit = None if params.return_all else params.limit
    match params.operation:
        case "upload":
            return [Item(_upload(ctx, client, params, item, index), paired_item=index)]
        case "download":
            data, metadata = client.download("files/download", {"path": path}, f"downloading {path}", item_index=index)
            name = str(metadata.get("name") or path.rsplit("/", 1)[-1])
            reference = ctx.store_binary(data, file_name=name, mime_type=guess_mime_type(name))
            return [Item(metadata, binary={**item.binary, params.binary_property: reference}, paired_item=index)]
        case "list_folder":
            args = {"path": path, "recursive": params.recursive, "limit": min(limit or LIST_PAGE, LIST_PAGE)}
            entries = _pages(
                client, "files/list_folder", args, "entries", f"listing {path or 'the Dropbox'}", limit, index
            )
            return [Item(entry, paired_item=index) for entry in entries]
        case "search":
            options: dict[str, Any] = {
                "max_results": min(limit or SEARCH_PAGE, SEARCH_PAGE),
                "file_status": "active",
                "filename_only": params.file_names_only,
            }
            if path:
                options["path"] = path
            matches = _pages(
                client,
                "files/search_v2",
                {"query": params.query.strip(), "options": options},
                "matches",
                f"searching {path or 'the Dropbox'} for {params.query.strip()!r}",
                limit,
                index,
            )
            # Each match wraps the file's metadata twice: {"metadata": {".tag": "metadata", "metadata": {...}}}.
            return [Item((match.get("metadata") or {}).get("metadata") or {}, paired_item=index) for match in matches]
        case "create_folder":
            created = client.rpc(
                "files/create_folder_v2",
                {"path": path, "autorename": params.autorename},
                f"creating the folder {path}",
                item_index=index,
            )
            return [Item(created.get("metadata") or created, paired_item=index)]
        case "move" | "copy":
            verb = "moving" if params.operation == "move" else "copying"
            done = client.rpc(
                f"files/{params.operation}_v2",
                {
                    "from_path": path,
                    "to_path": params.to_path,
                    "autorename": params.autorename,
                    "allow_ownership_transfer": False,
                },
                f"{verb} {path} to {params.to_path}",
                item_index=index,
            )
            return [Item(done.get("metadata") or done, paired_item=index)]
        case "delete":
            deleted = client.rpc("files/delete_v2", {"path": path}, f"deleting {path}", item_index=index)
            return [Item(deleted.get("metadata") or deleted, paired_item=index)]
        case "get_temporary_link":
            link = client.rpc(
                "files/get_temporary_link", {"path": path}, f"getting a temporary link to {path}", item_index=index
            )
            return [Item(link, paired_item=index)]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _pages(
    client: DropboxClient,
    endpoint: str,
    args: dict[str, Any],
    key: str,
    action: str,
    limit: int | None,
    index: int,
) -> list[dict[str, Any]]:
    """Up to ``limit`` entries (all when ``None``) of a listing, calling ``<endpoint>/continue`` while ``has_more``."""
    # search_v2 continues at search/continue_v2; list_folder at list_folder/continue.
    following = "files/search/continue_v2" if endpoint == "files/search_v2" else f"{endpoint}/continue"
    page = client.rpc(endpoint, args, action, item_index=index)
    entries: list[dict[str, Any]] = list(page.get(key) or [])
    while page.get("has_more") and page.get("cursor") and (limit is None or len(entries) < limit):
        page = client.rpc(following, {"cursor": page["cursor"]}, action, item_index=index)
        entries.extend(page.get(key) or [])
    return entries if limit is None else entries[:limit]


def _upload(
    ctx: Context, client: DropboxClient, params: DropboxFileParameters, item: Item, index: int
) -> dict[str, Any]:
    data, _ = read_input(ctx, item, params.binary_property, index)
    if len(data) > MAX_UPLOAD_BYTES:
        raise NodeError(
            f"item {index}: the file has {len(data)} bytes, more than the 150 MB Dropbox takes in one upload",
            description="Upload a smaller file, for example compressed first with the Compression node.",
            item_index=index,
        )
    arg = {
        "path": params.path,
        "mode": params.mode,
        "autorename": params.autorename,
        "mute": False,
        "strict_conflict": False,
    }
    return client.upload("files/upload", arg, data, f"uploading {params.path}", item_index=index)
