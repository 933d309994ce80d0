"""/executions/{id}: one run, its per-node timeline and each step's items; retry and cancel; live while it runs.

Steps are written when a run ends or pauses, so while it runs the timeline is
built from the bus's ``node.started`` / ``node.finished`` events, and replaced
by the stored steps at the next status change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.db import utcnow
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import Execution, ExecutionStep
from hitl_studio.models.users import User
from hitl_studio.services import executions, workflows
from hitl_studio.services.errors import NotFound, ServiceError
from hitl_studio.ui.components.times import clock, duration, stamp
from hitl_studio.ui.state.live_page import Batch, LivePageState

ROUTE_ARG = "execution_page_id"
ROUTE = f"/executions/[{ROUTE_ARG}]"
ACTIVE = frozenset({RunStatus.QUEUED.value, RunStatus.RUNNING.value, RunStatus.WAITING.value})
RETRYABLE = frozenset({RunStatus.FAILED.value, RunStatus.CANCELLED.value})


@dataclass
class RunHeader:
    id: str = ""
    workflow_id: str = ""
    workflow_name: str = ""
    version: int = 0
    status: str = ""
    mode: str = ""
    created: str = ""
    started: str = ""
    finished: str = ""
    duration: str = ""
    error_node: str = ""
    error_message: str = ""
    waiting_node: str = ""
    retry_of_id: str = ""
    parent_execution_id: str = ""


@dataclass
class StepRow:
    index: int
    node: str
    status: str
    started: str
    duration: str
    items_in: int
    items_out: str
    error: str
    run_index: int = 0


@dataclass
class Branch:
    """One input or output of a step: its label and how many items it holds."""

    label: str
    count: int


@dataclass
class StepData:
    """A step's items by input and by output (each item's ``json``), kept on the server until shown."""

    inputs: list[list[dict[str, Any]]] = field(default_factory=list)
    outputs: list[list[dict[str, Any]]] = field(default_factory=list)


def _item_json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict) and isinstance(raw.get("json"), dict):
        return raw["json"]
    return raw if isinstance(raw, dict) else {"value": raw}


def _branches(data: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    main = (data or {}).get("main") or []
    return [[_item_json(item) for item in branch or []] for branch in main]


def _header(execution: Execution, workflow_name: str) -> RunHeader:
    error = execution.error or {}
    paused = (execution.frontier or {}).get("paused") or {}
    end = execution.finished_at or (utcnow() if execution.status == RunStatus.RUNNING else None)
    return RunHeader(
        id=execution.id,
        workflow_id=execution.workflow_id,
        workflow_name=workflow_name,
        version=execution.workflow_version,
        status=execution.status,
        mode=execution.mode,
        created=stamp(execution.created_at),
        started=stamp(execution.started_at),
        finished=stamp(execution.finished_at),
        duration=duration(execution.started_at, end),
        error_node=str(error.get("node") or ""),
        error_message=str(error.get("message") or ""),
        waiting_node=str(paused.get("node") or "") if execution.status == RunStatus.WAITING else "",
        retry_of_id=execution.retry_of_id or "",
        parent_execution_id=execution.parent_execution_id or "",
    )


def _step_row(index: int, step: ExecutionStep, data: StepData) -> StepRow:
    error = step.error or {}
    message = str(error.get("message") or "")
    if error.get("item_index") is not None and message:
        message = f"{message} (item {error['item_index']})"
    return StepRow(
        index=index,
        node=step.node_name,
        status=step.status,
        started=clock(step.started_at),
        duration=duration(step.started_at, step.finished_at),
        items_in=sum(len(branch) for branch in data.inputs),
        items_out=" | ".join(str(len(branch)) for branch in data.outputs) if data.outputs else "",
        error=message,
        run_index=step.run_index,
    )


def load_run(execution_id: str) -> tuple[RunHeader, list[StepRow], list[StepData]]:
    """The run, its steps as rows and their items (from the row or the file store), in one worker thread.

    Raises:
        NotFound: No such run.
    """
    execution, steps, _history = executions.get_execution(execution_id)
    try:
        name = workflows.get_workflow(execution.workflow_id).name
    except NotFound:
        name = "(deleted workflow)"
    data = []
    for step in steps:
        inputs, outputs = executions.step_data(step)
        data.append(StepData(_branches(inputs), _branches(outputs) if outputs is not None else []))
    rows = [_step_row(index, step, data[index]) for index, step in enumerate(steps)]
    return _header(execution, name), rows, data


class ExecutionDetailState(LivePageState):
    run: RunHeader = RunHeader()
    missing: str = ""
    loaded: bool = False
    steps: list[StepRow] = []
    live_steps: list[StepRow] = []
    selected: int = -1
    side: str = "output"
    branches: list[Branch] = []
    branch: int = 0
    shown_items: list[dict[str, Any]] = []
    _data: list[StepData] = []

    @rx.var
    def is_active(self) -> bool:
        return self.run.status in ACTIVE

    @rx.var
    def retryable(self) -> bool:
        return self.run.status in RETRYABLE

    @rx.var
    def canvas_url(self) -> str:
        return f"/workflows/{self.run.workflow_id}?execution={self.run.id}"

    @rx.var
    def selected_node(self) -> str:
        return self.steps[self.selected].node if 0 <= self.selected < len(self.steps) else ""

    def _execution_id(self) -> str:
        return self.current_path.rsplit("/", 1)[-1]

    def _show(self, header: RunHeader, rows: list[StepRow], data: list[StepData]) -> None:
        self.run = header
        self.steps = rows
        self._data = data
        self.live_steps = []
        self.loaded = True
        self.missing = ""
        if not 0 <= self.selected < len(rows):
            # Open the step that failed, else the last one: what a person opening a run looks for first.
            failed = [row.index for row in rows if row.error]
            self.selected = failed[0] if failed else len(rows) - 1
        self._show_items()

    def _show_items(self) -> None:
        if not 0 <= self.selected < len(self._data):
            self.branches, self.shown_items = [], []
            return
        data = self._data[self.selected]
        lists = data.inputs if self.side == "input" else data.outputs
        word = "Input" if self.side == "input" else "Output"
        self.branches = [Branch(f"{word} {number + 1}", len(items)) for number, items in enumerate(lists)]
        if not 0 <= self.branch < len(lists):
            # The first branch with items (an IF's false branch may be the one that has them).
            self.branch = next((number for number, items in enumerate(lists) if items), 0)
        self.shown_items = lists[self.branch] if lists else []

    async def _reload(self) -> None:
        self._begin_read()
        try:
            self._show(*await asyncio.to_thread(load_run, self._execution_id()))
        except NotFound as err:
            self.missing = err.message
            self.loaded = True

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_WORKFLOWS)
        if redirect is not None:
            return redirect
        self.loaded = False
        self.selected = -1
        self.side = "output"
        self.branch = 0
        await self._reload()
        return ExecutionDetailState.follow(self._next_relay(), self.current_path)

    @rx.event(background=True)
    async def follow(self, generation: int, path: str):
        """Node by node while the run goes; the stored steps once it pauses or ends."""
        execution_id = path.rsplit("/", 1)[-1]
        await self._relay(generation, path, lambda event: event.get("execution_id") == execution_id, self._on_events)

    async def _on_events(self, events: Batch) -> None:
        loaded = None
        # No events: the relay's first re-read. A status change: the stored steps are the truth now.
        if not events or any(event.get("type") == "execution.status" for event in events):
            async with self:
                ticket = self._begin_read()
            try:
                loaded = await asyncio.to_thread(load_run, self._execution_id())
            except NotFound:
                return
        async with self:
            if loaded is not None and self._latest_read(ticket):
                self._show(*loaded)
            if self.run.status == RunStatus.RUNNING:
                self._apply_node_events([event for event in events if str(event.get("type")).startswith("node.")])

    def _apply_node_events(self, events: list[dict[str, Any]]) -> None:
        """Add or update the live timeline's rows: a row per node run, running until it finishes."""
        live = list(self.live_steps)
        for event in events:
            node, run_index = str(event.get("node") or ""), int(event.get("run_index") or 0)
            position = next((n for n, row in enumerate(live) if row.node == node and row.run_index == run_index), None)
            if event.get("type") == "node.started" and position is None:
                live.append(StepRow(len(live), node, "running", clock(utcnow()), "", 0, "", "", run_index))
            elif event.get("type") == "node.finished":
                counts = event.get("items") or []
                row = StepRow(
                    index=len(live) if position is None else position,
                    node=node,
                    status=str(event.get("status") or ""),
                    started=live[position].started if position is not None else clock(utcnow()),
                    duration="",
                    items_in=0,
                    items_out=" | ".join(str(count) for count in counts),
                    error=str(event.get("error") or ""),
                    run_index=run_index,
                )
                if position is None:
                    live.append(row)
                else:
                    live[position] = row
        self.live_steps = live

    @rx.event
    def select_step(self, index: int) -> None:
        self.selected = index
        self.branch = -1
        self._show_items()

    @rx.event
    def set_side(self, side: str | list[str]) -> None:
        self.side = "input" if side == "input" else "output"
        self.branch = -1
        self._show_items()

    @rx.event
    def set_branch(self, branch: str) -> None:
        self.branch = int(branch) if branch.isdigit() else 0
        self._show_items()

    @rx.event
    async def retry(self):
        user = await self._acting_user(Permission.RUN_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            again = await asyncio.to_thread(executions.retry_execution, self.run.id, actor=user)
        except ServiceError as err:
            await self._reload()
            return rx.toast.error(err.message)
        return [rx.redirect(f"/executions/{again.id}"), rx.toast.success("Retrying: this is the new run.")]

    @rx.event
    async def cancel(self):
        user = await self._acting_user(Permission.RUN_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            await asyncio.to_thread(executions.cancel_execution, self.run.id, actor=user)
        except ServiceError as err:
            await self._reload()
            return rx.toast.error(err.message)
        await self._reload()
        return rx.toast.success("Run cancelled.")
