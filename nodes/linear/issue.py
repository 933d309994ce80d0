"""Linear Issue: create, get, list, update or delete Linear issues over its GraphQL API."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.linear._client import LinearClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
PRIORITIES = {"no_priority": 0, "urgent": 1, "high": 2, "medium": 3, "low": 4}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ISSUE_FIELDS = """
fragment IssueFields on Issue {
  id identifier title description priority priorityLabel dueDate url createdAt updatedAt archivedAt
  state { id name type }
  team { id key name }
  assignee { id name email }
  labels { nodes { id name } }
}
"""
CREATE = (
    "mutation IssueCreate($input: IssueCreateInput!) {"
    " issueCreate(input: $input) { success issue { ...IssueFields } } }" + ISSUE_FIELDS
)
GET = "query Issue($id: String!) { issue(id: $id) { ...IssueFields } }" + ISSUE_FIELDS
LIST = (
    "query Issues($filter: IssueFilter, $first: Int, $after: String, $orderBy: PaginationOrderBy,"
    " $includeArchived: Boolean) {"
    " issues(filter: $filter, first: $first, after: $after, orderBy: $orderBy, includeArchived: $includeArchived)"
    " { nodes { ...IssueFields } pageInfo { hasNextPage endCursor } } }" + ISSUE_FIELDS
)
UPDATE = (
    "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {"
    " issueUpdate(id: $id, input: $input) { success issue { ...IssueFields } } }" + ISSUE_FIELDS
)
DELETE = (
    "mutation IssueDelete($id: String!, $permanentlyDelete: Boolean) {"
    " issueDelete(id: $id, permanentlyDelete: $permanentlyDelete) { success entity { id identifier } } }"
)


class LinearIssueParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an issue per item; get one; get_many: one item per issue matching the filters; "
        "update one; delete one (to the trash, or for good).",
        no_expressions=True,
    )
    issue_id: str = param(
        "",
        title="Issue",
        description="The issue's identifier (ENG-123) or id.",
        placeholder="{{ $json.identifier }}",
        show_if={"operation": BY_ID},
    )
    team_id: str = param(
        "",
        title="Team id",
        description="create: the team the issue belongs to (required); update: move it to this team, empty keeps "
        "it; get_many: only this team's issues, empty: every team.",
        show_if={"operation": ["create", "update", "get_many"]},
    )
    title: str = param(
        "", title="Title", description="update: empty keeps the current title.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="In Markdown; update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    priority: Literal["unchanged", "no_priority", "urgent", "high", "medium", "low"] = param(
        "unchanged",
        title="Priority",
        description="unchanged: Linear's default (no priority) on create, the current one on update.",
        show_if={"operation": WRITES},
    )
    assignee_id: str = param(
        "",
        title="Assignee id",
        description="The assignee's user id; update: empty keeps the current one; get_many: only their issues.",
        show_if={"operation": ["create", "update", "get_many"]},
    )
    state_id: str = param(
        "",
        title="Workflow state id",
        description="The status to set (a state of the issue's team); empty: the team's default, or unchanged.",
        show_if={"operation": WRITES},
    )
    label_ids: list[str] = param(
        default_factory=list,
        title="Label ids",
        description="Label ids (a list, or text separated by commas); update: empty keeps the current labels, "
        "otherwise they replace them.",
        show_if={"operation": WRITES},
    )
    due_date: str = param(
        "",
        title="Due date",
        description="YYYY-MM-DD; update: empty keeps the current one.",
        placeholder="2026-12-31",
        show_if={"operation": WRITES},
    )
    state_name: str = param(
        "",
        title="Status",
        description="Only issues in a state of this name (Todo, In Progress...); empty: any.",
        show_if={"operation": ["get_many"]},
    )
    include_archived: bool = param(False, title="Include archived", show_if={"operation": ["get_many"]}, advanced=True)
    order_by: Literal["createdAt", "updatedAt"] = param(
        "createdAt",
        title="Sort by",
        description="Newest first by this date.",
        show_if={"operation": ["get_many"]},
    )
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
    permanently: bool = param(
        False,
        title="Delete for good",
        description="Skip the trash (admins only); otherwise the issue can be restored for 30 days.",
        show_if={"operation": ["delete"]},
    )

    @field_validator("label_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("due_date")
    @classmethod
    def _date(cls, value: str) -> str:
        value = value.strip()
        if value and not DATE.match(value):
            raise ValueError("the due date must look like 2026-12-31")
        return value

    @model_validator(mode="after")
    def _needs(self) -> LinearIssueParameters:
        if self.operation in BY_ID and not self.issue_id.strip():
            raise ValueError(f"{self.operation} needs the issue's identifier or id")
        if self.operation == "create" and (not self.team_id.strip() or not self.title.strip()):
            raise ValueError("create needs the team id and a title")
        if self.operation == "update" and not _input(self):
            raise ValueError("update needs at least one field to change")
        return self


class LinearIssueNode(Node):
    type = "linear.issue"
    display_name = "Linear Issue"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes Linear issues."
    icon = "kanban"
    Parameters = LinearIssueParameters
    credentials = (CredentialRequirement("linear_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with LinearClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: LinearIssueParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _input(params: LinearIssueParameters) -> dict[str, Any]:
    """The ``IssueCreateInput``/``IssueUpdateInput`` fields given; empty ones are left out so an update keeps them."""
    fields: dict[str, Any] = {}
    if params.team_id.strip():
        fields["teamId"] = params.team_id.strip()
    if params.title.strip():
        fields["title"] = params.title.strip()
    if params.description.strip():
        fields["description"] = params.description
    if params.priority != "unchanged":
        fields["priority"] = PRIORITIES[params.priority]
    if params.assignee_id.strip():
        fields["assigneeId"] = params.assignee_id.strip()
    if params.state_id.strip():
        fields["stateId"] = params.state_id.strip()
    if params.label_ids:
        fields["labelIds"] = params.label_ids
    if params.due_date:
        fields["dueDate"] = params.due_date
    return fields


def _filter(params: LinearIssueParameters) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if params.team_id.strip():
        found["team"] = {"id": {"eq": params.team_id.strip()}}
    if params.assignee_id.strip():
        found["assignee"] = {"id": {"eq": params.assignee_id.strip()}}
    if params.state_name.strip():
        found["state"] = {"name": {"eqIgnoreCase": params.state_name.strip()}}
    return found


def _payload(data: dict[str, Any], field: str, action: str, index: int) -> dict[str, Any]:
    """A mutation's payload, refusing one Linear reports as unsuccessful without an error."""
    payload = data.get(field) or {}
    if not payload.get("success"):
        raise NodeError(
            f"item {index}: Linear did not complete {action} (success: false)",
            description="Check the issue in Linear, then retry the node.",
            item_index=index,
        )
    return payload


