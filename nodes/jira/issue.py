"""Jira Issue: create, get, search, update, delete or move Jira Cloud issues through their workflow."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.jira._client import JiraClient, adf, issue_path, json_object, names
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete", "get_transitions", "transition"]
BY_KEY = ("get", "update", "delete", "get_transitions", "transition")
WRITES = ("create", "update")
SEARCH_FIELDS = ["*navigable"]
"""What a search returns when no fields are named: the search endpoint would otherwise return ids only."""


class JiraIssueParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an issue per item; get one; get_many: one item per issue a JQL search finds; update "
        "one; delete one; get_transitions: one item per status change the issue allows now; transition: move it "
        "to another status.",
        no_expressions=True,
    )
    issue_key: str = param(
        "",
        title="Issue key",
        description="The issue's key (PROJ-123) or numeric id.",
        placeholder="{{ $json.key }}",
        show_if={"operation": BY_KEY},
    )
    project_key: str = param(
        "", title="Project key", description="The project's key.", placeholder="PROJ", show_if={"operation": ["create"]}
    )
    issue_type: str = param(
        "Task",
        title="Issue type",
        description="The issue type's name in the project: Task, Bug, Story, Epic, Subtask...",
        show_if={"operation": ["create"]},
    )
    summary: str = param(
        "", title="Summary", description="update: empty keeps the current summary.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="Plain text (blank lines separate paragraphs); update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    labels: list[str] = param(
        default_factory=list,
        title="Labels",
        description="Labels without spaces (a list, or text separated by commas); update: empty keeps the current "
        "labels, otherwise they replace them.",
        show_if={"operation": WRITES},
    )
    priority: str = param(
        "",
        title="Priority",
        description="The priority's name (Highest, High, Medium, Low, Lowest); empty: the project's default, or "
        "unchanged on update.",
        show_if={"operation": WRITES},
    )
    assignee_account_id: str = param(
        "",
        title="Assignee account id",
        description="The Atlassian account id of the assignee (not the email); update: empty keeps the current one.",
        show_if={"operation": WRITES},
    )
    parent_key: str = param(
        "",
        title="Parent issue key",
        description="For a subtask, or an issue in an epic: the parent's key.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    custom_fields: dict[str, Any] = param(
        default_factory=dict,
        title="Custom and other fields",
        description='Further fields as JSON, by field id, e.g. {"customfield_10016": 5, "duedate": "2026-12-31"}; '
        "they are sent as Jira expects each field's value.",
        widget="json",
        show_if={"operation": WRITES},
        advanced=True,
    )
    jql: str = param(
        "",
        title="JQL",
        description="The search, in Jira Query Language; it must restrict the search (a project, an assignee...).",
        placeholder="project = PROJ AND status != Done ORDER BY created DESC",
        widget="textarea",
        show_if={"operation": ["get_many"]},
    )
    fields: list[str] = param(
        default_factory=list,
        title="Fields",
        description="The fields to return (summary, status, customfield_10016...); empty: every field for get, "
        "the navigable ones for get_many.",
        show_if={"operation": ["get", "get_many"]},
        advanced=True,
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
    delete_subtasks: bool = param(
        False,
        title="Delete subtasks",
        description="Jira refuses to delete an issue with subtasks unless they go too.",
        show_if={"operation": ["delete"]},
    )
    transition: str = param(
        "",
        title="Transition",
        description="The transition's name (as on the issue's status button, e.g. Done) or its id.",
        placeholder="In Progress",
        show_if={"operation": ["transition"]},
    )
    transition_comment: str = param(
        "",
        title="Comment",
        description="Plain text added as a comment with the transition; empty: none.",
        widget="textarea",
        show_if={"operation": ["transition"]},
        advanced=True,
    )

    @field_validator("labels", "fields", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return names(value)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        return json_object(value, "custom fields")

    @model_validator(mode="after")
    def _needs(self) -> JiraIssueParameters:
        if self.operation in BY_KEY and not self.issue_key.strip():
            raise ValueError(f"{self.operation} needs the issue key")
        if self.operation == "create":
            if not self.project_key.strip() or not self.issue_type.strip():
                raise ValueError("create needs the project key and the issue type")
            if not self.summary.strip():
                raise ValueError("create needs a summary")
        if self.operation == "update" and not _fields(self):
            raise ValueError("update needs at least one field to change")
        if self.operation == "get_many" and not self.jql.strip():
            raise ValueError("get_many needs a JQL search")
        if self.operation == "transition" and not self.transition.strip():
            raise ValueError("transition needs the transition's name or id")
        return self


class JiraIssueNode(Node):
    type = "jira.issue"
    display_name = "Jira Issue"
    category = Category.INTEGRATION
    description = "Creates, gets, searches, updates, deletes or transitions Jira Cloud issues."
    icon = "ticket"
    Parameters = JiraIssueParameters
    credentials = (CredentialRequirement("jira_cloud_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with JiraClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: JiraIssueParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _fields(params: JiraIssueParameters) -> dict[str, Any]:
    """The issue fields to send on create or update; empty parameters are left out so an update keeps them."""
    fields: dict[str, Any] = {}
    if params.summary.strip():
        fields["summary"] = params.summary.strip()
    if params.description.strip():
        fields["description"] = adf(params.description)
    if params.labels:
        fields["labels"] = params.labels
    if params.priority.strip():
        fields["priority"] = {"name": params.priority.strip()}
    if params.assignee_account_id.strip():
        fields["assignee"] = {"accountId": params.assignee_account_id.strip()}
    fields.update(params.custom_fields)
    return fields


def _run(client: JiraClient, params: JiraIssueParameters, index: int) -> list[dict[str, Any]]:
    key = params.issue_key.strip()
    match params.operation:
        case "create":
            project = params.project_key.strip()
            fields = {"project": {"key": project}, "issuetype": {"name": params.issue_type.strip()}, **_fields(params)}
            if params.parent_key.strip():
                fields["parent"] = {"key": params.parent_key.strip()}
            action = f"creating an issue in {project}"
            return [client.request("POST", "/rest/api/3/issue", action, item_index=index, json={"fields": fields})]
        case "get":
            query = {"fields": ",".join(params.fields)} if params.fields else None
            return [client.request("GET", issue_path(key), f"getting issue {key}", item_index=index, params=query)]
        case "get_many":
            return client.search(
                params.jql.strip(),
                params.fields or SEARCH_FIELDS,
                "searching issues",
                limit=None if params.return_all else params.limit,
                item_index=index,
            )
        case "update":
            # returnIssue makes Jira answer with the edited issue instead of an empty 204.
            answer = client.request(
                "PUT",
                issue_path(key),
                f"updating issue {key}",
                item_index=index,
                params={"returnIssue": "true"},
                json={"fields": _fields(params)},
            )
            return [answer or {"key": key, "updated": True}]
        case "delete":
            client.request(
                "DELETE",
                issue_path(key),
                f"deleting issue {key}",
                item_index=index,
                params={"deleteSubtasks": str(params.delete_subtasks).lower()},
            )
            return [{"key": key, "deleted": True}]
        case "get_transitions":
            return _transitions(client, key, index)
        case "transition":
            return [_transition(client, params, key, index)]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _transitions(client: JiraClient, key: str, index: int) -> list[dict[str, Any]]:
    answer = client.request(
        "GET", issue_path(key, "transitions"), f"listing the transitions of {key}", item_index=index
    )
    return list(answer.get("transitions") or [])


def _transition(client: JiraClient, params: JiraIssueParameters, key: str, index: int) -> dict[str, Any]:
    """Apply the transition named by its name or id; Jira's POST takes only the id, so look it up first."""
    wanted = params.transition.strip()
    available = _transitions(client, key, index)
    chosen = next((t for t in available if str(t.get("id")) == wanted), None) or next(
        (t for t in available if str(t.get("name", "")).casefold() == wanted.casefold()), None
    )
    if chosen is None:
        offered = ", ".join(f"{t.get('name')} ({t.get('id')})" for t in available) or "none"
        raise NodeError(
            f"item {index}: issue {key} has no transition {wanted!r} from its current status (available: {offered})",
            description="Pick one of the available transitions; they depend on the issue's status and workflow.",
            item_index=index,
        )
    body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
    if params.transition_comment.strip():
        body["update"] = {"comment": [{"add": {"body": adf(params.transition_comment)}}]}
    action = f"moving issue {key} through transition {chosen.get('name')!r}"
    client.request("POST", issue_path(key, "transitions"), action, item_index=index, json=body)
    status = (chosen.get("to") or {}).get("name")
    return {"key": key, "transition": {"id": str(chosen["id"]), "name": chosen.get("name")}, "status": status}
