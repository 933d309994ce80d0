"""Microsoft OneDrive File: list a folder, upload, download, create folders, move or rename, delete and share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from pydantic import model_validator

from nodes.files._common import guess_mime_type, read_input
from nodes.microsoft._graph import (
    CREDENTIALS,
    GraphClient,
    GraphParameters,
    Permissions,
    check_user,
    segment,
    user_base,
    user_field,
)
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, param

Operation = Literal["list", "upload", "download", "create_folder", "move", "delete", "share"]
ON_ITEM = ("download", "move", "delete", "share")
"""Operations on a file or folder itself; the others work in a folder, which may be the drive's root."""
SIMPLE_UPLOAD_MAX_BYTES = 4 * 1024 * 1024
"""Larger files go through an upload session."""
UPLOAD_CHUNK_BYTES = 10 * 320 * 1024
"""Each chunk of an upload session: a multiple of 320 KiB, as Graph requires."""
PERMISSIONS = Permissions(application="Files.ReadWrite.All", delegated="Files.ReadWrite")
NOT_FOUND = (
    "Check the path (from the drive's root, e.g. Reports/2026/q1.pdf) or the item id, and the user or drive id; "
    "the user must have a OneDrive (they have signed in to it once)."
)


class OneDriveFileParameters(GraphParameters):
    operation: Operation = param(
        "list",
        title="Operation",
        description="list: one item per file and folder in a folder; upload a file of the item; download one into "
        "the item; create_folder; move (or rename) one; delete one; share: create a sharing link.",
        no_expressions=True,
    )
    drive: Literal["user", "drive_id"] = param(
        "user",
        title="Drive",
        description="user: a user's OneDrive; drive_id: a drive by its id (a SharePoint document library: "
        "GET /sites/{site-id}/drives lists them).",
        no_expressions=True,
    )
    user: str = user_field("OneDrive", show_if={"drive": ["user"]})
    drive_id: str = param("", title="Drive ID", placeholder="b!…", show_if={"drive": ["drive_id"]})
    locate_by: Literal["path", "id"] = param(
        "path",
        title="Find by",
        description="Name files and folders by their path from the drive's root, or by their item id.",
        no_expressions=True,
    )
    path: str = param(
        "",
        title="Path",
        description="list, upload, create_folder: the folder (empty: the drive's root); download, move, delete, "
        "share: the file or folder.",
        placeholder="Reports/2026",
        show_if={"locate_by": ["path"]},
    )
    item_id: str = param(
        "",
        title="Item ID",
        description="list, upload, create_folder: the folder's id; download, move, delete, share: the file's or "
        "folder's id.",
        placeholder="{{ $json.id }}",
        show_if={"locate_by": ["id"]},
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="upload: the item's file to send; download: where the file goes.",
        show_if={"operation": ["upload", "download"]},
        min_length=1,
    )
    file_name: str = param(
        "",
        title="File name",
        description="The uploaded file's name; empty: the binary file's own name.",
        show_if={"operation": ["upload"]},
    )
    folder_name: str = param("", title="Folder name", show_if={"operation": ["create_folder"]})
    conflict_behavior: Literal["fail", "replace", "rename"] = param(
        "fail",
        title="If the name exists",
        description="fail: stop with an error; replace: overwrite it; rename: add a number to the new name.",
        show_if={"operation": ["upload", "create_folder"]},
    )
    destination_folder: str = param(
        "",
        title="Destination folder",
        description="The folder to move into: a path (/ for the root) or an id, as 'Find by' says; empty: stays "
        "where it is (rename only).",
        show_if={"operation": ["move"]},
    )
    new_name: str = param("", title="New name", description="Empty: keeps its name.", show_if={"operation": ["move"]})
    link_type: Literal["view", "edit"] = param("view", title="Link type", show_if={"operation": ["share"]})
    link_scope: Literal["anonymous", "organization"] = param(
        "organization",
        title="Who can use the link",
        description="anonymous: anyone with the link (if the organisation allows it); organization: people "
        "signed in to the organisation.",
        show_if={"operation": ["share"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' entries.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        100,
        title="Limit",
        description="At most this many files and folders per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> OneDriveFileParameters:
        if self.drive == "user":
            check_user(self.authentication, self.user)
        elif not self.drive_id.strip():
            raise ValueError("set the drive id, or pick the user's drive")
        if self.locate_by == "id" and not self.item_id.strip():
            raise ValueError(f"{self.operation} needs the item id")
        if self.locate_by == "path" and self.operation in ON_ITEM and not _clean(self.path):
            raise ValueError(f"{self.operation} needs the path of a file or folder (the root itself cannot be used)")
        if self.operation == "create_folder" and not self.folder_name.strip():
            raise ValueError("create_folder needs the folder name")
        if self.operation == "move" and not (self.destination_folder.strip() or self.new_name.strip()):
            raise ValueError("move needs a destination folder, a new name, or both")
        return self


def _clean(path: str) -> str:
    """A path from the drive's root without leading, trailing or doubled slashes."""
    return "/".join(part for part in path.strip().replace("\\", "/").split("/") if part)


@dataclass(frozen=True)
class _Address:
    """Where a drive item is in Graph's URL space: ``…/root``, ``…/root:/a/b`` or ``…/items/<id>``."""

    url: str
    by_path: bool

    def sub(self, name: str) -> str:
        """A sub-resource (``children``, ``content``...): a path address ends its path with a colon first."""
        return f"{self.url}:/{name}" if self.by_path else f"{self.url}/{name}"


def _address(drive: str, locate_by: str, path: str, item_id: str) -> _Address:
    if locate_by == "id":
        return _Address(f"{drive}/items/{segment(item_id)}", False)
    clean = _clean(path)
    return _Address(f"{drive}/root:/{quote(clean)}", True) if clean else _Address(f"{drive}/root", False)


def _child(drive: str, params: OneDriveFileParameters, name: str) -> _Address:
    """The address of ``name`` inside the folder the parameters point at."""
    if params.locate_by == "id":
        return _Address(f"{drive}/items/{segment(params.item_id)}:/{segment(name)}", True)
    clean = _clean(params.path)
    return _Address(f"{drive}/root:/{quote(f'{clean}/{name}' if clean else name)}", True)


class OneDriveFileNode(Node):
    type = "microsoft.onedrive_file"
    display_name = "Microsoft OneDrive File"
    category = Category.INTEGRATION
    description = "Lists, uploads, downloads, moves, renames, deletes or shares files and folders in OneDrive."
    icon = "cloud"
    Parameters = OneDriveFileParameters
    credentials = CREDENTIALS
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: OneDriveFileParameters = ctx.params(0)
        produced: list[Item] = []
        with GraphClient.for_node(ctx, first, permissions=PERMISSIONS, not_found=NOT_FOUND) as client:
            for index, item in enumerate(items):
                params: OneDriveFileParameters = ctx.params(index)
                produced.extend(_run(ctx, client, params, item, index))
        return [produced]


def _run(ctx: Context, client: GraphClient, params: OneDriveFileParameters, item: Item, index: int) -> list[Item]:
    drive = f"{user_base(params.user)}/drive" if params.drive == "user" else f"/drives/{segment(params.drive_id)}"
    target = _address(drive, params.locate_by, params.path, params.item_id)
    named = f"item {params.item_id.strip()}" if params.locate_by == "id" else f"'/{_clean(params.path)}'"
    match params.operation:
        case "list":
            found = client.paginate(
                target.sub("children"),
                f"listing the folder {named}",
                limit=None if params.return_all else params.limit,
                item_index=index,
            )
            return [Item(entry, paired_item=index) for entry in found]
        case "upload":
            return [Item(_upload(ctx, client, params, item, index, drive), paired_item=index)]
        case "download":
            metadata = client.request("GET", target.url, f"getting {named}", item_index=index)
            if "folder" in metadata:
                raise NodeError(
                    f"item {index}: {named} is a folder, which cannot be downloaded",
                    description="Point the node at a file; list the folder to find its files.",
                    item_index=index,
                )
            data = client.download(target.sub("content"), f"downloading {named}", item_index=index)
            name = str(metadata.get("name") or "file")
            mime = str((metadata.get("file") or {}).get("mimeType") or guess_mime_type(name))
            reference = ctx.store_binary(data, file_name=name, mime_type=mime)
            return [Item(metadata, binary={**item.binary, params.binary_property: reference}, paired_item=index)]
        case "create_folder":
            name = params.folder_name.strip()
            created = client.request(
                "POST",
                target.sub("children"),
                f"creating the folder {name!r} in {named}",
                item_index=index,
                json={"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": params.conflict_behavior},
            )
            return [Item(created, paired_item=index)]
        case "move":
            changes: dict[str, Any] = {}
            destination = params.destination_folder.strip()
            if destination:
                changes["parentReference"] = {"id": _folder_id(client, drive, params, destination, index)}
            if params.new_name.strip():
                changes["name"] = params.new_name.strip()
            moved = client.request("PATCH", target.url, f"moving {named}", item_index=index, json=changes)
            return [Item(moved, paired_item=index)]
        case "delete":
            client.request("DELETE", target.url, f"deleting {named}", item_index=index)
            gone = {"id": params.item_id.strip()} if params.locate_by == "id" else {"path": _clean(params.path)}
            return [Item({**gone, "deleted": True}, paired_item=index)]
        case "share":
            link = client.request(
                "POST",
                target.sub("createLink"),
                f"creating a {params.link_type} link to {named}",
                item_index=index,
                json={"type": params.link_type, "scope": params.link_scope},
            )
            return [Item(link, paired_item=index)]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _folder_id(client: GraphClient, drive: str, params: OneDriveFileParameters, destination: str, index: int) -> str:
    """The id of the destination folder: given, or looked up by its path (Graph moves items by parent id)."""
    if params.locate_by == "id":
        return destination
    folder = client.request(
        "GET",
        _address(drive, "path", destination, "").url,
        f"looking up the destination folder '/{_clean(destination)}'",
        item_index=index,
    )
    if "folder" not in folder:
        raise NodeError(
            f"item {index}: the destination '/{_clean(destination)}' is a file, not a folder",
            description="Set 'Destination folder' to a folder's path.",
            item_index=index,
        )
    return str(folder["id"])


def _upload(
    ctx: Context, client: GraphClient, params: OneDriveFileParameters, item: Item, index: int, drive: str
) -> dict[str, Any]:
    data, reference = read_input(ctx, item, params.binary_property, index)
    name = params.file_name.strip() or str(reference.get("file_name") or "").strip()
    if not name or "/" in name or "\\" in name:
        raise NodeError(
            f"item {index}: the uploaded file needs a name without slashes (got {name!r})",
            description="Set 'File name', e.g. report.pdf; put folders in 'Path'.",
            item_index=index,
        )
    destination = _child(drive, params, name)
    action = f"uploading {name!r}"
    if len(data) <= SIMPLE_UPLOAD_MAX_BYTES:
        return client.request(
            "PUT",
            destination.sub("content"),
            action,
            item_index=index,
            params={"@microsoft.graph.conflictBehavior": params.conflict_behavior},
            content=data,
            content_type=str(reference.get("mime_type") or guess_mime_type(name)),
        )
    return client.upload_session(
        destination.sub("createUploadSession"),
        {"@microsoft.graph.conflictBehavior": params.conflict_behavior, "name": name},
        data,
        action,
        chunk_bytes=UPLOAD_CHUNK_BYTES,
        item_index=index,
    )
