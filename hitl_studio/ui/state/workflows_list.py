"""/workflows: the list, its filters, and creating, duplicating, importing, activating and deleting workflows."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import reflex as rx
from pydantic import ValidationError

from hitl_studio.auth.roles import Permission
from hitl_studio.db import new_id
from hitl_studio.models.users import User
from hitl_studio.models.workflows import Workflow
from hitl_studio.services import workflows
from hitl_studio.services.errors import InvalidInput, ServiceError
from hitl_studio.services.workflows import WorkflowFilter, WorkflowInput
from hitl_studio.ui.components.times import relative, stamp
from hitl_studio.ui.state.live_page import Batch, LivePageState

ROUTE = "/workflows"
PAGE_SIZE = 25
MAX_IMPORT_BYTES = 5 * 1024 * 1024
IMPORT_UPLOAD_ID = "import-workflow"


@dataclass
class WorkflowRow:
    id: str
    name: str
    description: str
    tags: list[str]
    active: bool
    last_status: str
    nodes: int
    updated: str
    updated_at: str


@dataclass
class ImportProblem:
    """One problem of an imported file, by node (``node`` is empty for the workflow as a whole)."""

    node: str
    message: str


def _row(workflow: Workflow, last_status: str | None) -> WorkflowRow:
    return WorkflowRow(
        id=workflow.id,
        name=workflow.name,
        description=workflow.description,
        tags=list(workflow.tags),
        active=workflow.active,
        last_status=last_status or "",
        nodes=len(workflow.graph.get("nodes", [])),
        updated=relative(workflow.updated_at),
        updated_at=stamp(workflow.updated_at),
    )


def starter_input(name: str) -> WorkflowInput:
    """A new workflow: one Manual Trigger, so Run works from the first moment."""
    trigger = {"id": new_id(), "name": "Manual Trigger", "type": "trigger.manual", "position": [0, 0], "parameters": {}}
    return WorkflowInput(name=name, nodes=[trigger], connections={})


def copy_input(original: Workflow) -> WorkflowInput:
    """A duplicate of ``original``'s current version, named so it is told apart."""
    return WorkflowInput(
        name=f"{original.name} (copy)"[:200],
        description=original.description,
        nodes=original.graph.get("nodes", []),
        connections=original.graph.get("connections", {}),
        settings=original.settings,
        tags=original.tags,
        version_note=f"duplicated from {original.name}",
    )


def _tag_names(raw: Any) -> list[str]:
    """Tags as strings: n8n exports them as ``{"id", "name"}`` objects, our API as plain strings."""
    if not isinstance(raw, list):
        return []
    names = [item.get("name") if isinstance(item, dict) else item for item in raw]
    return [name for name in names if isinstance(name, str) and name.strip()]


def import_input(file_name: str, content: bytes) -> WorkflowInput:
    """Read an exported workflow (n8n's JSON shape; extra export fields such as ``id`` or ``pinData`` ignored).

    Raises:
        InvalidInput: Not JSON, not a workflow object, or a field of the wrong type (named).
    """
    if len(content) > MAX_IMPORT_BYTES:
        raise InvalidInput(f"{file_name} is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; is it a workflow?")
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput(f"{file_name} is not a JSON file: {err}.") from err
    if not isinstance(data, dict) or "nodes" not in data:
        raise InvalidInput(f"{file_name} is not a workflow: expected a JSON object with 'nodes' and 'connections'.")
    name = data.get("name") if isinstance(data.get("name"), str) and data["name"].strip() else PurePath(file_name).stem
    try:
        return WorkflowInput(
            name=name[:200],
            description=data.get("description") or "",
            nodes=data.get("nodes") or [],
            connections=data.get("connections") or {},
            settings=data.get("settings") or {},
            tags=_tag_names(data.get("tags")),
            version_note=f"imported from {file_name}",
        )
    except ValidationError as err:
        problems = [f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in err.errors()]
        raise InvalidInput(f"{file_name} is not a valid workflow: {'; '.join(problems)}.") from err


def _is_run_status(event: dict[str, Any]) -> bool:
    return event.get("type") == "execution.status"


