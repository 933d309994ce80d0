"""GitLab Issue: create, get, list, update, delete or comment on the issues of a project."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.gitlab._client import GitlabClient, due_date, names, project_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete", "create_note"]
BY_IID = ("get", "update", "delete", "create_note")
WRITES = ("create", "update")


class GitlabIssueParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an issue per item; get one; get_many: one item per issue; update one; delete one; "
        "create_note: comment on one.",
        no_expressions=True,
    )
    project: str = param(
        title="Project",
        description="The project's numeric id or its full path.",
        placeholder="my-group/my-project",
    )
    issue_iid: int = param(
        0,
        title="Issue IID",
        description="The number shown after # in the project (not the global id).",
        placeholder="{{ $json.iid }}",
        show_if={"operation": BY_IID},
        ge=0,
    )
    title: str = param(
        "", title="Title", description="update: empty keeps the current title.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="In GitLab Markdown; update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    labels: list[str] = param(
        default_factory=list,
        title="Labels",
        description="Label names (a list, or text separated by commas); unknown labels are created. "
        "update: empty keeps the current labels, otherwise they replace them.",
        show_if={"operation": WRITES},
    )
    assignee_ids: list[int] = param(
        default_factory=list,
        title="Assignee ids",
        description="Numeric user ids (a list, or text separated by commas); update: empty keeps the current ones.",
        show_if={"operation": WRITES},
    )
    due_date: str = param(
        "",
        title="Due date",
        description="YYYY-MM-DD; update: empty keeps the current one.",
        placeholder="2026-12-31",
        show_if={"operation": WRITES},
    )
    confidential: bool = param(
        False,
        title="Confidential",
        description="Only its author, its assignees and members with at least the Planner role can see it.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    state_event: Literal["unchanged", "close", "reopen"] = param(
        "unchanged", title="State", description="Close or reopen the issue.", show_if={"operation": ["update"]}
    )
    note: str = param(
        "",
        title="Comment",
        description="In GitLab Markdown.",
        widget="textarea",
        show_if={"operation": ["create_note"]},
    )
    state: Literal["opened", "closed", "all"] = param("opened", title="State", show_if={"operation": ["get_many"]})
    label_filter: list[str] = param(
        default_factory=list,
        title="With labels",
        description="Only issues that have every one of these labels; empty: any.",
        show_if={"operation": ["get_many"]},
    )
    search: str = param(
        "",
        title="Search",
        description="Only issues whose title or description contains this text.",
        show_if={"operation": ["get_many"]},
    )
    order_by: Literal["created_at", "updated_at", "priority", "due_date"] = param(
        "created_at", title="Sort by", show_if={"operation": ["get_many"]}
    )
    sort: Literal["desc", "asc"] = param("desc", title="Direction", show_if={"operation": ["get_many"]})
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' issues.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many issues per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("labels", "assignee_ids", "label_filter", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return names(value)

    @field_validator("due_date")
    @classmethod
    def _date(cls, value: str) -> str:
        return due_date(value)

    @model_validator(mode="after")
    def _needs(self) -> GitlabIssueParameters:
        if not self.project.strip().strip("/"):
            raise ValueError("the project is required")
        if self.operation in BY_IID and self.issue_iid < 1:
            raise ValueError(f"{self.operation} needs the issue IID")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs a title")
        if self.operation == "create_note" and not self.note.strip():
            raise ValueError("create_note needs the comment's text")
        return self


class GitlabIssueNode(Node):
    type = "gitlab.issue"
    display_name = "GitLab Issue"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, deletes or comments on GitLab issues."
    icon = "circle-dot-dashed"
    Parameters = GitlabIssueParameters
    credentials = (CredentialRequirement("gitlab_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with GitlabClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: GitlabIssueParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _fields(params: GitlabIssueParameters) -> dict[str, Any]:
    """The fields to send on create or update; empty ones are left out so an update keeps them."""
    fields: dict[str, Any] = {}
    if params.title.strip():
        fields["title"] = params.title
    if params.description.strip():
        fields["description"] = params.description
    if params.labels:
        fields["labels"] = ",".join(params.labels)
    if params.assignee_ids:
        fields["assignee_ids"] = params.assignee_ids
    if params.due_date:
        fields["due_date"] = params.due_date
    return fields


def _run(client: GitlabClient, params: GitlabIssueParameters, index: int) -> list[dict[str, Any]]:
    project = params.project.strip().strip("/")
    iid = params.issue_iid
    issue = project_path(project, "issues", iid)
    match params.operation:
        case "create":
            body = _fields(params)
            if params.confidential:
                body["confidential"] = True
            path = project_path(project, "issues")
            return [client.request("POST", path, f"creating an issue in {project}", item_index=index, json=body)]
        case "get":
            return [client.request("GET", issue, f"getting issue #{iid} of {project}", item_index=index)]
        case "get_many":
            query: dict[str, Any] = {"state": params.state, "order_by": params.order_by, "sort": params.sort}
            if params.label_filter:
                query["labels"] = ",".join(params.label_filter)
            if params.search.strip():
                query["search"] = params.search.strip()
            return client.paginate(
                project_path(project, "issues"),
                f"listing the issues of {project}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            changes = _fields(params)
            if params.state_event != "unchanged":
                changes["state_event"] = params.state_event
            return [client.request("PUT", issue, f"updating issue #{iid} of {project}", item_index=index, json=changes)]
        case "delete":
            client.request("DELETE", issue, f"deleting issue #{iid} of {project}", item_index=index)
            return [{"project": project, "iid": iid, "deleted": True}]
        case "create_note":
            return [
                client.request(
                    "POST",
                    f"{issue}/notes",
                    f"commenting on issue #{iid} of {project}",
                    item_index=index,
                    json={"body": params.note},
                )
            ]
    raise AssertionError(f"unhandled operation {params.operation!r}")
