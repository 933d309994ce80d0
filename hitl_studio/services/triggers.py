"""What workflows listen to: webhook routes, test-webhook listeners and schedules.

Webhook routes are derived from the active workflows themselves (no table of
their own): each process keeps a map and rebuilds it when the set of active
workflows changes (see :class:`_RouteCache` for how a change is noticed
without a query per request).

Schedules (cron, or every N seconds) are rows (``schedule``); the queue
carries one delayed job per next fire time, and :func:`schedule_pending` (run
after activation and by the reconciler) re-creates any job that is missing,
so a flushed Redis loses nothing. Intervals use the same one-job-per-fire
scheme rather than rq-scheduler's repeating jobs: those exist only in RQ (the
embedded queue would need a second mechanism), are not idempotent to re-create
from the database, and would run every slot missed while the scheduler was
down instead of once. rq-scheduler's one-second poll (``python -m hitl_studio
scheduler``) is fine enough for intervals of a second or more.

Test webhooks (the editor's "Listen for test event") are listeners that live
for :data:`TEST_LISTEN_SECONDS` and answer one request on
``/webhook-test/<path>``; see :class:`_ListenerStore` for where they are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import delete, event, func
from sqlmodel import Session, col, select

from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.graph import parse_workflow, trigger_nodes
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.workflows import Schedule, Workflow, WorkflowVersion
from hitl_studio.queue import get_queue, get_redis
from hitl_studio.services.errors import Conflict, InvalidInput, NotFound
from hitl_studio.settings import get_settings
from nodes.registry import UnknownNodeType, get_registry
from nodes.sdk import PollParameters, PollTriggerNode, TriggerKind
from nodes.triggers.schedule import ScheduleParameters, following_fire, next_fire_times
from nodes.triggers.webhook import WebhookParameters

logger = logging.getLogger(__name__)
FIRE_JOB = "hitl_studio.queue.jobs.fire_schedule"
ACTIVATABLE = {TriggerKind.WEBHOOK, TriggerKind.SCHEDULE, TriggerKind.POLL}
# A fire job whose due time is further than this from the schedule's next fire time is stale.
_DUE_TOLERANCE_SECONDS = 0.5
TEST_LISTEN_SECONDS = 120
# Active workflows changed other than through this module are noticed within this many seconds.
ROUTE_RECHECK_SECONDS = 5.0
# Route matching needs no parameters; test listeners keep none (see WebhookListener).
_NO_PARAMS = WebhookParameters(path="-")


@dataclass(frozen=True)
class WebhookRoute:
    workflow_id: str
    node_name: str
    method: str
    segments: tuple[str, ...]
    params: WebhookParameters
    version: int | None = None

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


def _webhooks_of(workflow: Workflow | WorkflowVersion) -> list[WebhookRoute]:
    graph = parse_workflow({"name": workflow.name, **workflow.graph, "settings": workflow.settings})
    workflow_id = workflow.workflow_id if isinstance(workflow, WorkflowVersion) else workflow.id
    routes = []
    for spec, cls in trigger_nodes(graph, get_registry()):
        if cls.trigger_kind == TriggerKind.WEBHOOK:
            params = WebhookParameters.model_validate(spec.parameters)
            segments = split_path(params.path)
            routes.append(WebhookRoute(workflow_id, spec.name, params.method, segments, params, workflow.version))
    return routes


def _schedules_of(workflow: Workflow) -> list[tuple[str, ScheduleParameters]]:
    """The rule and time zone of each Schedule Trigger and polling trigger, by node id.

    A polling trigger is booked like a schedule: its ``poll_every`` is the rule.
    """
    graph = parse_workflow({"name": workflow.name, **workflow.graph, "settings": workflow.settings})
    found = []
    for spec, cls in trigger_nodes(graph, get_registry()):
        if cls.trigger_kind == TriggerKind.SCHEDULE:
            found.append((spec.id, ScheduleParameters.model_validate(spec.parameters)))
        elif cls.trigger_kind == TriggerKind.POLL:
            polling = cls.Parameters.model_validate(spec.parameters)
            assert isinstance(polling, PollParameters)  # the registry refuses polling triggers without them
            found.append((spec.id, ScheduleParameters(cron=polling.poll_every, timezone=polling.timezone)))
    return found


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
            "This workflow has no trigger to activate; add a Webhook, a Schedule Trigger or a polling trigger "
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
    _routes_change_on_commit(session)
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
    _routes_change_on_commit(session)
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
    for row in rows:
        _book(row)
    return len(rows)


def _book(schedule: Schedule) -> None:
    """Queue the job of ``schedule``'s next fire time (a no-op if it is queued already)."""
    when = schedule.next_run_at or utcnow()
    get_queue().enqueue_at(max(when, utcnow()), FIRE_JOB, schedule.id, when.isoformat(), job_id=_fire_job_id(schedule))


