"""/executions: every run, filtered and paged, with the runs-per-day chart; live as runs start and end."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import Execution, ExecutionMode
from hitl_studio.services import executions, run_stats, workflows
from hitl_studio.services.errors import NotFound
from hitl_studio.services.executions import ExecutionFilter
from hitl_studio.services.workflows import WorkflowFilter
from hitl_studio.ui.components.times import duration, relative, stamp
from hitl_studio.ui.state.live_page import Batch, LivePageState

ROUTE = "/executions"
PAGE_SIZE = 25
CHART_DAYS = 14
ANY = "any"
"""The select value for "no filter" (Radix select items cannot have an empty value)."""
STATUSES = [status.value for status in RunStatus]
MODES = [mode.value for mode in ExecutionMode]
WORKFLOW_CHOICES = 200
FILTER_FIELDS = frozenset({"workflow_filter", "status_filter", "mode_filter", "since", "until"})
"""The vars :meth:`ExecutionsState.set_filter` may change."""
"""Workflows offered in the filter (the most recently edited ones)."""


@dataclass
class RunRow:
    id: str
    short_id: str
    workflow_id: str
    workflow_name: str
    status: str
    mode: str
    started: str
    started_at: str
    duration: str


@dataclass
class WorkflowChoice:
    id: str
    name: str


def _row(execution: Execution, names: dict[str, str]) -> RunRow:
    end = execution.finished_at
    return RunRow(
        id=execution.id,
        short_id=execution.id[-8:],
        workflow_id=execution.workflow_id,
        workflow_name=names.get(execution.workflow_id, "(deleted workflow)"),
        status=execution.status,
        mode=execution.mode,
        started=relative(execution.started_at or execution.created_at),
        started_at=stamp(execution.started_at or execution.created_at),
        duration=duration(execution.started_at, end) if end else "",
    )


def _day_start(text: str) -> datetime | None:
    """Midnight UTC of a ``YYYY-MM-DD`` date input, or ``None`` when empty or unreadable."""
    try:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC) if text else None
    except ValueError:
        return None


def chart_rows(days: list[run_stats.DayCount]) -> list[dict[str, Any]]:
    """The chart's data: one object per day, ``day`` (``Mar 14``) plus a count per status."""
    return [{"day": entry.day.strftime("%b %d"), **entry.counts} for entry in days]


def _workflow_names() -> list[WorkflowChoice]:
    found, _total = workflows.list_workflows(WorkflowFilter(limit=WORKFLOW_CHOICES))
    return sorted((WorkflowChoice(workflow.id, workflow.name) for workflow, _status in found), key=lambda c: c.name)


def _name_of(workflow_id: str) -> str | None:
    try:
        return workflows.get_workflow(workflow_id).name
    except NotFound:
        return None


def _is_run_status(event: dict[str, Any]) -> bool:
    return event.get("type") == "execution.status"


class ExecutionsState(LivePageState):
    rows: list[RunRow] = []
    total: int = 0
    loaded: bool = False
    offset: int = 0
    workflow_filter: str = ANY
    status_filter: str = ANY
    mode_filter: str = ANY
    since: str = ""
    until: str = ""
    workflow_choices: list[WorkflowChoice] = []
    chart: list[dict[str, Any]] = []
    chart_total: int = 0
    date_error: str = ""

    @rx.var
    def filtered(self) -> bool:
        return (
            self.workflow_filter != ANY
            or self.status_filter != ANY
            or self.mode_filter != ANY
            or self.since != ""
            or self.until != ""
        )

    def _filters(self) -> tuple[ExecutionFilter, str | None]:
        until = _day_start(self.until)
        chosen = None if self.workflow_filter == ANY else self.workflow_filter
        filters = ExecutionFilter(
            workflow_id=chosen,
            status=None if self.status_filter == ANY else self.status_filter,
            mode=None if self.mode_filter == ANY else self.mode_filter,
            since=_day_start(self.since),
            # The "to" day is included: runs before the next midnight.
            until=until + timedelta(days=1) if until else None,
            limit=PAGE_SIZE,
            offset=self.offset,
        )
        return filters, chosen

    @staticmethod
    def _fetch(filters: ExecutionFilter, workflow_id: str | None, names: dict[str, str]) -> dict[str, Any]:
        """Runs, names of their workflows and the chart, read in one worker thread."""
        found, total = executions.list_executions(filters)
        for missing in {run.workflow_id for run in found} - names.keys():
            name = _name_of(missing)
            if name is not None:
                names[missing] = name
        days = run_stats.runs_per_day(CHART_DAYS, workflow_id=workflow_id)
        return {
            "rows": [_row(run, names) for run in found],
            "total": total,
            "chart": chart_rows(days),
            "chart_total": sum(entry.total for entry in days),
        }

    def _show(self, fetched: dict[str, Any]) -> None:
        self.rows = fetched["rows"]
        self.total = fetched["total"]
        self.chart = fetched["chart"]
        self.chart_total = fetched["chart_total"]
        self.loaded = True

    def _names(self) -> dict[str, str]:
        return {choice.id: choice.name for choice in self.workflow_choices}

    async def _refresh(self) -> None:
        if self.since and self.until and self.since > self.until:
            self.date_error = "The start date is after the end date."
            return
        self.date_error = ""
        filters, chosen = self._filters()
        self._begin_read()
        self._show(await asyncio.to_thread(self._fetch, filters, chosen, self._names()))

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_WORKFLOWS)
        if redirect is not None:
            return redirect
        self.workflow_choices = await asyncio.to_thread(_workflow_names)
        wanted = self.router.url.query_parameters.get("workflow", "")
        self.workflow_filter = wanted if wanted in self._names() else ANY
        self.offset = 0
        await self._refresh()
        return ExecutionsState.follow(self._next_relay())

    @rx.event(background=True)
    async def follow(self, generation: int):
        """New runs and status changes appear without a reload."""
        await self._relay(generation, ROUTE, _is_run_status, self._on_events)

    async def _on_events(self, _events: Batch) -> None:
        async with self:
            if self.date_error:
                return
            filters, chosen = self._filters()
            names, ticket = self._names(), self._begin_read()
        fetched = await asyncio.to_thread(self._fetch, filters, chosen, names)
        async with self:
            if self._latest_read(ticket):
                self._show(fetched)

    @rx.event
    async def set_filter(self, name: str, value: str):
        """Change one filter (workflow, status, mode, since, until) and go back to the first page."""
        if name not in FILTER_FIELDS:  # the name comes from the browser: never set just any attribute
            return
        setattr(self, name, value)
        self.offset = 0
        await self._refresh()

    @rx.event
    async def clear_filters(self):
        self.workflow_filter = self.status_filter = self.mode_filter = ANY
        self.since = self.until = ""
        self.offset = 0
        await self._refresh()

    @rx.event
    async def page(self, offset: int):
        self.offset = max(0, offset)
        await self._refresh()
