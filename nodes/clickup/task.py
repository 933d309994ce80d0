"""ClickUp Task: create, get, list, update or delete the tasks of a ClickUp list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import field_validator, model_validator

from nodes.clickup._client import ClickupClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
PRIORITIES = {"urgent": 1, "high": 2, "normal": 3, "low": 4}


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() if isinstance(part, str) else part for part in value if str(part).strip()]
    return value


def due_date(value: str, timezone: str) -> tuple[int, bool]:
    """A due date or date-time as ClickUp wants it: milliseconds since 1970, and whether a time of day was given.

    A date alone is midnight and a time without an offset is local, both in the workflow's time zone.
    """
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return int(moment.timestamp() * 1000), "T" in value or " " in value


class ClickupTaskParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a task per item in a list; get one; get_many: one item per task of a list matching the "
        "filters; update one; delete one.",
        no_expressions=True,
    )
    list_id: str = param(
        "",
        title="List id",
        description="The list's id: the number after /li/ in its address.",
        show_if={"operation": ["create", "get_many"]},
    )
    task_id: str = param(
        "",
        title="Task id",
        description="The task's id, such as 86a1b2c3 (after /t/ in its address).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    name: str = param(
        "", title="Name", description="update: empty keeps the current name.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    description_format: Literal["plain", "markdown"] = param(
        "plain",
        title="Description format",
        description="markdown: ClickUp renders headings, lists and links in the description.",
        show_if={"operation": WRITES},
    )
    status: str = param(
        "",
        title="Status",
        description="One of the list's statuses, such as 'in progress'; create: empty is the list's first status, "
        "update: empty keeps it.",
        show_if={"operation": WRITES},
    )
    priority: Literal["default", "urgent", "high", "normal", "low"] = param(
        "default",
        title="Priority",
        description="default: create sets none, update keeps the current one.",
        show_if={"operation": WRITES},
    )
    assignees: list[int] = param(
        default_factory=list,
        title="Assignees",
        description="User ids (a list, or text separated by commas); update: added to the current assignees.",
        show_if={"operation": WRITES},
    )
    remove_assignees: list[int] = param(
        default_factory=list,
        title="Remove assignees",
        description="User ids to take off the task.",
        show_if={"operation": ["update"]},
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="Tag names of the space (a list, or text separated by commas).",
        show_if={"operation": ["create"]},
    )
    due: str = param(
        "",
        title="Due date",
        description="A date (2026-03-31) or date and time (2026-03-31T17:00), in the workflow's time zone unless it "
        "has an offset; update: empty keeps it.",
        show_if={"operation": WRITES},
    )
    statuses: list[str] = param(
        default_factory=list,
        title="Statuses",
        description="Only tasks with one of these statuses; empty: any open status.",
        show_if={"operation": ["get_many"]},
    )
    assignee_filter: list[int] = param(
        default_factory=list,
        title="Assigned to",
        description="Only tasks assigned to one of these user ids.",
        show_if={"operation": ["get_many"]},
    )
    tag_filter: list[str] = param(
        default_factory=list,
        title="With tags",
        description="Only tasks with one of these tags.",
        show_if={"operation": ["get_many"]},
    )
    include_closed: bool = param(
        False, title="Include closed", description="Closed tasks too.", show_if={"operation": ["get_many"]}
    )
    archived: bool = param(
        False, title="Archived", description="Archived tasks instead.", show_if={"operation": ["get_many"]}
    )
    order_by: Literal["created", "updated", "due_date", "id"] = param(
        "created", title="Order by", show_if={"operation": ["get_many"]}
    )
    reverse: bool = param(
        False, title="Reverse order", description="Oldest first.", show_if={"operation": ["get_many"]}
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

    @field_validator(
        "assignees", "remove_assignees", "tags", "statuses", "assignee_filter", "tag_filter", mode="before"
    )
    @classmethod
    def _list(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("due")
    @classmethod
    def _date(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"the due date is 2026-03-31 or 2026-03-31T17:00 (not {value!r})") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> ClickupTaskParameters:
        if self.operation in ("create", "get_many") and not self.list_id.strip():
            raise ValueError(f"{self.operation} needs the list id")
        if self.operation in BY_ID and not self.task_id.strip():
            raise ValueError(f"{self.operation} needs the task id")
        if self.operation == "create" and not self.name.strip():
            raise ValueError("create needs a name")
        given = (self.name, self.description, self.status, self.due)
        edits = any(value.strip() for value in given) or self.priority != "default"
        if self.operation == "update" and not (edits or self.assignees or self.remove_assignees):
            raise ValueError("update needs a name, description, status, priority, assignees or due date to change")
        return self

    def changes(self, timezone: str) -> dict[str, Any]:
        """The task's fields to send on create and update, as ClickUp names them."""
        task: dict[str, Any] = {}
        if self.name.strip():
            task["name"] = self.name.strip()
        if self.description.strip():
            # ClickUp renders markdown_content and keeps its plain text as the description.
            task["markdown_content" if self.description_format == "markdown" else "description"] = self.description
        if self.status.strip():
            task["status"] = self.status.strip()
        if self.priority != "default":
            task["priority"] = PRIORITIES[self.priority]
        if self.due:
            task["due_date"], task["due_date_time"] = due_date(self.due, timezone)
        if self.operation == "create":
            if self.assignees:
                task["assignees"] = self.assignees
            if self.tags:
                task["tags"] = self.tags
        elif self.assignees or self.remove_assignees:
            task["assignees"] = {"add": self.assignees, "rem": self.remove_assignees}
        return task

    def filters(self) -> list[tuple[str, Any]]:
        """The get_many query, with ClickUp's repeated ``name[]`` for each list filter."""
        query: list[tuple[str, Any]] = [
            ("order_by", self.order_by),
            ("reverse", str(self.reverse).lower()),
            ("include_closed", str(self.include_closed).lower()),
            ("archived", str(self.archived).lower()),
        ]
        query += [("statuses[]", status) for status in self.statuses]
        query += [("assignees[]", assignee) for assignee in self.assignee_filter]
        query += [("tags[]", tag) for tag in self.tag_filter]
        return query


class ClickupTaskNode(Node):
    type = "clickup.task"
    display_name = "ClickUp Task"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes the tasks of ClickUp lists."
    icon = "list-checks"
    Parameters = ClickupTaskParameters
    credentials = (CredentialRequirement("clickup_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with ClickupClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: ClickupTaskParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index, ctx.timezone))
        return [produced]


def _run(client: ClickupClient, params: ClickupTaskParameters, index: int, timezone: str) -> list[dict[str, Any]]:
    task_id = params.task_id.strip()
    path = f"/task/{quote(task_id, safe='')}"
    list_id = params.list_id.strip()
    match params.operation:
        case "create":
            return [
                client.request(
                    "POST",
                    f"/list/{quote(list_id, safe='')}/task",
                    f"creating a task in list {list_id}",
                    item_index=index,
                    json=params.changes(timezone),
                )
            ]
        case "get":
            return [client.request("GET", path, f"getting task {task_id}", item_index=index)]
        case "get_many":
            return client.paginate(
                f"/list/{quote(list_id, safe='')}/task",
                f"listing the tasks of list {list_id}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=params.filters(),
            )
        case "update":
            return [
                client.request("PUT", path, f"updating task {task_id}", item_index=index, json=params.changes(timezone))
            ]
        case "delete":
            client.request("DELETE", path, f"deleting task {task_id}", item_index=index)
            return [{"id": task_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