def fire_schedule(schedule_id: str, due: str) -> str | None:
    """The job at a schedule's fire time: book the next fire time, then start one run.

    A fire time missed while nothing ran (studio down, Redis flushed) runs
    once when noticed, not once per missed slot (see ``following_fire``).
    Only this schedule's next job is booked here; the reconciler sees to the others.
    """
    from hitl_studio.services.executions import StartOptions, start_execution

    due_at = datetime.fromisoformat(due)
    with session_scope() as session:
        row = session.get(Schedule, schedule_id)
        if row is None or not row.active:
            return None
        if row.next_run_at is None or abs((row.next_run_at - due_at).total_seconds()) > _DUE_TOLERANCE_SECONDS:
            return None
        now = utcnow()
        row.last_run_at = now
        row.next_run_at = following_fire(row.cron, row.timezone, due=due_at, now=now)
        session.add(row)
        workflow_id, node_id = row.workflow_id, row.node_id
        workflow = session.get(Workflow, workflow_id)
        node = _trigger_node(session, workflow, node_id) if workflow else None
    if workflow is None or node is None:
        return None
    _book(row)
    if _polls(node):
        return _poll(row, workflow.version, node)
    execution = start_execution(
        workflow_id, [{"scheduled_at": due}], StartOptions(mode=ExecutionMode.CRON, start_node=str(node["name"]))
    )
    return execution.id


def _poll(schedule: Schedule, version: int, node: dict[str, Any]) -> str | None:
    """Poll a polling trigger from its cursor; start a run with what is new, keep the new cursor.

    The cursor is kept with a fingerprint of the node's parameters: a node that
    now polls another feed (say) starts afresh, its first poll only taking its
    cursor, as after activation. Returns the run started (with the items found,
    or the failed run recording the poll's error), or ``None`` when nothing is new.
    """
    from hitl_studio.services.executions import StartOptions, poll_trigger, start_execution

    fingerprint = _parameters_fingerprint(node)
    kept = schedule.poll_cursor or {}
    first = kept.get("parameters") != fingerprint
    outcome = poll_trigger(schedule.workflow_id, version, str(node["name"]), None if first else kept.get("cursor"))
    if outcome.failed_execution_id is not None:
        return outcome.failed_execution_id
    with session_scope() as session:
        row = session.get(Schedule, schedule.id)
        if row is None:  # deactivated while it polled: neither the cursor nor the items matter any more
            return None
        row.poll_cursor = {"parameters": fingerprint, "cursor": outcome.cursor}
        session.add(row)
    if first or not outcome.items:
        return None
    options = StartOptions(mode=ExecutionMode.POLL, start_node=str(node["name"]), version=version)
    return start_execution(schedule.workflow_id, [item.to_dict() for item in outcome.items], options).id


def _polls(node: dict[str, Any]) -> bool:
    """Whether the node is a polling trigger (an unknown type is not; its run fails as usual)."""
    try:
        cls = get_registry().get(str(node.get("type")), node.get("type_version"))
    except UnknownNodeType:
        return False
    return issubclass(cls, PollTriggerNode)


def _parameters_fingerprint(node: dict[str, Any]) -> str:
    """A digest of the node's type, parameters and credentials: what decides what its polls see."""
    seen = {key: node.get(key) for key in ("type", "parameters", "credentials")}
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


def _trigger_node(session: Session, workflow: Workflow, node_id: str) -> dict[str, Any] | None:
    """The node ``node_id`` (its JSON) in the workflow's current version."""
    version = session.exec(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.version == workflow.version
        )
    ).first()
    graph = version.graph if version else workflow.graph
    for node in graph.get("nodes", []):
        if str(node.get("id") or node.get("name")) == node_id:
            return dict(node)
    return None


