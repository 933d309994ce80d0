"""GitHub Issue: create, get, list, update, comment on, lock or unlock the issues of a repository."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.github._client import GithubClient, names, repo_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "list", "update", "create_comment", "lock", "unlock"]
BY_NUMBER = ("get", "update", "create_comment", "lock", "unlock")


class GithubIssueParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an issue per item; get one; list: one item per issue; update one; "
        "create_comment on one; lock or unlock its conversation. GitHub lists pull requests as issues too "
        "(they have a pull_request field).",
        no_expressions=True,
    )
    owner: str = param(
        title="Owner", description="The user or organisation the repository belongs to.", placeholder="octocat"
    )
    repository: str = param(title="Repository", description="The repository's name.", placeholder="hello-world")
    issue_number: int = param(
        0,
        title="Issue number",
        description="The number shown after # on GitHub.",
        placeholder="{{ $json.number }}",
        show_if={"operation": BY_NUMBER},
        ge=0,
    )
    title: str = param(
        "",
        title="Title",
        description="update: empty keeps the current title.",
        show_if={"operation": ["create", "update"]},
    )
    body: str = param(
        "",
        title="Body",
        description="In GitHub Markdown; update: empty keeps the current body.",
        widget="textarea",
        show_if={"operation": ["create", "update"]},
    )
    labels: list[str] = param(
        default_factory=list,
        title="Labels",
        description="Label names (a list, or text separated by commas); update: empty keeps the current labels, "
        "otherwise they replace them.",
        show_if={"operation": ["create", "update"]},
    )
    assignees: list[str] = param(
        default_factory=list,
        title="Assignees",
        description="GitHub logins of people who can be assigned in the repository; update: empty keeps the "
        "current ones, otherwise they replace them.",
        show_if={"operation": ["create", "update"]},
    )
    new_state: Literal["unchanged", "open", "closed"] = param(
        "unchanged", title="State", description="Close or reopen the issue.", show_if={"operation": ["update"]}
    )
    comment: str = param(
        "",
        title="Comment",
        description="In GitHub Markdown.",
        widget="textarea",
        show_if={"operation": ["create_comment"]},
    )
    lock_reason: Literal["none", "off-topic", "too heated", "resolved", "spam"] = param(
        "none", title="Lock reason", show_if={"operation": ["lock"]}
    )
    state: Literal["open", "closed", "all"] = param("open", title="State", show_if={"operation": ["list"]})
    label_filter: list[str] = param(
        default_factory=list,
        title="With labels",
        description="Only issues that have every one of these labels; empty: any.",
        show_if={"operation": ["list"]},
    )
    sort: Literal["created", "updated", "comments"] = param("created", title="Sort by", show_if={"operation": ["list"]})
    direction: Literal["desc", "asc"] = param("desc", title="Direction", show_if={"operation": ["list"]})
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' issues.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many issues per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )

    @field_validator("labels", "assignees", "label_filter", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return names(value)

    @model_validator(mode="after")
    def _needs(self) -> GithubIssueParameters:
        if not self.owner.strip() or not self.repository.strip():
            raise ValueError("the owner and the repository are required")
        if self.operation in BY_NUMBER and self.issue_number < 1:
            raise ValueError(f"{self.operation} needs the issue number")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs a title")
        if self.operation == "create_comment" and not self.comment.strip():
            raise ValueError("create_comment needs the comment's text")
        return self


class GithubIssueNode(Node):
    type = "github.issue"
    display_name = "GitHub Issue"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, comments on, locks or unlocks GitHub issues."
    icon = "circle-dot"
    Parameters = GithubIssueParameters
    credentials = (CredentialRequirement("github_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with GithubClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: GithubIssueParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: GithubClient, params: GithubIssueParameters, index: int) -> list[dict[str, Any]]:
    repo = f"{params.owner.strip()}/{params.repository.strip()}"
    number = params.issue_number
    issue = repo_path(params.owner, params.repository, "issues", number)
    match params.operation:
        case "create":
            body: dict[str, Any] = {"title": params.title, "body": params.body}
            if params.labels:
                body["labels"] = params.labels
            if params.assignees:
                body["assignees"] = params.assignees
            path = repo_path(params.owner, params.repository, "issues")
            return [client.request("POST", path, f"creating an issue in {repo}", item_index=index, json=body)]
        case "get":
            return [client.request("GET", issue, f"getting issue #{number} of {repo}", item_index=index)]
        case "list":
            query: dict[str, Any] = {"state": params.state, "sort": params.sort, "direction": params.direction}
            if params.label_filter:
                query["labels"] = ",".join(params.label_filter)
            return client.paginate(
                repo_path(params.owner, params.repository, "issues"),
                f"listing the issues of {repo}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            changes: dict[str, Any] = {}
            if params.title.strip():
                changes["title"] = params.title
            if params.body.strip():
                changes["body"] = params.body
            if params.labels:
                changes["labels"] = params.labels
            if params.assignees:
                changes["assignees"] = params.assignees
            if params.new_state != "unchanged":
                changes["state"] = params.new_state
            return [
                client.request("PATCH", issue, f"updating issue #{number} of {repo}", item_index=index, json=changes)
            ]
        case "create_comment":
            return [
                client.request(
                    "POST",
                    f"{issue}/comments",
                    f"commenting on issue #{number} of {repo}",
                    item_index=index,
                    json={"body": params.comment},
                )
            ]
        case "lock":
            reason = {} if params.lock_reason == "none" else {"lock_reason": params.lock_reason}
            client.request("PUT", f"{issue}/lock", f"locking issue #{number} of {repo}", item_index=index, json=reason)
            return [{"number": number, "repository": repo, "locked": True, "lock_reason": reason.get("lock_reason")}]
        case "unlock":
            client.request("DELETE", f"{issue}/lock", f"unlocking issue #{number} of {repo}", item_index=index)
            return [{"number": number, "repository": repo, "locked": False}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
