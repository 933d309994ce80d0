"""Google Tasks: create, get, list, update (or complete) and delete the tasks of a task list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.google._api import execute
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "list", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
MAX_PAGE = 100
"""The most tasks Google Tasks lists per page."""
HINTS = {
    400: "Check the task's fields: the due date (2024-05-01), the status and the parent task's id.",
    403: "A service account only sees its own task lists: set 'Act as user' in the credential (Workspace "
    "domain-wide delegation with the scope https://www.googleapis.com/auth/tasks), and enable the Tasks API.",
    404: "Check the task list id and the task id; @default is the user's default list.",
}


def _due(value: str) -> str:
    """A due date as Tasks takes it: RFC 3339 at midnight UTC, since Tasks keeps only the date.

    Raises:
        ValueError: It is not an ISO 8601 date or date-time.
    """
    try:
        day = datetime.fromisoformat(value.strip()).date()
    except ValueError as err:
        raise ValueError(f"{value!r} is not a date like 2024-05-01") from err
    return f"{day.isoformat()}T00:00:00.000Z"


class TasksParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a task per item; get one; list: one item per task; update the fields given (or "
        "complete it); delete one.",
        no_expressions=True,
    )
    task_list: str = param(
        "@default",
        title="Task list id",
        description="@default: the default list of the account (the user the credential acts as).",
        min_length=1,
    )
    task_id: str = param("", title="Task id", placeholder="{{ $json.id }}", show_if={"operation": list(BY_ID)})
    title: str = param(
        "", title="Title", description="update: empty keeps the title.", show_if={"operation": list(WRITES)}
    )
    notes: str = param(
        "",
        title="Notes",
        description="update: empty keeps the notes.",
        widget="textarea",
        show_if={"operation": list(WRITES)},
    )
    due: str = param(
        "",
        title="Due",
        description="A date such as 2024-05-01 (Tasks keeps the date, not the time); update: empty keeps it.",
        placeholder="{{ $json.due_date }}",
        show_if={"operation": list(WRITES)},
    )
    parent: str = param(
        "",
        title="Parent task id",
        description="Makes the new task a subtask of this one.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    status: Literal["unchanged", "needs_action", "completed"] = param(
        "unchanged",
        title="Status",
        description="completed ticks the task off; needs_action reopens it.",
        show_if={"operation": list(WRITES)},
    )
    show_completed: bool = param(True, title="Include completed tasks", show_if={"operation": ["list"]})
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' tasks.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many tasks per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )

    @field_validator("due")
    @classmethod
    def _due_date(cls, value: str) -> str:
        return _due(value) if value.strip() else ""

    @model_validator(mode="after")
    def _needs(self) -> TasksParameters:
        if self.operation in BY_ID and not self.task_id.strip():
            raise ValueError(f"{self.operation} needs a task id")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs a title")
        return self


class TasksNode(Node):
    type = "google.tasks"
    display_name = "Google Tasks"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, completes or deletes tasks in Google Tasks, per item."
    icon = "list-checks"
    Parameters = TasksParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "tasks", "v1")
        tasks = service.tasks()
        produced: list[Item] = []
        for index in range(len(items)):
            params: TasksParameters = ctx.params(index)
            produced.extend(Item(entry, paired_item=index) for entry in _run(tasks, fields, params, index))
        return [produced]


def _run(tasks: Any, fields: GoogleServiceAccountFields, params: TasksParameters, index: int) -> list[dict[str, Any]]:
    task_list = params.task_list.strip()
    task_id = params.task_id.strip()
    match params.operation:
        case "create":
            options = {"parent": params.parent.strip()} if params.parent.strip() else {}
            request = tasks.insert(tasklist=task_list, body=_changes(params), **options)
            return [execute(request, fields, f"creating a task in list {task_list}", index, HINTS)]
        case "get":
            request = tasks.get(tasklist=task_list, task=task_id)
            return [execute(request, fields, f"reading task {task_id}", index, HINTS)]
        case "list":
            return _list(tasks, fields, params, index)
        case "update":
            request = tasks.patch(tasklist=task_list, task=task_id, body=_changes(params))
            return [execute(request, fields, f"updating task {task_id}", index, HINTS)]
        case "delete":
            execute(tasks.delete(tasklist=task_list, task=task_id), fields, f"deleting task {task_id}", index, HINTS)
            return [{"task_list": task_list, "task_id": task_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _changes(params: TasksParameters) -> dict[str, Any]:
    """The task to insert, or the fields to patch: only those given."""
    body: dict[str, Any] = {}
    if params.title.strip():
        body["title"] = params.title
    if params.notes.strip():
        body["notes"] = params.notes
    if params.due:
        body["due"] = params.due
    if params.status == "completed":
        body["status"] = "completed"
    elif params.status == "needs_action":
        # Reopening clears the completion time along with the status, as Tasks expects.
        body.update(status="needsAction", completed=None)
    return body


def _list(tasks: Any, fields: GoogleServiceAccountFields, params: TasksParameters, index: int) -> list[dict[str, Any]]:
    task_list = params.task_list.strip()
    limit = None if params.return_all else params.limit
    found: list[dict[str, Any]] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        request = tasks.list(
            tasklist=task_list,
            showCompleted=params.show_completed,
            maxResults=MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found)),
            pageToken=token,
        )
        answer = execute(request, fields, f"listing the tasks of list {task_list}", index, HINTS)
        found.extend(answer.get("items", []))
        token = answer.get("nextPageToken")
        if not token:
            break
    return found if limit is None else found[:limit]
