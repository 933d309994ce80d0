"""Asana Task: create, get, list, update or delete tasks, comment on them, or move them to a section."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.asana._client import AsanaClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete", "add_comment", "move_to_section"]
BY_ID = ("get", "update", "delete", "add_comment", "move_to_section")
WRITES = ("create", "update")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_FIELDS = (
    "name",
    "notes",
    "completed",
    "due_on",
    "assignee.name",
    "projects.name",
    "memberships.section.name",
    "tags.name",
    "permalink_url",
    "modified_at",
)
"""What get_many returns per task: Asana's lists give only gid and name unless asked for more."""


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


class AsanaTaskParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a task per item; get one; get_many: one item per task of a project or of an assignee; "
        "update one; delete one; add_comment to one; move_to_section: put one in a section of its project.",
        no_expressions=True,
    )
    task_id: str = param(
        "",
        title="Task id",
        description="The task's gid: the last number in its address.",
        placeholder="{{ $json.gid }}",
        show_if={"operation": BY_ID},
    )
    list_by: Literal["project", "assignee"] = param(
        "project",
        title="Tasks of",
        description="A project's tasks, or the tasks assigned to someone in a workspace.",
        show_if={"operation": ["get_many"]},
        no_expressions=True,
    )
    project_id: str = param(
        "",
        title="Project id",
        description="create: the project to add the task to (or give a workspace); get_many: the project to list.",
        show_if={"operation": ["create", "get_many"]},
    )
    workspace_id: str = param(
        "",
        title="Workspace id",
        description="create: the workspace of a task in no project; get_many by assignee: the workspace to look in.",
        show_if={"operation": ["create", "get_many"]},
    )
    name: str = param(
        "", title="Name", description="update: empty keeps the current name.", show_if={"operation": WRITES}
    )
    notes: str = param(
        "",
        title="Notes",
        description="The task's description, as plain text; update: empty keeps the current notes.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    assignee: str = param(
        "",
        title="Assignee",
        description="A user's gid or email address, or me; create and update: empty leaves it as it is; get_many "
        "by assignee: whose tasks.",
        show_if={"operation": [*WRITES, "get_many"]},
    )
    due_on: str = param(
        "",
        title="Due on",
        description="The due date, YYYY-MM-DD; update: empty keeps it.",
        placeholder="2026-03-31",
        show_if={"operation": WRITES},
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="Tag gids (a list, or text separated by commas).",
        show_if={"operation": ["create"]},
    )
    completed: Literal["unchanged", "yes", "no"] = param(
        "unchanged",
        title="Completed",
        description="Mark the task complete, or incomplete again.",
        show_if={"operation": ["update"]},
    )
    comment: str = param(
        "",
        title="Comment",
        description="The comment's text, shown in the task's activity.",
        widget="textarea",
        show_if={"operation": ["add_comment"]},
    )
    section_id: str = param(
        "",
        title="Section id",
        description="The section (column, in a board) to move the task to; it leaves its other section of that "
        "project.",
        show_if={"operation": ["move_to_section"]},
    )
    incomplete_only: bool = param(
        False,
        title="Incomplete only",
        description="Leave out completed tasks.",
        show_if={"operation": ["get_many"]},
    )
    fields: list[str] = param(
        default_factory=list,
        title="Fields",
        description="Task fields to return (Asana's opt_fields, such as name, due_on, assignee.name); empty: get "
        "returns every field, get_many the usual ones.",
        show_if={"operation": ["get", "get_many"]},
        advanced=True,
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

    @field_validator("tags", "fields", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("due_on")
    @classmethod
    def _date(cls, value: str) -> str:
        value = value.strip()
        if value and not DATE.match(value):
            raise ValueError(f"the due date is YYYY-MM-DD, such as 2026-03-31 (not {value!r})")
        return value

    @model_validator(mode="after")
    def _needs(self) -> AsanaTaskParameters:
        if self.operation in BY_ID and not self.task_id.strip():
            raise ValueError(f"{self.operation} needs the task id")
        if self.operation == "create":
            if not self.name.strip():
                raise ValueError("create needs a name")
            if not self.project_id.strip() and not self.workspace_id.strip():
                raise ValueError("create needs a project or a workspace")
        if self.operation == "get_many":
            if self.list_by == "project" and not self.project_id.strip():
                raise ValueError("get_many needs the project id")
            if self.list_by == "assignee" and not (self.assignee.strip() and self.workspace_id.strip()):
                raise ValueError("get_many by assignee needs the assignee and the workspace id")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a name, notes, assignee, due date or completion to change")
        if self.operation == "add_comment" and not self.comment.strip():
            raise ValueError("add_comment needs the comment's text")
        if self.operation == "move_to_section" and not self.section_id.strip():
            raise ValueError("move_to_section needs the section id")
        return self

    def changes(self) -> dict[str, Any]:
        """The task's fields to send on create and update, as Asana names them."""
        task: dict[str, Any] = {}
        if self.name.strip():
            task["name"] = self.name.strip()
        if self.notes.strip():
            task["notes"] = self.notes
        if self.assignee.strip():
            task["assignee"] = self.assignee.strip()
        if self.due_on:
            task["due_on"] = self.due_on
        if self.operation == "update" and self.completed != "unchanged":
            task["completed"] = self.completed == "yes"
        return task


class AsanaTaskNode(Node):
    type = "asana.task"
    display_name = "Asana Task"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, deletes, comments on or moves Asana tasks between sections."
    icon = "circle-check-big"
    Parameters = AsanaTaskParameters
    credentials = (CredentialRequirement("asana_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with AsanaClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: AsanaTaskParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: AsanaClient, params: AsanaTaskParameters, index: int) -> list[dict[str, Any]]:
    task_id = params.task_id.strip()
    path = f"/tasks/{quote(task_id, safe='')}"
    match params.operation:
        case "create":
            task = params.changes()
            if params.project_id.strip():
                task["projects"] = [params.project_id.strip()]
            if params.workspace_id.strip():
                task["workspace"] = params.workspace_id.strip()
            if params.tags:
                task["tags"] = params.tags
            return [client.request("POST", "/tasks", "creating a task", item_index=index, data=task)]
        case "get":
            query = {"opt_fields": ",".join(params.fields)} if params.fields else None
            return [client.request("GET", path, f"getting task {task_id}", item_index=index, params=query)]
        case "get_many":
            listing: dict[str, Any] = {"opt_fields": ",".join(params.fields or DEFAULT_FIELDS)}
            if params.list_by == "project":
                listing["project"] = params.project_id.strip()
                whose = f"project {params.project_id.strip()}"
            else:
                listing["assignee"] = params.assignee.strip()
                listing["workspace"] = params.workspace_id.strip()
                whose = f"assignee {params.assignee.strip()}"
            if params.incomplete_only:
                # Asana's way to leave completed tasks out: only those completed since now, which is none.
                listing["completed_since"] = "now"
            return client.paginate(
                "/tasks",
                f"listing the tasks of {whose}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=listing,
            )
        case "update":
            return [client.request("PUT", path, f"updating task {task_id}", item_index=index, data=params.changes())]
        case "delete":
            client.request("DELETE", path, f"deleting task {task_id}", item_index=index)
            return [{"gid": task_id, "deleted": True}]
        case "add_comment":
            story = client.request(
                "POST",
                f"{path}/stories",
                f"commenting on task {task_id}",
                item_index=index,
                data={"text": params.comment},
            )
            return [story]
        case "move_to_section":
            section = params.section_id.strip()
            client.request(
                "POST",
                f"/sections/{quote(section, safe='')}/addTask",
                f"moving task {task_id} to section {section}",
                item_index=index,
                data={"task": task_id},
            )
            return [{"gid": task_id, "section": section, "moved": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