def _run(client: LinearClient, params: LinearIssueParameters, index: int) -> list[dict[str, Any]]:
    issue_id = params.issue_id.strip()
    match params.operation:
        case "create":
            action = "creating an issue"
            data = client.graphql(CREATE, {"input": _input(params)}, action, item_index=index)
            return [_payload(data, "issueCreate", action, index)["issue"]]
        case "get":
            return [client.graphql(GET, {"id": issue_id}, f"getting issue {issue_id}", item_index=index)["issue"]]
        case "get_many":
            variables = {
                "filter": _filter(params) or None,
                "orderBy": params.order_by,
                "includeArchived": params.include_archived,
            }
            return client.paginate(
                LIST,
                variables,
                "issues",
                "listing issues",
                limit=None if params.return_all else params.limit,
                item_index=index,
            )
        case "update":
            action = f"updating issue {issue_id}"
            data = client.graphql(UPDATE, {"id": issue_id, "input": _input(params)}, action, item_index=index)
            return [_payload(data, "issueUpdate", action, index)["issue"]]
        case "delete":
            action = f"deleting issue {issue_id}"
            variables = {"id": issue_id, "permanentlyDelete": params.permanently}
            entity = _payload(client.graphql(DELETE, variables, action, item_index=index), "issueDelete", action, index)
            deleted = entity.get("entity") or {}
            return [{"id": deleted.get("id"), "identifier": deleted.get("identifier") or issue_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
