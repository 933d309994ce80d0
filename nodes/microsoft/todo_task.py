"""Microsoft To Do Task: create, get, list, update or delete the tasks of a user's To Do list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.microsoft._graph import (
    CREDENTIALS,
    GraphClient,
    GraphParameters,
    Permissions,
    check_user,
    segment,
    user_base,
    user_field,
)
from nodes.sdk import Category, Context, Item, Node, NodeOutput, param

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = {"operation": ["create", "update"]}
PERMISSIONS = Permissions(application="Tasks.ReadWrite.All", delegated="Tasks.ReadWrite")
NOT_FOUND = (
    "Check the user, the list id (GET /users/{user}/todo/lists lists them) and the task id; the user needs an "
    "Exchange Online mailbox, where To Do keeps its tasks."
)


def _due(value: str) -> str:
    """``value`` as an ISO date or date-time, checked; empty stays empty."""
    value = value.strip()
    if value:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as err:
            raise ValueError(
                f"the due date {value!r} is not a date (2026-03-01) or date-time (2026-03-01T17:00)"
            ) from err
    return value


class TodoTaskParameters(GraphParameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a task per item; get one; get_many: one item per task of the list; update one; delete one.",
        no_expressions=True,
    )
    user: str = user_field("To Do lists")
    list_id: str = param(
        title="List ID",
        description="The To Do list's id (GET /users/{user}/todo/lists, or the id in To Do's web address).",
        placeholder="AAMkAGI2…",
    )
    task_id: str = param("", title="Task ID", placeholder="{{ $json.id }}", show_if={"operation": BY_ID})
    title: str = param("", title="Title", description="update: empty keeps the current title.", show_if=WRITES)
    body: str = param(
        "",
        title="Notes",
        description="The task's notes, as text; update: empty keeps the current notes.",
        widget="textarea",
        show_if=WRITES,
    )
    status: Literal["unchanged", "notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"] = param(
        "unchanged",
        title="Status",
        description="completed ticks the task off; unchanged: not sent (a new task is notStarted).",
        show_if=WRITES,
    )
    importance: Literal["unchanged", "low", "normal", "high"] = param(
        "unchanged",
        title="Importance",
        description="high stars the task; unchanged: not sent (a new task is normal).",
        show_if=WRITES,
    )
    due_date: str = param(
        "",
        title="Due date",
        description="A date (2026-03-01) or date-time; update: empty keeps the current one.",
        placeholder="2026-03-01",
        show_if=WRITES,
    )
    time_zone: str = param(
        "UTC",
        title="Time zone",
        description="Of a due date without an offset: an IANA name (Europe/Paris) or a Windows one.",
        show_if=WRITES,
        advanced=True,
        min_length=1,
    )
    clear_due_date: bool = param(False, title="Remove the due date", show_if={"operation": ["update"]}, advanced=True)
    filter: str = param(
        "",
        title="Filter",
        description="An OData $filter, e.g. status ne 'completed', or importance eq 'high'.",
        placeholder="status ne 'completed'",
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

    @field_validator("due_date")
    @classmethod
    def _due_date(cls, value: str) -> str:
        return _due(value)

    @model_validator(mode="after")
    def _needs(self) -> TodoTaskParameters:
        check_user(self.authentication, self.user)
        if not self.list_id.strip():
            raise ValueError("set the list id")
        if self.operation in BY_ID and not self.task_id.strip():
            raise ValueError(f"{self.operation} needs the task id")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs a title")
        return self


def _date_time_time_zone(value: str, time_zone: str) -> dict[str, str]:
    """Graph's ``dateTimeTimeZone``: a date-time with an offset is sent in UTC, one without in ``time_zone``."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment, time_zone = moment.astimezone(UTC).replace(tzinfo=None), "UTC"
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": time_zone.strip()}


def _fields(params: TodoTaskParameters) -> dict[str, Any]:
    """The task's properties the parameters set; what they leave empty or unchanged is not sent."""
    fields: dict[str, Any] = {}
    if params.title.strip():
        fields["title"] = params.title
    if params.body.strip():
        fields["body"] = {"content": params.body, "contentType": "text"}
    if params.status != "unchanged":
        fields["status"] = params.status
    if params.importance != "unchanged":
        fields["importance"] = params.importance
    if params.operation == "update" and params.clear_due_date:
        fields["dueDateTime"] = None
    elif params.due_date:
        fields["dueDateTime"] = _date_time_time_zone(params.due_date, params.time_zone)
    return fields


class TodoTaskNode(Node):
    type = "microsoft.todo_task"
    display_name = "Microsoft To Do Task"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes tasks in a Microsoft To Do list."
    icon = "list-checks"
    Parameters = TodoTaskParameters
    credentials = CREDENTIALS
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: TodoTaskParameters = ctx.params(0)
        produced: list[Item] = []
        with GraphClient.for_node(ctx, first, permissions=PERMISSIONS, not_found=NOT_FOUND) as client:
            for index in range(len(items)):
                params: TodoTaskParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: GraphClient, params: TodoTaskParameters, index: int) -> list[dict[str, Any]]:
    tasks = f"{user_base(params.user)}/todo/lists/{segment(params.list_id)}/tasks"
    task = f"{tasks}/{segment(params.task_id)}"
    named = f"task {params.task_id.strip()}"
    match params.operation:
        case "create":
            return [client.request("POST", tasks, "creating a To Do task", item_index=index, json=_fields(params))]
        case "get":
            return [client.request("GET", task, f"getting {named}", item_index=index)]
        case "get_many":
            query = {"$filter": params.filter.strip()} if params.filter.strip() else {}
            return client.paginate(
                tasks,
                "listing the tasks of the To Do list",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            return [client.request("PATCH", task, f"updating {named}", item_index=index, json=_fields(params))]
        case "delete":
            client.request("DELETE", task, f"deleting {named}", item_index=index)
            return [{"id": params.task_id.strip(), "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
