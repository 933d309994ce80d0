"""GitHub Release: create, get (by id or the latest), list, update or delete the releases of a repository."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from nodes.github._client import GithubClient, repo_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "list", "update", "delete"]
Flag = Literal["unchanged", "yes", "no"]


class GithubReleaseParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a release per item; get one; list: one item per release; update or delete one.",
        no_expressions=True,
    )
    owner: str = param(
        title="Owner", description="The user or organisation the repository belongs to.", placeholder="octocat"
    )
    repository: str = param(title="Repository", description="The repository's name.", placeholder="hello-world")
    get_by: Literal["id", "latest"] = param(
        "id",
        title="Get",
        description="id: the release with this id; latest: the newest published release (not a draft or prerelease).",
        show_if={"operation": ["get"]},
        no_expressions=True,
    )
    release_id: int = param(
        0,
        title="Release id",
        description="The release's numeric id, as create and list output it.",
        placeholder="{{ $json.id }}",
        show_if={"operation": ["get", "update", "delete"]},
        ge=0,
    )
    tag_name: str = param(
        "",
        title="Tag",
        description="The release's tag, e.g. v1.2.0; created from the target when it does not exist. "
        "update: empty keeps the current tag.",
        show_if={"operation": ["create", "update"]},
    )
    target_commitish: str = param(
        "",
        title="Target",
        description="A branch or commit sha to tag when the tag does not exist; empty: the default branch.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    name: str = param(
        "",
        title="Name",
        description="The release's title; update: empty keeps the current one.",
        show_if={"operation": ["create", "update"]},
    )
    body: str = param(
        "",
        title="Notes",
        description="The release notes, in GitHub Markdown; update: empty keeps the current notes.",
        widget="textarea",
        show_if={"operation": ["create", "update"]},
    )
    draft: bool = param(False, title="Draft", description="Save it unpublished.", show_if={"operation": ["create"]})
    prerelease: bool = param(
        False, title="Prerelease", description="Mark it as not ready for production.", show_if={"operation": ["create"]}
    )
    set_draft: Flag = param(
        "unchanged",
        title="Draft",
        description="yes: unpublish it; no: publish a draft.",
        show_if={"operation": ["update"]},
    )
    set_prerelease: Flag = param("unchanged", title="Prerelease", show_if={"operation": ["update"]})
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' releases.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many releases per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> GithubReleaseParameters:
        if not self.owner.strip() or not self.repository.strip():
            raise ValueError("the owner and the repository are required")
        by_id = self.operation in ("update", "delete") or (self.operation == "get" and self.get_by == "id")
        if by_id and self.release_id < 1:
            raise ValueError(f"{self.operation} needs the release id")
        if self.operation == "create" and not self.tag_name.strip():
            raise ValueError("create needs a tag")
        return self


class GithubReleaseNode(Node):
    type = "github.release"
    display_name = "GitHub Release"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes releases of a GitHub repository."
    icon = "tag"
    Parameters = GithubReleaseParameters
    credentials = (CredentialRequirement("github_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with GithubClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: GithubReleaseParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: GithubClient, params: GithubReleaseParameters, index: int) -> list[dict[str, Any]]:
    repo = f"{params.owner.strip()}/{params.repository.strip()}"
    releases = repo_path(params.owner, params.repository, "releases")
    one = f"{releases}/{params.release_id}"
    match params.operation:
        case "create":
            body: dict[str, Any] = {
                "tag_name": params.tag_name.strip(),
                "body": params.body,
                "draft": params.draft,
                "prerelease": params.prerelease,
            }
            if params.name.strip():
                body["name"] = params.name
            if params.target_commitish.strip():
                body["target_commitish"] = params.target_commitish.strip()
            action = f"creating release {params.tag_name.strip()} of {repo}"
            return [client.request("POST", releases, action, item_index=index, json=body)]
        case "get":
            if params.get_by == "latest":
                action = f"getting the latest release of {repo}"
                return [client.request("GET", f"{releases}/latest", action, item_index=index)]
            action = f"getting release {params.release_id} of {repo}"
            return [client.request("GET", one, action, item_index=index)]
        case "list":
            limit = None if params.return_all else params.limit
            return client.paginate(releases, f"listing the releases of {repo}", limit=limit, item_index=index)
        case "update":
            changes: dict[str, Any] = {}
            for key in ("tag_name", "name", "body"):
                value = getattr(params, key)
                if value.strip():
                    changes[key] = value.strip() if key == "tag_name" else value
            if params.set_draft != "unchanged":
                changes["draft"] = params.set_draft == "yes"
            if params.set_prerelease != "unchanged":
                changes["prerelease"] = params.set_prerelease == "yes"
            action = f"updating release {params.release_id} of {repo}"
            return [client.request("PATCH", one, action, item_index=index, json=changes)]
        case "delete":
            client.request("DELETE", one, f"deleting release {params.release_id} of {repo}", item_index=index)
            return [{"id": params.release_id, "repository": repo, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
