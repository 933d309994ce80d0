"""GitHub Repository: get a repository, list the repositories of the token's user or of an organisation,
or list a repository's branches or tags."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import model_validator

from nodes.github._client import GithubClient, repo_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["get", "list", "list_branches", "list_tags"]
ONE_REPOSITORY = ("get", "list_branches", "list_tags")
LISTS = ("list", "list_branches", "list_tags")


class GithubRepositoryParameters(Parameters):
    operation: Operation = param(
        "get",
        title="Operation",
        description="get one repository; list repositories (one item each); list_branches or list_tags of one.",
        no_expressions=True,
    )
    owner: str = param(
        "",
        title="Owner",
        description="The user or organisation the repository belongs to.",
        placeholder="octocat",
        show_if={"operation": ONE_REPOSITORY},
    )
    repository: str = param(
        "",
        title="Repository",
        description="The repository's name.",
        placeholder="hello-world",
        show_if={"operation": ONE_REPOSITORY},
    )
    list_of: Literal["user", "organization"] = param(
        "user",
        title="Repositories of",
        description="user: those the token's user can reach (own, collaborator, member); organization: "
        "an organisation's.",
        show_if={"operation": ["list"]},
        no_expressions=True,
    )
    organization: str = param(
        "",
        title="Organisation",
        description="The organisation's login.",
        placeholder="github",
        show_if={"operation": ["list"], "list_of": ["organization"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' entries.",
        show_if={"operation": LISTS},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many entries per item.",
        show_if={"operation": LISTS, "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> GithubRepositoryParameters:
        if self.operation in ONE_REPOSITORY and (not self.owner.strip() or not self.repository.strip()):
            raise ValueError(f"{self.operation} needs the owner and the repository")
        if self.operation == "list" and self.list_of == "organization" and not self.organization.strip():
            raise ValueError("list needs the organisation's login")
        return self


class GithubRepositoryNode(Node):
    type = "github.repository"
    display_name = "GitHub Repository"
    category = Category.INTEGRATION
    description = "Gets a GitHub repository, lists repositories, or lists a repository's branches or tags."
    icon = "folder-git-2"
    Parameters = GithubRepositoryParameters
    credentials = (CredentialRequirement("github_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with GithubClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: GithubRepositoryParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: GithubClient, params: GithubRepositoryParameters, index: int) -> list[dict[str, Any]]:
    repo = f"{params.owner.strip()}/{params.repository.strip()}"
    limit = None if params.return_all else params.limit
    match params.operation:
        case "get":
            path = repo_path(params.owner, params.repository)
            return [client.request("GET", path, f"getting repository {repo}", item_index=index)]
        case "list":
            if params.list_of == "organization":
                org = params.organization.strip()
                path, action = f"/orgs/{quote(org, safe='')}/repos", f"listing the repositories of {org}"
            else:
                path, action = "/user/repos", "listing the token user's repositories"
            return client.paginate(path, action, limit=limit, item_index=index)
        case "list_branches":
            path = repo_path(params.owner, params.repository, "branches")
            return client.paginate(path, f"listing the branches of {repo}", limit=limit, item_index=index)
        case "list_tags":
            path = repo_path(params.owner, params.repository, "tags")
            return client.paginate(path, f"listing the tags of {repo}", limit=limit, item_index=index)
    raise AssertionError(f"unhandled operation {params.operation!r}")
