"""Jira Comment: add, get, list, update or delete the comments of a Jira Cloud issue."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from nodes.jira._client import JiraClient, adf, issue_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["add", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")


class JiraCommentParameters(Parameters):
    operation: Operation = param(
        "add",
        title="Operation",
        description="add a comment per item; get one; get_many: one item per comment of the issue; update one; "
        "delete one.",
        no_expressions=True,
    )
    issue_key: str = param(
        title="Issue key",
        description="The issue's key (PROJ-123) or numeric id.",
        placeholder="{{ $json.key }}",
    )
    comment_id: str = param(
        "",
        title="Comment id",
        description="The comment's numeric id, as add or get_many returned it.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    body: str = param(
        "",
        title="Comment",
        description="Plain text; blank lines separate paragraphs.",
        widget="textarea",
        show_if={"operation": ["add", "update"]},
    )
    order_by: Literal["created", "-created"] = param(
        "created",
        title="Order",
        description="created: oldest first; -created: newest first.",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' comments.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many comments per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> JiraCommentParameters:
        if not self.issue_key.strip():
            raise ValueError("the issue key is required")
        if self.operation in BY_ID and not self.comment_id.strip():
            raise ValueError(f"{self.operation} needs the comment id")
        if self.operation in ("add", "update") and not self.body.strip():
            raise ValueError(f"{self.operation} needs the comment's text")
        return self


class JiraCommentNode(Node):
    type = "jira.comment"
    display_name = "Jira Comment"
    category = Category.INTEGRATION
    description = "Adds, gets, lists, updates or deletes comments on Jira Cloud issues."
    icon = "message-square-plus"
    Parameters = JiraCommentParameters
    credentials = (CredentialRequirement("jira_cloud_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with JiraClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: JiraCommentParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: JiraClient, params: JiraCommentParameters, index: int) -> list[dict[str, Any]]:
    key = params.issue_key.strip()
    comment_id = params.comment_id.strip()
    comments = issue_path(key, "comment")
    one = issue_path(key, "comment", comment_id)
    match params.operation:
        case "add":
            body = {"body": adf(params.body)}
            return [client.request("POST", comments, f"commenting on issue {key}", item_index=index, json=body)]
        case "get":
            return [client.request("GET", one, f"getting comment {comment_id} of issue {key}", item_index=index)]
        case "get_many":
            return client.paginate(
                comments,
                "comments",
                f"listing the comments of issue {key}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params={"orderBy": params.order_by},
            )
        case "update":
            body = {"body": adf(params.body)}
            action = f"updating comment {comment_id} of issue {key}"
            return [client.request("PUT", one, action, item_index=index, json=body)]
        case "delete":
            client.request("DELETE", one, f"deleting comment {comment_id} of issue {key}", item_index=index)
            return [{"issue_key": key, "id": comment_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