class _RouteCache:
    """Webhook routes of the active workflows, rebuilt when their set or versions change.

    A webhook request must not cost a database query just to learn that
    nothing changed. Activation, deactivation, saving an active workflow and
    deleting one all go through :func:`sync` or :func:`unregister`, which mark
    the routes changed once their transaction commits: in this process at
    once, and in queue mode, where several studio processes serve webhooks,
    through a generation counter in Redis that each request reads (one ``GET``
    instead of a transaction). Anything else that changes the active
    workflows is still noticed, by the old check of ``count(*)`` and
    ``max(updated_at)``, at most :data:`ROUTE_RECHECK_SECONDS` later.

    The generations are read before the database, so a change that commits
    during a rebuild makes the next request rebuild again rather than keep
    stale routes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local_generation = 0
        self._built_for: tuple[int, Any] | None = None
        self._key: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._routes: list[WebhookRoute] = []

    def changed(self) -> None:
        """Mark the routes out of date in this process and, in queue mode, in every studio process."""
        with self._lock:
            self._local_generation += 1
        client = get_redis()
        if client is not None:
            try:
                client.incr(_generation_key())
            except redis.RedisError:
                logger.warning("could not tell other studio processes that webhook routes changed", exc_info=True)

    def routes(self) -> list[WebhookRoute]:
        generations = (self._local_generation, _shared_generation())
        now = time.monotonic()
        if generations == self._built_for and now - self._checked_at < ROUTE_RECHECK_SECONDS:
            return self._routes
        with session_scope() as session:
            key = tuple(
                session.exec(
                    select(func.count(), func.max(Workflow.updated_at))
                    .select_from(Workflow)
                    .where(col(Workflow.active))
                ).one()
            )
            if generations == self._built_for and key == self._key:
                self._checked_at = now
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
            self._built_for, self._key, self._checked_at, self._routes = generations, key, now, routes
        return routes

    def clear(self) -> None:
        """Forget the routes, and this process's test listeners (tests switch databases)."""
        with self._lock:
            self._local_generation += 1
            self._built_for, self._key, self._routes = None, None, []
        webhook_listeners.clear()


def _generation_key() -> str:
    return f"hitl:webhook-routes:{get_settings().queue_name}"


def _shared_generation() -> bytes | None:
    """The queue-mode generation of the webhook routes (``None`` in embedded mode or when Redis fails)."""
    client = get_redis()
    if client is None:
        return None
    try:
        value = client.get(_generation_key())
    except redis.RedisError:
        return None
    return value if isinstance(value, bytes) else b"0"


def _routes_change_on_commit(session: Session) -> None:
    """Mark the webhook routes changed once ``session``'s transaction commits (not before: a request
    rebuilding in between would read the old rows)."""
    event.listen(session, "after_commit", lambda _session: route_cache.changed(), once=True)


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


