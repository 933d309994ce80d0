"""What active workflows listen to: webhook routes and cron schedules.

Webhook routes are derived from the active workflows themselves (no table of
their own): each process keeps a map and rebuilds it when the set of active
workflows changes, which one cheap query detects. Schedules are rows
(``schedule``); the queue carries one delayed job per next fire time, and
:func:`schedule_pending` (run after activation and by the reconciler)
re-creates any job that is missing, so a flushed Redis loses nothing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.graph import parse_workflow, trigger_nodes
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.workflows import Schedule, Workflow, WorkflowVersion
from hitl_studio.queue import get_queue
from hitl_studio.services.errors import Conflict, InvalidInput
from nodes.registry import get_registry
from nodes.sdk import TriggerKind
from nodes.triggers.schedule import ScheduleParameters, next_fire_times
from nodes.triggers.webhook import WebhookParameters

logger = logging.getLogger(__name__)
FIRE_JOB = "hitl_studio.queue.jobs.fire_schedule"
ACTIVATABLE = {TriggerKind.WEBHOOK, TriggerKind.SCHEDULE, TriggerKind.POLL}


@dataclass(frozen=True)
class WebhookRoute:
    workflow_id: str
    node_name: str
    method: str
    segments: tuple[str, ...]
    params: WebhookParameters

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        """Path parameters when ``segments`` fit this route (``:name`` matches one segment)."""
        if len(segments) != len(self.segments):
            return None
        captured: dict[str, str] = {}
        for pattern, actual in zip(self.segments, segments, strict=True):
            if pattern.startswith(":"):
                captured[pattern[1:]] = actual
            elif pattern != actual:
                return None
        return captured

    @property
    def literal(self) -> bool:
        return not any(segment.startswith(":") for segment in self.segments)


def split_path(path: str) -> tuple[str, ...]:
    return tuple(segment for segment in path.strip("/").split("/") if segment)


def _webhooks_of(workflow: Workflow) -> list[WebhookRoute]:
    graph = parse_workflow({"name": workflow.name, **workflow.graph, "settings": workflow.settings})
    routes = []
    for spec, cls in trigger_nodes(graph, get_registry()):
        if cls.trigger_kind == TriggerKind.WEBHOOK:
            params = WebhookParameters.model_validate(spec.parameters)
            routes.append(WebhookRoute(workflow.id, spec.name, params.method, split_path(params.path), params))
    return routes


def _schedules_of(workflow: Workflow) -> list[tuple[str, ScheduleParameters]]:
    graph = parse_workflow({"name": workflow.name, **workflow.graph, "settings": workflow.settings})
    return [
        (spec.id, ScheduleParameters.model_validate(spec.parameters))
        for spec, cls in trigger_nodes(graph, get_registry())
        if cls.trigger_kind == TriggerKind.SCHEDULE
    ]


def sync(session: Session, workflow: Workflow) -> None:
    """Register (or re-register) the triggers of ``workflow``'s current version.

    Raises:
        InvalidInput: No trigger that needs activating (manual-only workflows just run).
        Conflict: Another active workflow has a webhook with the same method and path.
    """
    graph = parse_workflow({"name": workflow.name, **workflow.graph, "settings": workflow.settings})
    kinds = {cls.trigger_kind for _, cls in trigger_nodes(graph, get_registry())}
    if not kinds & ACTIVATABLE:
        raise InvalidInput(
            "This workflow has no trigger to activate; add a Webhook or a Schedule Trigger "
            "(a Manual Trigger runs with the Run button, no activation needed)."
        )
    mine = _webhooks_of(workflow)
    others = session.exec(select(Workflow).where(col(Workflow.active), col(Workflow.id) != workflow.id))
    taken = {(route.method, route.segments): other for other in others for route in _webhooks_of(other)}
    for route in mine:
        clash = taken.get((route.method, route.segments))
        if clash is not None:
            raise Conflict(
                f"{route.method} /webhook/{'/'.join(route.segments)} is already used by the active workflow "
                f"{clash.name!r}; change the path of node {route.node_name!r}."
            )
    wanted = {node_id: params for node_id, params in _schedules_of(workflow)}
    existing = {row.node_id: row for row in session.exec(select(Schedule).where(Schedule.workflow_id == workflow.id))}
    for node_id, row in existing.items():
        if node_id not in wanted:
            session.delete(row)
    for node_id, params in wanted.items():
        row = existing.get(node_id) or Schedule(workflow_id=workflow.id, node_id=node_id, cron=params.cron)
        if row.cron != params.cron or row.timezone != params.timezone or row.next_run_at is None:
            row.cron, row.timezone = params.cron, params.timezone
            row.next_run_at = next_fire_times(params.cron, params.timezone, 1)[0]
        row.active = True
        session.add(row)


def unregister(session: Session, workflow: Workflow) -> None:
    """Stop listening: schedules are removed (their queued jobs find nothing and end)."""
    session.execute(delete(Schedule).where(col(Schedule.workflow_id) == workflow.id))


def _fire_job_id(schedule: Schedule) -> str:
    moment = schedule.next_run_at or utcnow()
    return f"schedule-{schedule.id}-{int(moment.timestamp())}"


def schedule_pending() -> int:
    """Make sure every active schedule has its next job in the queue; returns how many it (re)enqueued.

    Enqueueing is idempotent (the job id is the schedule and its fire time),
    so this is safe to run as often as the reconciler likes.
    """
    with session_scope() as session:
        rows = list(session.exec(select(Schedule).where(col(Schedule.active))))
    queue = get_queue()
    for row in rows:
        when = row.next_run_at or utcnow()
        queue.enqueue_at(max(when, utcnow()), FIRE_JOB, row.id, when.isoformat(), job_id=_fire_job_id(row))
    return len(rows)


def fire_schedule(schedule_id: str, due: str) -> str | None:
    """The job at a schedule's fire time: start one run, then book the next fire time.

    A fire time missed while nothing ran (studio down, Redis flushed) runs
    once when noticed, not once per missed slot: the next time is computed from now.
    """
    from hitl_studio.services.executions import StartOptions, start_execution

    with session_scope() as session:
        row = session.get(Schedule, schedule_id)
        if row is None or not row.active:
            return None
        if row.next_run_at is None or abs((row.next_run_at - datetime.fromisoformat(due)).total_seconds()) > 1:
            return None
        now = utcnow()
        row.last_run_at = now
        row.next_run_at = next_fire_times(row.cron, row.timezone, 1, after=now)[0]
        session.add(row)
        workflow_id, node_id = row.workflow_id, row.node_id
        workflow = session.get(Workflow, workflow_id)
        start_node = _node_name(session, workflow, node_id) if workflow else None
    if start_node is None:
        return None
    execution = start_execution(
        workflow_id, [{"scheduled_at": due}], StartOptions(mode=ExecutionMode.CRON, start_node=start_node)
    )
    schedule_pending()
    return execution.id


def _node_name(session: Session, workflow: Workflow, node_id: str) -> str | None:
    version = session.exec(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == workflow.version
        )
    ).first()
    graph = version.graph if version else workflow.graph
    for node in graph.get("nodes", []):
        if str(node.get("id") or node.get("name")) == node_id:
            return str(node.get("name"))
    return None


class _RouteCache:
    """Webhook routes of the active workflows, rebuilt when their set or versions change."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._routes: list[WebhookRoute] = []
        self._lock = threading.Lock()

    def routes(self) -> list[WebhookRoute]:
        with session_scope() as session:
            key = tuple(
                session.exec(
                    select(func.count(), func.max(Workflow.updated_at))
                    .select_from(Workflow)
                    .where(col(Workflow.active))
                ).one()
            )
            if key == self._key:
                return self._routes
            workflows = list(session.exec(select(Workflow).where(col(Workflow.active))))
        routes: list[WebhookRoute] = []
        for workflow in workflows:
            try:
                routes.extend(_webhooks_of(workflow))
            except Exception:
                logger.exception("skipping the webhooks of workflow %s: its graph does not load", workflow.id)
        # Literal paths win over paths with parameters, as people expect.
        routes.sort(key=lambda route: (not route.literal, route.segments))
        with self._lock:
            self._key, self._routes = key, routes
        return routes

    def clear(self) -> None:
        with self._lock:
            self._key, self._routes = None, []


route_cache = _RouteCache()


def find_webhook(method: str, path: str) -> tuple[WebhookRoute, dict[str, str]] | None:
    """The active webhook route for ``method`` and ``path``, with its path parameters."""
    segments = split_path(path)
    for route in route_cache.routes():
        if route.method == method.upper():
            captured = route.match(segments)
            if captured is not None:
                return route, captured
    return None


def path_has_any_method(path: str) -> bool:
    """Whether some active webhook listens on ``path`` with another method (for a 405 instead of a 404)."""
    segments = split_path(path)
    return any(route.match(segments) is not None for route in route_cache.routes())


def next_runs(cron: str, timezone: str, count: int = 5) -> list[str]:
    """The next fire times of a schedule, for the node panel."""
    return [moment.astimezone(UTC).isoformat() for moment in next_fire_times(cron, timezone, count)]
