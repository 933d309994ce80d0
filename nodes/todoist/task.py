"""Todoist Task: create, get, list, update, close, reopen or delete Todoist tasks."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.todoist._client import TodoistClient, task_path

Operation = Literal["create", "get", "get_many", "update", "close", "reopen", "delete"]
BY_ID = ("get", "update", "close", "reopen", "delete")
WRITES = ("create", "update")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TodoistTaskParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a task per item; get one; get_many: one item per open task matching the filters; "
        "update one; close (complete) one; reopen one; delete one.",
        no_expressions=True,
    )
    task_id: str = param(
        "",
        title="Task id",
        description="The task's id, as create or get_many returned it.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    content: str = param(
        "",
        title="Content",
        description="The task's name, in Todoist's Markdown; update: empty keeps the current one.",
        show_if={"operation": WRITES},
    )
    description: str = param(
        "",
        title="Description",
        description="update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    project_id: str = param(
        "",
        title="Project id",
        description="create: the project (empty: the Inbox); get_many: only this project's tasks.",
        show_if={"operation": ["create", "get_many"]},
    )
    section_id: str = param(
        "",
        title="Section id",
        description="create: the section of the project; get_many: only this section's tasks.",
        show_if={"operation": ["create", "get_many"]},
    )
    parent_id: str = param(
        "",
        title="Parent task id",
        description="Create the task as a sub-task of this one.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    labels: list[str] = param(
        default_factory=list,
        title="Labels",
        description="Label names (a list, or text separated by commas); update: empty keeps the current labels, "
        "otherwise they replace them.",
        show_if={"operation": WRITES},
    )
    priority: int = param(
        0,
        title="Priority",
        description="4 is urgent (p1 in the apps), 3 high, 2 medium, 1 normal; 0: normal on create, unchanged on "
        "update.",
        show_if={"operation": WRITES},
        ge=0,
        le=4,
    )
    due_string: str = param(
        "",
        title="Due (in words)",
        description="As typed in Todoist: tomorrow at 10, every monday; update: empty keeps the current date.",
        placeholder="tomorrow at 10",
        show_if={"operation": WRITES},
    )
    due_date: str = param(
        "",
        title="Due date",
        description="YYYY-MM-DD, instead of a due in words.",
        placeholder="2026-12-31",
        show_if={"operation": WRITES},
    )
    label: str = param(
        "",
        title="With label",
        description="Only tasks with this label; empty: any.",
        show_if={"operation": ["get_many"]},
    )
    filter_query: str = param(
        "",
        title="Filter",
        description="A Todoist filter query (today & p1, #Work & @waiting); when set, the project, section and "
        "label fields are ignored.",
        placeholder="today | overdue",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' tasks.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many tasks per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
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
    def _needs(self) -> TodoistTaskParameters:
        if self.operation in BY_ID and not self.task_id.strip():
            raise ValueError(f"{self.operation} needs the task id")
        if self.operation == "create" and not self.content.strip():
            raise ValueError("create needs the task's content")
        if self.due_string.strip() and self.due_date:
            raise ValueError("give the due in words or the due date, not both")
        if self.operation == "update" and not _fields(self):
            raise ValueError("update needs at least one field to change")
        return self


class TodoistTaskNode(Node):
    type = "todoist.task"
    display_name = "Todoist Task"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, closes, reopens or deletes Todoist tasks."
    icon = "list-todo"
    Parameters = TodoistTaskParameters
    credentials = (CredentialRequirement("todoist_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with TodoistClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: TodoistTaskParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _fields(params: TodoistTaskParameters) -> dict[str, Any]:
    """The task fields given; empty ones are left out so an update keeps them."""
    fields: dict[str, Any] = {}
    if params.content.strip():
        fields["content"] = params.content.strip()
    if params.description.strip():
        fields["description"] = params.description
    if params.labels:
        fields["labels"] = params.labels
    if params.priority:
        fields["priority"] = params.priority
    if params.due_string.strip():
        fields["due_string"] = params.due_string.strip()
    if params.due_date:
        fields["due_date"] = params.due_date
    return fields


def _run(client: TodoistClient, params: TodoistTaskParameters, index: int) -> list[dict[str, Any]]:
    task_id = params.task_id.strip()
    one = task_path(task_id)
    match params.operation:
        case "create":
            body = _fields(params)
            for name in ("project_id", "section_id", "parent_id"):
                if getattr(params, name).strip():
                    body[name] = getattr(params, name).strip()
            return [client.request("POST", "/tasks", "creating a task", item_index=index, json=body)]
        case "get":
            return [client.request("GET", one, f"getting task {task_id}", item_index=index)]
        case "get_many":
            limit = None if params.return_all else params.limit
            if params.filter_query.strip():
                query = {"query": params.filter_query.strip()}
                return client.paginate("/tasks/filter", "filtering tasks", limit=limit, item_index=index, params=query)
            found = {
                name: value
                for name, value in (
                    ("project_id", params.project_id.strip()),
                    ("section_id", params.section_id.strip()),
                    ("label", params.label.strip()),
                )
                if value
            }
            return client.paginate("/tasks", "listing tasks", limit=limit, item_index=index, params=found)
        case "update":
            return [client.request("POST", one, f"updating task {task_id}", item_index=index, json=_fields(params))]
        case "close":
            client.request("POST", task_path(task_id, "close"), f"closing task {task_id}", item_index=index)
            return [{"id": task_id, "completed": True}]
        case "reopen":
            client.request("POST", task_path(task_id, "reopen"), f"reopening task {task_id}", item_index=index)
            return [{"id": task_id, "completed": False}]
        case "delete":
            client.request("DELETE", one, f"deleting task {task_id}", item_index=index)
            return [{"id": task_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