@dataclass(frozen=True)
class WebhookListener:
    """A workflow version listening for one test event on ``/webhook-test/<path>`` until ``expires_at``.

    Only methods and paths are kept here, never a node's secret: the request is
    checked against the parameters of the saved version (:func:`listener_route`).
    """

    workflow_id: str
    version: int
    expires_at: datetime
    routes: tuple[tuple[str, str, str], ...]  # (node name, method, path)

    def to_json(self) -> str:
        return json.dumps(
            {
                "workflow_id": self.workflow_id,
                "version": self.version,
                "expires_at": self.expires_at.isoformat(),
                "routes": [list(route) for route in self.routes],
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> WebhookListener:
        data = json.loads(raw)
        routes = tuple((str(node), str(method), str(path)) for node, method, path in data["routes"])
        return cls(data["workflow_id"], int(data["version"]), datetime.fromisoformat(data["expires_at"]), routes)

    def urls(self) -> list[dict[str, str]]:
        base = get_settings().api_url
        return [
            {"node": node, "method": method, "url": f"{base}/webhook-test/{path}"} for node, method, path in self.routes
        ]


class _ListenerStore:
    """Where listeners live: a Redis hash in queue mode, this process's memory in embedded mode.

    In queue mode the request may reach any studio process, so the listener
    must be visible to all of them: one hash per queue name (field = workflow
    id), which a test run sharing the Redis does not see, and claiming is an
    ``HDEL`` that exactly one caller wins. In embedded mode one process serves
    every request, so a dict under a lock does the same. Not the database: a
    listener lives two minutes and is consumed once, so a table would cost a
    migration and a reaper for data nobody needs after a restart (the editor
    just listens again).
    """

    def __init__(self) -> None:
        self._local: dict[str, WebhookListener] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key() -> str:
        return f"hitl:test-webhooks:{get_settings().queue_name}"

    def put(self, listener: WebhookListener) -> None:
        client = get_redis()
        if client is None:
            with self._lock:
                self._local[listener.workflow_id] = listener
            return
        pipeline = client.pipeline()
        pipeline.hset(self._key(), listener.workflow_id, listener.to_json())
        pipeline.expire(self._key(), TEST_LISTEN_SECONDS)
        pipeline.execute()

    def remove(self, workflow_id: str) -> bool:
        """Drop (or claim) a workflow's listener; ``True`` for the one caller that removed it."""
        client = get_redis()
        if client is None:
            with self._lock:
                return self._local.pop(workflow_id, None) is not None
        return bool(client.hdel(self._key(), workflow_id))

    def live(self) -> list[WebhookListener]:
        """Listeners not yet expired.

        Expired ones are dropped from memory on the way; in Redis they are only
        skipped (dropping one there could race with a renewal of the same
        workflow), and the hash expires once nobody has listened for a while.
        """
        now = utcnow()
        client = get_redis()
        if client is not None:
            listeners = [WebhookListener.from_json(raw) for raw in client.hgetall(self._key()).values()]
            return [listener for listener in listeners if listener.expires_at > now]
        with self._lock:
            for workflow_id in [key for key, listener in self._local.items() if listener.expires_at <= now]:
                del self._local[workflow_id]
            return list(self._local.values())

    def clear(self) -> None:
        """Forget the listeners kept in this process (those in Redis expire on their own)."""
        with self._lock:
            self._local.clear()


webhook_listeners = _ListenerStore()


def _version_row(session: Session, workflow_id: str, version: int) -> WorkflowVersion | None:
    return session.exec(
        select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version)
    ).first()


def listen_for_test(workflow_id: str) -> WebhookListener:
    """Listen for one test event on the webhook paths of the workflow's current saved version, active or not.

    Listening again renews the listener (and follows a newer saved version).

    Raises:
        NotFound: No such workflow.
        InvalidInput: The workflow has no Webhook trigger.
        Conflict: Another workflow is listening on the same method and path.
    """
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        if workflow is None:
            raise NotFound(f"No workflow with id {workflow_id}.")
        version = _version_row(session, workflow_id, workflow.version)
    routes = _webhooks_of(version or workflow)
    if not routes:
        raise InvalidInput(
            "This workflow has no Webhook trigger to listen on; add a Webhook node and save the workflow first."
        )
    mine = {(route.method, route.segments): route for route in routes}
    for other in webhook_listeners.live():
        if other.workflow_id == workflow_id:
            continue
        for _node, method, path in other.routes:
            clash = mine.get((method, split_path(path)))
            if clash is not None:
                with session_scope() as session:
                    holder = session.get(Workflow, other.workflow_id)
                name = repr(holder.name) if holder else other.workflow_id
                raise Conflict(
                    f"The workflow {name} is listening for a test event on {method} /webhook-test/{path}; "
                    f"wait until it has its event (at most {TEST_LISTEN_SECONDS} s) or change the path of "
                    f"node {clash.node_name!r}."
                )
    listener = WebhookListener(
        workflow_id=workflow_id,
        version=workflow.version,
        expires_at=utcnow() + timedelta(seconds=TEST_LISTEN_SECONDS),
        routes=tuple((route.node_name, route.method, route.params.path.strip("/")) for route in routes),
    )
    webhook_listeners.put(listener)
    return listener


def stop_test_listener(workflow_id: str) -> None:
    """Stop listening for a test event (nothing happens if nobody was listening).

    Raises:
        NotFound: No such workflow.
    """
    with session_scope() as session:
        if session.get(Workflow, workflow_id) is None:
            raise NotFound(f"No workflow with id {workflow_id}.")
    webhook_listeners.remove(workflow_id)


def find_test_webhook(method: str, path: str) -> tuple[WebhookListener, str, dict[str, str]] | None:
    """The live listener for ``method`` and ``path``: the listener, its node's name and the path parameters."""
    segments = split_path(path)
    candidates: list[tuple[bool, WebhookListener, str, dict[str, str]]] = []
    for listener in webhook_listeners.live():
        for node, route_method, route_path in listener.routes:
            pattern = WebhookRoute(listener.workflow_id, node, route_method, split_path(route_path), _NO_PARAMS)
            captured = pattern.match(segments) if route_method == method.upper() else None
            if captured is not None:
                candidates.append((not pattern.literal, listener, node, captured))
    if not candidates:
        return None
    # Literal paths win over paths with parameters, as for production webhooks.
    _, listener, node, captured = min(candidates, key=lambda candidate: candidate[0])
    return listener, node, captured


def listened_path_has_any_method(path: str) -> bool:
    """Whether a live listener waits on ``path`` with another method (for a 405 instead of a 404)."""
    segments = split_path(path)
    return any(
        WebhookRoute("", node, method, split_path(route_path), _NO_PARAMS).match(segments) is not None
        for listener in webhook_listeners.live()
        for node, method, route_path in listener.routes
    )


def listener_route(listener: WebhookListener, node_name: str) -> WebhookRoute:
    """The Webhook node's route in the listened-to version, with its parameters (authentication).

    Raises:
        NotFound: The workflow or its version was deleted meanwhile.
    """
    with session_scope() as session:
        version = _version_row(session, listener.workflow_id, listener.version)
    if version is None:
        raise NotFound(f"Version {listener.version} of workflow {listener.workflow_id} no longer exists.")
    for route in _webhooks_of(version):
        if route.node_name == node_name:
            return route
    raise NotFound(f"Node {node_name!r} is no longer in version {listener.version} of the workflow.")


def claim_test_listener(listener: WebhookListener) -> bool:
    """Consume the listener for the one request it answers; ``False`` if another request got it first."""
    return webhook_listeners.remove(listener.workflow_id)
