"""GitHub File: get a file's contents (as text or a file), create or update one, delete one, or list a folder."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import quote

from pydantic import model_validator

from nodes.files._common import guess_mime_type, read_input
from nodes.github._client import GithubClient, repo_path
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

Operation = Literal["get", "create_or_update", "delete", "list"]


class GithubFileParameters(Parameters):
    operation: Operation = param(
        "get",
        title="Operation",
        description="get a file's contents; create_or_update a file per item (one commit each); delete a file; "
        "list: one item per entry of a folder.",
        no_expressions=True,
    )
    owner: str = param(
        title="Owner", description="The user or organisation the repository belongs to.", placeholder="octocat"
    )
    repository: str = param(title="Repository", description="The repository's name.", placeholder="hello-world")
    path: str = param(
        "",
        title="Path",
        description="The file's path in the repository, e.g. docs/README.md; list: a folder, empty for the top.",
        placeholder="docs/README.md",
    )
    branch: str = param(
        "",
        title="Branch",
        description="get and list: a branch, tag or commit sha; writes: the branch to commit to. "
        "Empty: the default branch.",
    )
    output: Literal["json", "binary"] = param(
        "json",
        title="Put the contents in",
        description="json: the text in the item's content field; binary: the file in the item's binary property.",
        show_if={"operation": ["get"]},
        no_expressions=True,
    )
    content_source: Literal["text", "binary"] = param(
        "text",
        title="Contents from",
        description="text: the text below; binary: a file of the item.",
        show_if={"operation": ["create_or_update"]},
        no_expressions=True,
    )
    content: str = param(
        "",
        title="Contents",
        description="The file's new text, saved as UTF-8.",
        widget="textarea",
        show_if={"operation": ["create_or_update"], "content_source": ["text"]},
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="get: where the file goes; create_or_update: the item's file to commit.",
        show_if={"operation": ["get", "create_or_update"]},
        min_length=1,
    )
    commit_message: str = param(
        "",
        title="Commit message",
        description="Empty: 'Create <path>', 'Update <path>' or 'Delete <path>'.",
        show_if={"operation": ["create_or_update", "delete"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> GithubFileParameters:
        if not self.owner.strip() or not self.repository.strip():
            raise ValueError("the owner and the repository are required")
        if self.operation != "list" and not self.path.strip("/ "):
            raise ValueError(f"{self.operation} needs the file's path")
        return self

    def contents_path(self) -> str:
        return repo_path(self.owner, self.repository, "contents") + "/" + quote(self.path.strip("/ "), safe="/")

    def ref(self) -> dict[str, str]:
        return {"ref": self.branch.strip()} if self.branch.strip() else {}

    def where(self) -> str:
        return f"{self.path.strip('/ ') or '/'} in {self.owner.strip()}/{self.repository.strip()}"


class GithubFileNode(Node):
    type = "github.file"
    display_name = "GitHub File"
    category = Category.INTEGRATION
    description = "Gets, creates, updates or deletes a file in a GitHub repository, or lists a folder."
    icon = "file-code"
    Parameters = GithubFileParameters
    credentials = (CredentialRequirement("github_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with GithubClient.for_node(ctx) as client:
            for index, item in enumerate(items):
                params: GithubFileParameters = ctx.params(index)
                match params.operation:
                    case "get":
                        produced.append(_get(ctx, client, params, item, index))
                    case "create_or_update":
                        produced.append(Item(_write(ctx, client, params, item, index), paired_item=index))
                    case "delete":
                        produced.append(Item(_delete(client, params, index), paired_item=index))
                    case "list":
                        produced.extend(Item(entry, paired_item=index) for entry in _list(client, params, index))
        return [produced]


def _metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in ("content", "encoding", "_links")}


def _get(ctx: Context, client: GithubClient, params: GithubFileParameters, item: Item, index: int) -> Item:
    action = f"getting {params.where()}"
    answer = client.request("GET", params.contents_path(), action, item_index=index, params=params.ref())
    if not isinstance(answer, dict) or answer.get("type") != "file":
        kind = "a folder" if isinstance(answer, list) else f"a {answer.get('type', 'different')} entry"
        raise NodeError(
            f"item {index}: {params.where()} is {kind}, not a file",
            description="Use the list operation for a folder, or check the path.",
            item_index=index,
        )
    if answer.get("encoding") == "base64":
        try:
            data = base64.b64decode(answer.get("content") or "")
        except (binascii.Error, ValueError) as err:
            raise NodeError(
                f"item {index}: GitHub sent contents of {params.where()} that are not base64",
                description="Check the credential's API URL: it must be GitHub's REST API.",
                item_index=index,
            ) from err
    else:
        # Files over 1 MB come without their contents; the raw media type brings them.
        data = client.raw(params.contents_path(), action, item_index=index, params=params.ref())
    metadata = _metadata(answer)
    if params.output == "binary":
        name = str(answer.get("name") or params.path.rsplit("/", 1)[-1])
        stored = ctx.store_binary(data, file_name=name, mime_type=guess_mime_type(name))
        return Item(metadata, binary={**item.binary, params.binary_property: stored}, paired_item=index)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NodeError(
            f"item {index}: {params.where()} is not UTF-8 text (byte {err.start})",
            description="Set 'Put the contents in' to binary to get it as a file.",
            item_index=index,
        ) from err
    return Item({**metadata, "content": text}, paired_item=index)


def _current_sha(client: GithubClient, params: GithubFileParameters, action: str, index: int) -> str | None:
    """The sha of the file now at the path (GitHub needs it to replace or delete it), or ``None``."""
    answer = client.request(
        "GET", params.contents_path(), action, item_index=index, params=params.ref(), tolerate=(404,)
    )
    if answer is None:
        return None
    if not isinstance(answer, dict) or answer.get("type") != "file":
        raise NodeError(
            f"item {index}: {params.where()} is a folder or another kind of entry, not a file",
            description="Check the path: it must name a file.",
            item_index=index,
        )
    return str(answer["sha"])


def _write(ctx: Context, client: GithubClient, params: GithubFileParameters, item: Item, index: int) -> dict[str, Any]:
    if params.content_source == "binary":
        data, _ = read_input(ctx, item, params.binary_property, index)
    else:
        data = params.content.encode("utf-8")
    sha = _current_sha(client, params, f"looking up {params.where()}", index)
    path = params.path.strip("/ ")
    body: dict[str, Any] = {
        "message": params.commit_message.strip() or f"{'Update' if sha else 'Create'} {path}",
        "content": base64.b64encode(data).decode("ascii"),
    }
    if params.branch.strip():
        body["branch"] = params.branch.strip()
    if sha:
        body["sha"] = sha
    action = f"{'updating' if sha else 'creating'} {params.where()}"
    answer = client.request("PUT", params.contents_path(), action, item_index=index, json=body)
    return {"created": sha is None, **answer}


def _delete(client: GithubClient, params: GithubFileParameters, index: int) -> dict[str, Any]:
    sha = _current_sha(client, params, f"looking up {params.where()}", index)
    if sha is None:
        raise NodeError(
            f"item {index}: there is no file {params.where()}"
            + (f" on branch {params.branch.strip()!r}" if params.branch.strip() else ""),
            description="Check the owner, the repository, the path (it is case-sensitive) and the branch.",
            item_index=index,
        )
    path = params.path.strip("/ ")
    body: dict[str, Any] = {"message": params.commit_message.strip() or f"Delete {path}", "sha": sha}
    if params.branch.strip():
        body["branch"] = params.branch.strip()
    answer = client.request("DELETE", params.contents_path(), f"deleting {params.where()}", item_index=index, json=body)
    return {"path": path, "deleted": True, "commit": answer.get("commit")}


def _list(client: GithubClient, params: GithubFileParameters, index: int) -> list[dict[str, Any]]:
    path = repo_path(params.owner, params.repository, "contents")
    if params.path.strip("/ "):
        path += "/" + quote(params.path.strip("/ "), safe="/")
    answer = client.request("GET", path, f"listing {params.where()}", item_index=index, params=params.ref())
    if not isinstance(answer, list):
        raise NodeError(
            f"item {index}: {params.where()} is a file, not a folder",
            description="Use the get operation for a file, or check the path.",
            item_index=index,
        )
    return [_metadata(entry) for entry in answer]