class WorkflowsState(LivePageState):
    rows: list[WorkflowRow] = []
    total: int = 0
    loaded: bool = False
    search: str = ""
    tag: str = ""
    offset: int = 0
    create_open: bool = False
    create_error: str = ""
    import_open: bool = False
    import_message: str = ""
    import_problems: list[ImportProblem] = []

    @rx.var
    def filtered(self) -> bool:
        return self.search != "" or self.tag != ""

    def _filters(self) -> WorkflowFilter:
        return WorkflowFilter(search=self.search or None, tag=self.tag or None, limit=PAGE_SIZE, offset=self.offset)

    def _show(self, found: list[tuple[Workflow, str | None]], total: int) -> None:
        self.rows = [_row(workflow, status) for workflow, status in found]
        self.total = total
        self.loaded = True

    async def _refresh(self) -> None:
        self._begin_read()
        self._show(*await asyncio.to_thread(workflows.list_workflows, self._filters()))

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_WORKFLOWS)
        if redirect is not None:
            return redirect
        await self._refresh()
        return WorkflowsState.follow(self._next_relay())

    @rx.event(background=True)
    async def follow(self, generation: int):
        """Keep each row's last run status current while the list is open."""
        await self._relay(generation, ROUTE, _is_run_status, self._on_events)

    async def _on_events(self, _events: Batch) -> None:
        async with self:
            filters, ticket = self._filters(), self._begin_read()
        found = await asyncio.to_thread(workflows.list_workflows, filters)
        async with self:
            if self._latest_read(ticket):
                self._show(*found)

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        self.offset = 0
        await self._refresh()

    @rx.event
    async def filter_tag(self, tag: str):
        self.tag = tag
        self.offset = 0
        await self._refresh()

    @rx.event
    async def page(self, offset: int):
        self.offset = max(0, offset)
        await self._refresh()

    @rx.event
    async def set_active(self, workflow_id: str, active: bool):
        user = await self._acting_user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            changed = await asyncio.to_thread(workflows.set_active, workflow_id, active, actor=user)
        except ServiceError as err:
            await self._refresh()
            return rx.toast.error(err.message)
        await self._refresh()
        if changed.active:
            return rx.toast.success(f"{changed.name} is active: its webhooks and schedules now start runs.")
        return rx.toast.success(f"{changed.name} is inactive: its triggers are off.")

    @rx.event
    def set_create_open(self, is_open: bool) -> None:
        self.create_open = is_open
        self.create_error = ""

    @rx.event
    async def create(self, form: dict[str, Any]):
        user = await self._acting_user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        name = str(form.get("name", "")).strip()
        if not name:
            self.create_error = "Give the workflow a name."
            return None
        if len(name) > 200:
            self.create_error = "Use at most 200 characters."
            return None
        try:
            created = await asyncio.to_thread(workflows.create_workflow, starter_input(name), actor=user)
        except ServiceError as err:
            self.create_error = err.field_errors.get("name", err.message)
            return None
        self.create_open = False
        return rx.redirect(f"/workflows/{created.id}")

    @rx.event
    async def duplicate(self, workflow_id: str):
        user = await self._acting_user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            original = await asyncio.to_thread(workflows.get_workflow, workflow_id)
            copy = await asyncio.to_thread(workflows.create_workflow, copy_input(original), actor=user)
        except ServiceError as err:
            return rx.toast.error(err.message)
        await self._refresh()
        return rx.toast.success(f"Created {copy.name}; it starts inactive.")

    @rx.event
    async def delete(self, workflow_id: str):
        user = await self._acting_user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            original = await asyncio.to_thread(workflows.get_workflow, workflow_id)
            await asyncio.to_thread(workflows.delete_workflow, workflow_id, actor=user)
        except ServiceError as err:
            await self._refresh()
            return rx.toast.error(err.message)
        if self.offset and len(self.rows) == 1:
            self.offset = max(0, self.offset - PAGE_SIZE)
        await self._refresh()
        return rx.toast.success(f"Deleted {original.name} with its versions and runs.")

    @rx.event
    def set_import_open(self, is_open: bool) -> None:
        self.import_open = is_open
        self.import_message = ""
        self.import_problems = []

    @rx.event
    async def import_file(self, files: list[rx.UploadFile]):
        user = await self._acting_user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        if not files:
            return None
        upload = files[0]
        file_name = PurePath(upload.name or "workflow.json").name
        self.import_message = ""
        self.import_problems = []
        try:
            content = await upload.read()
            created = await asyncio.to_thread(workflows.create_workflow, import_input(file_name, content), actor=user)
        except ServiceError as err:
            self.import_message = err.message
            self.import_problems = [
                ImportProblem(node=str(problem.get("node") or ""), message=_problem_text(problem))
                for problem in err.problems
            ]
            return None
        self.import_open = False
        await self._refresh()
        nodes = len(created.graph.get("nodes", []))
        return rx.toast.success(f"Imported {created.name} ({nodes} nodes); it starts inactive.")


def _problem_text(problem: dict[str, Any]) -> str:
    parameter = problem.get("parameter")
    message = str(problem.get("message") or "")
    return f"{parameter}: {message}" if parameter else message
