"""Google Drive: list files (in a folder, by name or query), upload a file of the item, download one, delete one."""

from __future__ import annotations

import io
from typing import Any, Literal

from googleapiclient.http import MediaIoBaseUpload
from pydantic import model_validator

from nodes.files._common import guess_mime_type, read_input
from nodes.google._api import execute
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

FILE_FIELDS = "id, name, mimeType, size, modifiedTime, parents, webViewLink"
GOOGLE_APPS = "application/vnd.google-apps."
MAX_PAGE = 1000


def _quoted(value: str) -> str:
    """A value inside a Drive query's single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DriveParameters(Parameters):
    operation: Literal["list", "upload", "download", "delete"] = param(
        "list",
        title="Operation",
        description="list: one item per file; upload a file of the item; download a file into the item; delete one.",
        no_expressions=True,
    )
    folder_id: str = param(
        "",
        title="Folder id",
        description="list: only files in this folder; upload: into this folder (shared with the service account). "
        "Empty: the service account's own Drive.",
        show_if={"operation": ["list", "upload"]},
    )
    name_contains: str = param("", title="Name contains", show_if={"operation": ["list"]})
    query: str = param(
        "",
        title="Search query",
        description="More conditions in Drive's query language, e.g. mimeType = 'application/pdf'.",
        show_if={"operation": ["list"]},
        advanced=True,
    )
    include_trashed: bool = param(False, title="Include trashed files", show_if={"operation": ["list"]}, advanced=True)
    limit: int = param(100, title="At most", show_if={"operation": ["list"]}, ge=1, le=100_000)
    binary_property: str = param(
        "data",
        title="Binary property",
        description="upload: the item's file to send; download: where the file goes.",
        show_if={"operation": ["upload", "download"]},
        min_length=1,
    )
    file_name: str = param(
        "", title="File name", description="Empty: the file's own name.", show_if={"operation": ["upload"]}
    )
    file_id: str = param(
        "", title="File id", placeholder="{{ $json.id }}", show_if={"operation": ["download", "delete"]}
    )
    permanently: bool = param(
        False,
        title="Delete permanently",
        description="Otherwise the file goes to the trash, where it can be restored for 30 days.",
        show_if={"operation": ["delete"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> DriveParameters:
        if self.operation in ("download", "delete") and not self.file_id.strip():
            raise ValueError(f"{self.operation} needs a file id")
        return self


def _file(data: dict[str, Any]) -> dict[str, Any]:
    """A Drive file resource with its size as a number (the API sends text)."""
    result = dict(data)
    if "size" in result:
        result["size"] = int(result["size"])
    return result


class DriveNode(Node):
    type = "google.drive"
    display_name = "Google Drive"
    category = Category.INTEGRATION
    description = "Lists, uploads, downloads or deletes files in Google Drive, per item."
    icon = "hard-drive"
    Parameters = DriveParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "drive", "v3")
        files = service.files()
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: DriveParameters = ctx.params(index)
            match params.operation:
                case "list":
                    produced.extend(Item(entry, paired_item=index) for entry in _list(files, fields, params, index))
                case "upload":
                    produced.append(_upload(ctx, files, fields, params, item, index))
                case "download":
                    produced.append(_download(ctx, files, fields, params, item, index))
                case "delete":
                    produced.append(_delete(files, fields, params, index))
        return [produced]


def _list(files: Any, fields: GoogleServiceAccountFields, params: DriveParameters, index: int) -> list[dict[str, Any]]:
    conditions = [] if params.include_trashed else ["trashed = false"]
    if params.folder_id.strip():
        conditions.append(f"{_quoted(params.folder_id.strip())} in parents")
    if params.name_contains:
        conditions.append(f"name contains {_quoted(params.name_contains)}")
    if params.query.strip():
        conditions.append(f"({params.query.strip()})")
    found: list[dict[str, Any]] = []
    token: str | None = None
    while len(found) < params.limit:
        request = files.list(
            q=" and ".join(conditions) or None,
            pageSize=min(MAX_PAGE, params.limit - len(found)),
            pageToken=token,
            fields=f"nextPageToken, files({FILE_FIELDS})",
            supportsAllDrives=True,
            includeItemsFromAllDrives=True,
        )
        answer = execute(request, fields, "listing files", index)
        found.extend(_file(entry) for entry in answer.get("files", []))
        token = answer.get("nextPageToken")
        if not token:
            break
    return found[: params.limit]


def _upload(
    ctx: Context, files: Any, fields: GoogleServiceAccountFields, params: DriveParameters, item: Item, index: int
) -> Item:
    data, reference = read_input(ctx, item, params.binary_property, index)
    name = params.file_name.strip() or str(reference.get("file_name") or params.binary_property)
    mime_type = str(reference.get("mime_type") or guess_mime_type(name))
    metadata: dict[str, Any] = {"name": name}
    if params.folder_id.strip():
        metadata["parents"] = [params.folder_id.strip()]
    request = files.create(
        body=metadata,
        media_body=MediaIoBaseUpload(io.BytesIO(data), mimetype=mime_type, resumable=False),
        fields=FILE_FIELDS,
        supportsAllDrives=True,
    )
    uploaded = execute(request, fields, f"uploading {name!r}", index)
    return Item(_file(uploaded), binary=item.binary, paired_item=index)


def _download(
    ctx: Context, files: Any, fields: GoogleServiceAccountFields, params: DriveParameters, item: Item, index: int
) -> Item:
    file_id = params.file_id.strip()
    request = files.get(fileId=file_id, fields=FILE_FIELDS, supportsAllDrives=True)
    metadata = _file(execute(request, fields, f"reading file {file_id}", index))
    if str(metadata.get("mimeType", "")).startswith(GOOGLE_APPS):
        raise NodeError(
            f"item {index}: {metadata.get('name')!r} is a Google {metadata['mimeType'].removeprefix(GOOGLE_APPS)}, "
            "which has no file to download",
            description="Download stored files (PDFs, images, uploads); read spreadsheets with the Google Sheets node.",
            item_index=index,
        )
    content = execute(files.get_media(fileId=file_id, supportsAllDrives=True), fields, f"downloading {file_id}", index)
    name = str(metadata.get("name") or file_id)
    mime_type = str(metadata.get("mimeType") or guess_mime_type(name))
    stored = ctx.store_binary(content, file_name=name, mime_type=mime_type)
    return Item(
        {**item.json, "drive": metadata}, binary={**item.binary, params.binary_property: stored}, paired_item=index
    )


def _delete(files: Any, fields: GoogleServiceAccountFields, params: DriveParameters, index: int) -> Item:
    file_id = params.file_id.strip()
    if params.permanently:
        execute(files.delete(fileId=file_id, supportsAllDrives=True), fields, f"deleting file {file_id}", index)
    else:
        request = files.update(fileId=file_id, body={"trashed": True}, fields="id", supportsAllDrives=True)
        execute(request, fields, f"moving file {file_id} to the trash", index)
    return Item({"file_id": file_id, "deleted": True, "trashed": not params.permanently}, paired_item=index)
