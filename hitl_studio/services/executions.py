"""Workflow runs: starting them, running them on a worker, pausing, resuming, cancelling, retrying.

This is the only module that changes a run's status (:func:`transition`); each
change is a compare-and-set on the row, so two workers can never both take a
run, and each writes an ``execution_event`` and publishes it on the bus.

A run is one job (``hitl_studio.queue.jobs.run_execution``). The engine runs
in memory; steps are written once, when the run ends or pauses, which keeps
the database out of the per-node hot path.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Update, bindparam, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from hitl_studio import events, files
from hitl_studio.credentials.masking import SecretMasker
from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.graph import (
    GraphError,
    WorkflowGraph,
    output_names,
    parse_workflow,
    trigger_nodes,
    validate,
)
from hitl_studio.engine.runner import Runner, RunResult, Step
from hitl_studio.engine.states import TERMINAL, InvalidTransition, RunStatus, check_transition
from hitl_studio.models.executions import Execution, ExecutionEvent, ExecutionMode, ExecutionStep
from hitl_studio.models.users import User
from hitl_studio.models.workflows import Workflow, WorkflowVersion
from hitl_studio.queue import get_queue
from hitl_studio.services import run_results
from hitl_studio.services.errors import Conflict, InvalidInput, NotFound
from hitl_studio.settings import get_settings
from nodes.registry import get_registry
from nodes.sdk import POLL_CURSOR, Item, NodeError, TriggerKind

logger = logging.getLogger(__name__)

RUN_JOB = "hitl_studio.queue.jobs.run_execution"
RESUME_JOB = "hitl_studio.queue.jobs.resume_execution"
CANCEL_POLL_SECONDS = 0.5
MODE_TRIGGERS = {
    ExecutionMode.MANUAL: TriggerKind.MANUAL,
    ExecutionMode.WEBHOOK: TriggerKind.WEBHOOK,
    ExecutionMode.TEST: TriggerKind.WEBHOOK,
    ExecutionMode.CRON: TriggerKind.SCHEDULE,
    ExecutionMode.ERROR: TriggerKind.ERROR,
    ExecutionMode.SUBWORKFLOW: TriggerKind.SUBWORKFLOW,
    ExecutionMode.POLL: TriggerKind.POLL,
}


def job_id(execution_id: str) -> str:
    return f"run-{execution_id}"


def resume_job_id(execution_id: str) -> str:
    return f"resume-{execution_id}"


def transition(
    session: Session,
    execution: Execution,
    target: RunStatus,
    *,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
    **changes: Any,
) -> bool:
    """Move ``execution`` to ``target`` if it is still in the status we read.

    Returns:
        False when another process changed the status first (the caller lost a race).

    Raises:
        InvalidTransition: The state machine forbids this change.
    """
    current = RunStatus(execution.status)
    check_transition(current, target)
    values = {"status": target.value, **changes}
    # A Core update of the table, not of the mapped class: no ORM bulk-update machinery (session
    # synchronisation, entity compile state) on every run's path; the object is kept in step below.
    statement = _transition_statement(tuple(values))
    parameters = {f"new_{name}": value for name, value in values.items()}
    result = session.execute(statement, {"run_id": execution.id, "expected_status": current.value, **parameters})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for key, value in values.items():
        # Kept in step with the row without marking it changed: the UPDATE above wrote it, and a
        # dirty attribute would make the session write it again at commit.
        set_committed_value(execution, key, value)
    _record_transition(session, execution, current, target, data=data, actor=actor)
    return True


@functools.cache
def _transition_statement(columns: tuple[str, ...]) -> Update:
    """The compare-and-set UPDATE that writes ``columns``, built once per set of columns (a handful exist):
    building and hashing a new statement on every transition cost more Python than running it."""
    table = Execution.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(table.c.id == bindparam("run_id"), table.c.status == bindparam("expected_status"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


def _add_event(session: Session, execution_id: str, kind: str, data: dict[str, Any], actor: str | None) -> None:
    """Append to the run's event log with a Core insert (no ORM object: this is on every run's path)."""
    values = {"execution_id": execution_id, "type": kind, "data": data, "actor": actor, "created_at": utcnow()}
    session.execute(_EVENT_INSERT, values)


# Built once: constructing the statement on every call costs more Python than executing it.
_EVENT_INSERT = insert(ExecutionEvent.__table__)  # type: ignore[attr-defined]
_EXECUTION_INSERT = insert(Execution.__table__)  # type: ignore[attr-defined]
_EXECUTION_COLUMNS = tuple(column.name for column in Execution.__table__.columns)  # type: ignore[attr-defined]


def _record_transition(
    session: Session,
    execution: Execution,
    current: RunStatus,
    target: RunStatus,
    *,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """The ``execution_event`` of a status change (in the caller's transaction), and its bus event."""
    event_data = {"from": current.value, "to": target.value, **(data or {})}
    _add_event(session, execution.id, f"status.{target.value}", event_data, actor)
    events.publish(
        "execution.status",
        execution_id=execution.id,
        workflow_id=execution.workflow_id,
        status=target.value,
        previous=current.value,
    )


def _graph_for(session: Session, workflow_id: str, version: int) -> WorkflowGraph:
    """The parsed graph of a workflow version.

    Versions never change once written (a restore writes a new one), so the
    parsed graph is cached: most runs then skip the query and the parsing.
    """
    key = (workflow_id, version)
    cached = _graphs.get(key)
    if cached is not None:
        return cached
    row = session.exec(
        select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.version == version)
    ).first()
    if row is None:
        raise NotFound(f"Version {version} of workflow {workflow_id} is missing.")
    graph = parse_workflow({"name": row.name, **row.graph, "settings": row.settings})
    with _graphs_lock:
        if len(_graphs) >= GRAPH_CACHE_SIZE:
            _graphs.pop(next(iter(_graphs)))
        _graphs[key] = graph
    return graph


GRAPH_CACHE_SIZE = 512
_graphs: dict[tuple[str, int], WorkflowGraph] = {}
_graphs_lock = threading.Lock()
_runnable: set[tuple[str, int]] = set()


def _start_node(graph: WorkflowGraph, mode: ExecutionMode, requested: str | None) -> str:
    if requested is not None:
        if requested not in graph.nodes:
            raise InvalidInput(f"There is no node named {requested!r}.", field_errors={"start_node": "Unknown node."})
        return requested
    wanted = MODE_TRIGGERS.get(mode, TriggerKind.MANUAL)
    for spec, cls in trigger_nodes(graph, get_registry()):
        if cls.trigger_kind == wanted:
            return spec.name
    hint = {
        TriggerKind.MANUAL: "add a Manual Trigger to run it by hand",
        TriggerKind.ERROR: "add an Error Trigger to use it as an error workflow",
        TriggerKind.SUBWORKFLOW: "add an Execute Workflow Trigger so other workflows can call it",
    }.get(wanted, f"add a {wanted} trigger")
    raise InvalidInput(f"This workflow has no {wanted} trigger; {hint}.", field_errors={"start_node": hint})


def check_runnable(graph: WorkflowGraph) -> None:
    """Raise a 422 listing every problem with the workflow (unknown types, parameters, cycles...)."""
    problems = validate(graph, get_registry())
    if problems:
        raise InvalidInput(
            f"The workflow has {len(problems)} problem(s); fix them and try again.",
            problems=[problem.to_dict() for problem in problems],
        )


@dataclass(frozen=True)
class StartOptions:
    """How to start a run (everything but the workflow and the items)."""

    mode: ExecutionMode = ExecutionMode.MANUAL
    start_node: str | None = None
    actor: User | None = None
    notify: bool = False
    parent_execution_id: str | None = None
    retry_of_id: str | None = None
    version: int | None = None
    pinned: Mapping[str, list[dict[str, Any]]] | None = None
    reuse_execution_id: str | None = None
    only_start_node: bool = False
    """Run the start node alone: nothing downstream of it runs (the editor's "Run this node")."""
    extra: Mapping[str, Any] | None = None


def create_execution(workflow_id: str, items: list[dict[str, Any]], options: StartOptions) -> Execution:
    """Validate and record a run as ``queued`` (not yet enqueued).

    With ``options.version`` given (webhook routes know it) and its graph in the
    cache, the workflow row is not read: the run's foreign key still refuses a
    workflow deleted meanwhile.
    """
    with session_scope() as session:
        version = options.version
        if version is None or (workflow_id, version) not in _graphs:
            workflow = session.get(Workflow, workflow_id)
            if workflow is None:
                raise NotFound(f"No workflow with id {workflow_id}.")
            version = version or workflow.version
        try:
            graph = _graph_for(session, workflow_id, version)
        except GraphError as err:
            raise InvalidInput(str(err), problems=[p.to_dict() for p in err.problems]) from err
        if (workflow_id, version) not in _runnable:
            check_runnable(graph)
            _runnable.add((workflow_id, version))
        start = _start_node(graph, options.mode, options.start_node)
        execution = Execution(
            workflow_id=workflow_id,
            workflow_version=version,
            mode=options.mode.value,
            status=RunStatus.QUEUED.value,
            trigger_data={
                "start_node": start,
                "items": items,
                "pinned": dict(options.pinned or {}),
                "reuse_execution_id": options.reuse_execution_id,
                "stop_after": start if options.only_start_node else None,
                "notify": options.notify,
                **dict(options.extra or {}),
            },
            parent_execution_id=options.parent_execution_id,
            retry_of_id=options.retry_of_id,
            started_by=options.actor.id if options.actor else None,
        )
        # A Core insert of the object's values (ids and times are set when it is built): the ORM's
        # flush (unit of work, identity map) cost a quarter of a webhook request's CPU in the studio.
        try:
            session.execute(_EXECUTION_INSERT, {name: getattr(execution, name) for name in _EXECUTION_COLUMNS})
        except IntegrityError as err:
            raise NotFound(f"No workflow with id {workflow_id}.") from err
        actor = options.actor.email if options.actor else None
        _add_event(session, execution.id, "status.queued", {"mode": execution.mode, "start_node": start}, actor)
    return execution


def start_execution(workflow_id: str, items: list[dict[str, Any]], options: StartOptions | None = None) -> Execution:
    """Record a run and hand it to a worker.

    Raises:
        NotFound: No such workflow.
        InvalidInput: The workflow has problems (listed) or no suitable trigger.
    """
    options = options or StartOptions()
    execution = create_execution(workflow_id, items, options)
    if options.notify:
        run_results.expect(execution.id)
    get_queue().enqueue(RUN_JOB, execution.id, job_id=job_id(execution.id))
    events.publish("execution.status", execution_id=execution.id, workflow_id=workflow_id, status="queued")
    return execution


@dataclass
class PollOutcome:
    """One poll of a polling trigger: what it found and its next cursor, or the failed run that records why not."""

    items: list[Item]
    cursor: dict[str, Any] | None
    failed_execution_id: str | None = None


def poll_trigger(workflow_id: str, version: int, node_name: str, cursor: Mapping[str, Any] | None) -> PollOutcome:
    """Run a polling trigger alone, from ``cursor``, without recording a run unless the poll fails.

    Most polls find nothing, and a row per empty poll would bury the runs that
    matter; a failed poll is recorded as a failed ``poll`` run with the
    trigger's step, so it shows in Executions and starts the error workflow.
    The poller starts the run of what a poll found (:func:`start_execution`).
    """
    with session_scope() as session:
        graph = _graph_for(session, workflow_id, version)
    probe = Execution(
        workflow_id=workflow_id,
        workflow_version=version,
        mode=ExecutionMode.POLL.value,
        status=RunStatus.RUNNING.value,
        trigger_data={"start_node": node_name, "items": []},
    )
    host = StudioHost(probe, poll_of=f"node {node_name!r} of workflow {workflow_id}")
    runner = Runner(
        graph, get_registry(), host, execution_id=probe.id, execution_mode=probe.mode, workflow_id=workflow_id
    )
    result = runner.start(node_name, [], stop_after=node_name, state={node_name: {POLL_CURSOR: cursor}})
    if result.status is RunStatus.SUCCEEDED:
        found = (result.last_outputs.get(node_name) or [[]])[0]
        return PollOutcome(items=found, cursor=result.node_state.get(node_name, {}).get(POLL_CURSOR))
    failed = create_execution(
        workflow_id, [], StartOptions(mode=ExecutionMode.POLL, start_node=node_name, version=version)
    )
    with session_scope() as session:
        claimed = _claim(session, failed.id)
    if claimed is not None:
        _finish(claimed, graph, result, host.masker)
    return PollOutcome(items=[], cursor=None, failed_execution_id=failed.id)


class _CancelCheck:
    """Asks the database whether the run was cancelled, at most every CANCEL_POLL_SECONDS."""

    def __init__(self, execution_id: str) -> None:
        self._execution_id = execution_id
        self._next = time.monotonic() + CANCEL_POLL_SECONDS

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + CANCEL_POLL_SECONDS
        with session_scope() as session:
            status = session.exec(select(Execution.status).where(Execution.id == self._execution_id)).first()
        return status == RunStatus.CANCELLED


class _BusHooks:
    """Publishes each node's start and end for the live canvas; answers a waiting webhook caller early.

    With ``answer_at_node`` (a webhook run in response mode ``respond_node``)
    the response a Respond to Webhook node chose is delivered the moment that
    node succeeds, as n8n does, and the run goes on (a Wait or an Approval
    after it no longer keeps the caller waiting).
    """

    def __init__(self, execution: Execution, masker: SecretMasker, *, answer_at_node: bool = False) -> None:
        self._execution_id = execution.id
        self._workflow_id = execution.workflow_id
        self._masker = masker
        self._answer_at_node = answer_at_node

    def node_started(self, node: str, run_index: int) -> None:
        events.publish(
            "node.started",
            execution_id=self._execution_id,
            workflow_id=self._workflow_id,
            node=node,
            run_index=run_index,
        )

    def node_finished(self, step: Step) -> None:
        events.publish(
            "node.finished",
            execution_id=self._execution_id,
            workflow_id=self._workflow_id,
            node=step.node,
            run_index=step.run_index,
            status=step.status,
            items=[len(output) for output in step.outputs or []],
            error=self._masker.text(step.error["message"]) if step.error else None,
        )

    def responded(self, node: str, response: dict[str, Any]) -> None:
        if not self._answer_at_node:
            return
        try:
            run_results.deliver(self._execution_id, self._masker.data({"status": "responded", "response": response}))
        except Exception:
            # Hooks must not fail the run; the caller then gets 202 when its wait times out.
            logger.exception(
                "could not hand the answer of node %r to the webhook caller of run %s", node, self._execution_id
            )


class StudioHost:
    """The engine's window on the studio: credentials, files, sub-workflows, the ``$env`` allow-list.

    ``poll_of`` names the polling trigger when the "execution" is a poll, which
    is never recorded: the credentials it uses are audited under that name.
    """

    def __init__(self, execution: Execution, *, poll_of: str | None = None) -> None:
        self._execution = execution
        self._poll_of = poll_of
        self._owner_id: str | None = None
        self._owner_loaded = False
        self.masker = SecretMasker()

    def _workflow_owner(self) -> str | None:
        if not self._owner_loaded:
            with session_scope() as session:
                workflow = session.get(Workflow, self._execution.workflow_id)
                self._owner_id = workflow.owner_id if workflow else None
            self._owner_loaded = True
        return self._owner_id

    def credential(self, node_name: str, selection: Mapping[str, Any], type_id: str) -> dict[str, Any]:
        from hitl_studio.services.credentials import decrypted_for_run

        credential_id = selection.get("id") if isinstance(selection, Mapping) else None
        if not credential_id:
            raise NodeError(
                f"no {type_id} credential is selected on node {node_name!r}",
                description="Open the node and pick a credential (or create one under Credentials).",
            )
        data = decrypted_for_run(
            str(credential_id),
            type_id,
            workflow_owner_id=self._workflow_owner(),
            execution_id=self._execution.id,
            poll_of=self._poll_of,
        )
        secret_fields = get_registry().credential_type(type_id).secret_fields
        self.masker.add(str(data[name]) for name in secret_fields if isinstance(data.get(name), str | int))
        return data

    def store_binary(self, data: bytes, *, file_name: str, mime_type: str) -> dict[str, Any]:
        return files.put(data, file_name=file_name, mime_type=mime_type)

    def read_binary(self, reference: Mapping[str, Any]) -> bytes:
        try:
            return files.get(reference)
        except files.FileStoreError as err:
            raise NodeError(str(err)) from err

    def run_workflow(self, workflow_id: str, items: list[Item], *, parent_execution_id: str) -> list[Item]:
        options = StartOptions(mode=ExecutionMode.SUBWORKFLOW, parent_execution_id=parent_execution_id)
        try:
            child = create_execution(workflow_id, [item.to_dict() for item in items], options)
        except (NotFound, InvalidInput) as err:
            raise NodeError(f"cannot run workflow {workflow_id}: {err.message}") from err
        result = _run(child.id)
        if result is None or result.status is not RunStatus.SUCCEEDED:
            message = (result.error or {}).get("message", "it did not finish") if result else "it did not start"
            raise NodeError(f"the sub-workflow run {child.id} failed: {message}")
        return result.last_items()

    def env(self) -> Mapping[str, str]:
        allowed = get_settings().expression_env
        return {name: os.environ[name] for name in allowed if name in os.environ}


def _items_from(raw: list[Any]) -> list[Item]:
    return [Item.from_dict(item) if isinstance(item, Mapping) else Item({"value": item}) for item in raw]


def _prior_outputs(session: Session, execution_id: str | None) -> dict[str, list[list[Item]]]:
    """The last output of every node in an earlier run ("run from this node" reuses them)."""
    if not execution_id:
        return {}
    rows = session.exec(
        select(ExecutionStep).where(ExecutionStep.execution_id == execution_id).order_by(col(ExecutionStep.id))
    )
    outputs: dict[str, list[list[Item]]] = {}
    for step in rows:
        _, produced = step_data(step)
        if produced:
            outputs[step.node_name] = [[Item.from_dict(item) for item in out] for out in produced["main"]]
    return outputs


HEARTBEAT_SECONDS = 10.0


class _Heartbeats:
    """Stamps ``heartbeat_at`` on the runs this process is executing, every HEARTBEAT_SECONDS.

    A run whose stamp goes stale was lost with its worker (killed, out of
    memory, machine gone); the reconciler sees that in the database and runs it
    again, whatever the queue believes about the job.
    """

    def __init__(self) -> None:
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, execution_id: str) -> None:
        with self._lock:
            self._running.add(execution_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="hitl-heartbeats", daemon=True)
                self._thread.start()

    def remove(self, execution_id: str) -> None:
        with self._lock:
            self._running.discard(execution_id)

    def _loop(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                running = list(self._running)
            if not running:
                continue
            try:
                with session_scope() as session:
                    session.execute(
                        update(Execution)
                        .where(col(Execution.id).in_(running), col(Execution.status) == RunStatus.RUNNING.value)
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:
                logger.exception("could not record the heartbeat of %d run(s)", len(running))


_heartbeats = _Heartbeats()


def run_execution(execution_id: str) -> str | None:
    """The job: take a queued run, execute it, record how it ended. Returns the final status."""
    result = _run(execution_id)
    return result.status.value if result else None


def _claim(session: Session, execution_id: str) -> Execution | None:
    """Take a queued run for this worker: ``queued`` → ``running`` in one compare-and-set that returns the row.

    One ``UPDATE ... RETURNING`` instead of a SELECT and an UPDATE; ``None``
    when the run is not queued (another worker took it, or it was cancelled).
    """
    now = utcnow()
    row = session.execute(
        _CLAIM, {"claimed_id": execution_id, "queued": RunStatus.QUEUED.value, "started_at": now, "heartbeat_at": now}
    ).first()
    if row is None:
        return None
    # Built from the returned row: the run is then only read and kept in step by transition(), so
    # it needs no session, and a Core statement skips the ORM's bulk-update and loading machinery.
    execution = Execution(**row._mapping)
    _record_transition(session, execution, RunStatus.QUEUED, RunStatus.RUNNING)
    return execution


_EXECUTION_TABLE = Execution.__table__  # type: ignore[attr-defined]
_CLAIM = (
    update(_EXECUTION_TABLE)
    .where(_EXECUTION_TABLE.c.id == bindparam("claimed_id"), _EXECUTION_TABLE.c.status == bindparam("queued"))
    .values(status=RunStatus.RUNNING.value, started_at=bindparam("started_at"), heartbeat_at=bindparam("heartbeat_at"))
    .returning(*_EXECUTION_TABLE.c)
)


def _run(execution_id: str) -> RunResult | None:
    with session_scope() as session:
        execution = _claim(session, execution_id)
        if execution is None:
            logger.info("run %s is not queued (taken, cancelled or deleted); nothing to do", execution_id)
            return None
        graph = _graph_for(session, execution.workflow_id, execution.workflow_version)
        prior = _prior_outputs(session, execution.trigger_data.get("reuse_execution_id"))
    data = execution.trigger_data
    notify = bool(data.get("notify"))
    answer_at_node = notify and _responds_from_node(graph, data["start_node"])
    runner = _runner(graph, execution, answer_at_node=answer_at_node)
    _heartbeats.add(execution_id)
    try:
        result = runner.start(
            data["start_node"],
            _items_from(data.get("items") or []),
            pinned={name: _items_from(items) for name, items in (data.get("pinned") or {}).items()},
            prior_outputs=prior,
            stop_after=data.get("stop_after"),
        )
    except Exception as err:
        logger.exception("run %s crashed", execution_id)
        result = RunResult(RunStatus.FAILED, [], error={"node": None, "message": f"the engine crashed: {err}"})
    finally:
        _heartbeats.remove(execution_id)
    answered = answer_at_node and runner.responded
    _finish(execution, graph, result, runner.host.masker, notify=notify and not answered)  # type: ignore[attr-defined]
    return result


def _responds_from_node(graph: WorkflowGraph, start_node: str) -> bool:
    """Whether the run's trigger is a Webhook whose answer comes from a Respond to Webhook node."""
    spec = graph.nodes.get(start_node)
    return spec is not None and spec.parameters.get("response_mode") == "respond_node"


def _runner(graph: WorkflowGraph, execution: Execution, *, answer_at_node: bool = False) -> Runner:
    host = StudioHost(execution)
    return Runner(
        graph,
        get_registry(),
        host,
        execution_id=execution.id,
        execution_mode=execution.mode,
        workflow_id=execution.workflow_id,
        hooks=_BusHooks(execution, host.masker, answer_at_node=answer_at_node),
        cancelled=_CancelCheck(execution.id),
    )


def resume_execution(execution_id: str, outputs: list[list[dict[str, Any]]] | None = None) -> str | None:
    """The job: continue a waiting run; the waiting node ends with ``outputs`` (or its own items)."""
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        if execution is None or execution.status != RunStatus.WAITING or not execution.frontier:
            return None
        if not transition(session, execution, RunStatus.RUNNING, heartbeat_at=utcnow()):
            return None
        graph = _graph_for(session, execution.workflow_id, execution.workflow_version)
    runner = _runner(graph, execution)
    resumed = [[Item.from_dict(item) for item in output] for output in outputs] if outputs is not None else None
    _heartbeats.add(execution_id)
    try:
        result = runner.resume(execution.frontier or {}, resumed)
    except Exception as err:
        logger.exception("resuming run %s crashed", execution_id)
        result = RunResult(RunStatus.FAILED, [], error={"node": None, "message": f"the engine crashed: {err}"})
    finally:
        _heartbeats.remove(execution_id)
    # The webhook caller got its answer when the run first paused (or earlier); nobody waits now.
    _finish(execution, graph, result, runner.host.masker, notify=False)  # type: ignore[attr-defined]
    return result.status.value


def _step_values(execution_id: str, step: Step, inline_limit: int, masker: SecretMasker) -> dict[str, Any]:
    """A step as the column values of its row; input and output larger than ``inline_limit`` bytes go to the
    file store. Plain values for a Core insert: building ORM objects only to read them back cost more than
    the insert itself."""
    inputs = masker.data({"main": [[item.to_dict() for item in items] for items in step.inputs]})
    outputs = (
        masker.data({"main": [[item.to_dict() for item in items] for items in step.outputs]})
        if step.outputs is not None
        else None
    )
    data_ref = None
    encoded = json.dumps({"input": inputs, "output": outputs}, separators=(",", ":"), default=str).encode()
    if len(encoded) > inline_limit:
        name = f"{execution_id}-{step.node}-{step.run_index}.json"
        data_ref = files.put(encoded, file_name=name, mime_type="application/json")["file_id"]
        inputs, outputs = None, None  # type: ignore[assignment]
    return {
        "execution_id": execution_id,
        "node_id": step.node_id,
        "node_name": step.node,
        "run_index": step.run_index,
        "status": step.status,
        "input_items": inputs,
        "output_items": outputs,
        "data_ref": data_ref,
        "error": masker.data(step.error),
        "started_at": step.started_at,
        "finished_at": step.finished_at,
    }


def step_data(step: ExecutionStep) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A step's input and output (``{"main": [[item, ...], ...]}``), from the row or the file store."""
    if step.data_ref is None:
        return step.input_items, step.output_items
    try:
        stored = json.loads(files.get({"file_id": step.data_ref, "file_name": f"{step.node_name} data"}))
    except files.FileStoreError:
        logger.warning("the data of step %s (%s) is missing from the file store", step.id, step.node_name)
        return None, None
    return stored.get("input"), stored.get("output")


def _response_payload(result: RunResult) -> dict[str, Any]:
    """What a waiting webhook caller gets: how the run ended, the last node's items, and the
    response a Respond to Webhook node chose (the first one that ran), if any."""
    response = None
    for step in result.steps:
        chosen = result.node_state.get(step.node, {}).get("response")
        if step.status == "succeeded" and chosen is not None:
            response = chosen
            break
    return {
        "status": result.status.value,
        "items": [item.json for item in result.last_items()],
        "error": result.error,
        "response": response,
    }


def _finish(
    execution: Execution, graph: WorkflowGraph, result: RunResult, masker: SecretMasker, *, notify: bool = False
) -> None:
    """Record how the run (or its resumed part) ended, then do what follows: book the resume of a wait,
    file an approval, answer the webhook caller (``notify``), start the error workflow."""
    now = utcnow()
    if masker:
        result.error = masker.data(result.error)
        result.frontier = masker.data(result.frontier)
    with session_scope() as session:
        limit = get_settings().step_inline_bytes
        rows = [_step_values(execution.id, step, limit, masker) for step in result.steps]
        if rows:
            # A Core insert: one statement for every step, without the ORM's per-object bookkeeping.
            session.execute(insert(ExecutionStep.__table__), rows)  # type: ignore[attr-defined]
        execution.status = RunStatus.RUNNING.value
        if result.status is RunStatus.CANCELLED:
            outcome = RunStatus.CANCELLED
        elif result.status is RunStatus.WAITING:
            waited = transition(
                session,
                execution,
                RunStatus.WAITING,
                data={"node": result.waiting_node, "kind": result.wait.kind if result.wait else None},
                frontier=result.frontier,
            )
            outcome = RunStatus.WAITING if waited else RunStatus.CANCELLED
        else:
            ended = transition(
                session,
                execution,
                result.status,
                data={"error": result.error} if result.error else None,
                finished_at=now,
                error=result.error,
                frontier=None,
            )
            # Losing the compare-and-set means someone cancelled the run while it ran.
            outcome = result.status if ended else RunStatus.CANCELLED
    if outcome is RunStatus.WAITING and result.wait is not None and result.wait.kind == "time":
        resume_at = result.wait.resume_at or now
        get_queue().enqueue_at(resume_at, RESUME_JOB, execution.id, job_id=resume_job_id(execution.id))
    if outcome is RunStatus.WAITING and result.wait is not None and result.wait.kind == "approval":
        _request_approval(execution, graph, result)
    if outcome is RunStatus.WAITING and result.wait is not None and result.wait.kind in ("form", "webhook"):
        from hitl_studio.services import waits

        waits.register_wait(execution, graph, result)
    if notify:
        run_results.deliver(execution.id, masker.data(_response_payload(result)))
    if outcome is RunStatus.FAILED and execution.mode != ExecutionMode.ERROR:
        _start_error_workflow(execution, graph, result)


def _request_approval(execution: Execution, graph: WorkflowGraph, result: RunResult) -> None:
    """Create the approval a waiting Approval node asked for; a request that cannot be made fails the run."""
    from pydantic import ValidationError

    from hitl_studio.services import approvals

    node = graph.nodes[result.waiting_node or ""]
    data = dict(result.wait.data if result.wait else {})
    try:
        request = approvals.ApprovalInput.model_validate(data)
        with session_scope() as session:
            starter = session.get(User, execution.started_by) if execution.started_by else None
        approvals.create_approval(
            request,
            requested_by=starter,
            source=approvals.EventSource.WORKFLOW,
            execution_id=execution.id,
            node_id=node.id,
        )
    except (ValidationError, InvalidInput) as err:
        message = err.message if isinstance(err, InvalidInput) else str(err).splitlines()[0]
        error = {"node": node.name, "message": f"the approval request is not valid: {message}", "item_index": 0}
        with session_scope() as session:
            current = session.get(Execution, execution.id)
            if current is not None and current.status == RunStatus.WAITING:
                transition(session, current, RunStatus.FAILED, data={"error": error}, error=error, finished_at=utcnow())


def resume_with_approval(execution_id: str, outcome: dict[str, Any]) -> None:
    """Queue the resume of a run whose approval was decided, on the branch the outcome names."""
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        if execution is None or execution.status != RunStatus.WAITING or not execution.frontier:
            return
        paused = execution.frontier.get("paused", {})
        graph = _graph_for(session, execution.workflow_id, execution.workflow_version)
    spec = graph.nodes[paused["node"]]
    output_count = len(output_names(spec, get_registry().get(spec.type, spec.type_version)))
    decided = outcome["approval"]
    edits = decided.get("response_data") if decided.get("status") == "approved" else None
    items = []
    for raw in (paused.get("inputs") or [[]])[0]:
        item = Item.from_dict(raw)
        merged = {**item.json, **(edits or {}), "approval": decided}
        items.append(Item(merged, item.binary, item.paired_item).to_dict())
    outputs: list[list[dict[str, Any]]] = [[] for _ in range(output_count)]
    # Approval routes by outcome; a one-output node (Send and Wait) continues on its only output.
    outputs[outcome["branch"] if output_count > outcome["branch"] else 0] = items
    get_queue().enqueue(RESUME_JOB, execution_id, outputs, job_id=resume_job_id(execution_id))


def _start_error_workflow(execution: Execution, graph: WorkflowGraph, result: RunResult) -> None:
    error_workflow_id = graph.settings.get("error_workflow")
    if not error_workflow_id:
        return
    item = {
        "execution": {
            "id": execution.id,
            "url": f"{get_settings().public_url}/executions/{execution.id}",
            "error": result.error,
            "last_node": (result.error or {}).get("node"),
            "mode": execution.mode,
        },
        "workflow": {"id": execution.workflow_id, "name": graph.name},
    }
    try:
        start_execution(
            str(error_workflow_id), [item], StartOptions(mode=ExecutionMode.ERROR, parent_execution_id=execution.id)
        )
    except (NotFound, InvalidInput) as err:
        logger.warning("error workflow %s of run %s could not start: %s", error_workflow_id, execution.id, err.message)


def start_error_workflow(execution_id: str) -> None:
    """Start the error workflow of a run that failed outside the engine (a Form or Wait for Webhook deadline).

    Does nothing unless the run is ``failed`` and is not itself an error workflow's run.
    """
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        if execution is None or execution.status != RunStatus.FAILED or execution.mode == ExecutionMode.ERROR:
            return
        graph = _graph_for(session, execution.workflow_id, execution.workflow_version)
    _start_error_workflow(execution, graph, RunResult(status=RunStatus.FAILED, steps=[], error=execution.error))


def cancel_execution(execution_id: str, *, actor: User | None = None) -> Execution:
    """Stop a run: queued and waiting runs stop at once, a running one after its current node.

    Raises:
        NotFound: No such run.
        Conflict: The run has already finished.
    """
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        if execution is None:
            raise NotFound(f"No run with id {execution_id}.")
        try:
            changed = transition(
                session, execution, RunStatus.CANCELLED, actor=actor.email if actor else None, finished_at=utcnow()
            )
        except InvalidTransition as err:
            raise Conflict(f"The run is already {execution.status}; there is nothing to cancel.") from err
        if not changed:
            raise Conflict("The run changed state meanwhile; reload and try again.")
    from hitl_studio.services import approvals

    approvals.cancel_for_execution(execution_id)
    queue = get_queue()
    queue.cancel(job_id(execution_id))
    queue.cancel(resume_job_id(execution_id))
    from hitl_studio.services import waits

    queue.cancel(waits.timeout_job_id(execution_id))
    return execution


def retry_execution(execution_id: str, *, actor: User | None = None) -> Execution:
    """Run a failed or cancelled run again with the same trigger data, on the workflow's current version.

    Raises:
        NotFound: No such run.
        Conflict: The run has not ended, or it succeeded.
    """
    with session_scope() as session:
        original = session.get(Execution, execution_id)
        if original is None:
            raise NotFound(f"No run with id {execution_id}.")
    if original.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise Conflict(f"Only failed or cancelled runs can be retried; this one is {original.status}.")
    data = original.trigger_data
    return start_execution(
        original.workflow_id,
        list(data.get("items") or []),
        StartOptions(
            mode=ExecutionMode.RETRY,
            start_node=data.get("start_node"),
            actor=actor,
            retry_of_id=original.id,
            pinned=data.get("pinned"),
            reuse_execution_id=data.get("reuse_execution_id"),
            only_start_node=bool(data.get("stop_after")),
        ),
    )


@dataclass(frozen=True)
class ExecutionFilter:
    workflow_id: str | None = None
    status: str | None = None
    mode: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


def _as_utc(moment: datetime) -> datetime:
    # A time without a zone (``?since=2026-01-01T09:00``) means UTC, as in Wait and IF; the UTC
    # column type refuses naive values, which made such a filter a 500.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def list_executions(filters: ExecutionFilter) -> tuple[list[Execution], int]:
    """Runs matching ``filters``, newest first, and how many match in all."""
    query = select(Execution)
    count = select(func.count()).select_from(Execution)
    conditions = []
    if filters.workflow_id:
        conditions.append(col(Execution.workflow_id) == filters.workflow_id)
    if filters.status:
        conditions.append(col(Execution.status) == filters.status)
    if filters.mode:
        conditions.append(col(Execution.mode) == filters.mode)
    if filters.since:
        conditions.append(col(Execution.created_at) >= _as_utc(filters.since))
    if filters.until:
        conditions.append(col(Execution.created_at) < _as_utc(filters.until))
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    query = query.order_by(col(Execution.created_at).desc(), col(Execution.id).desc())
    with session_scope() as session:
        rows = list(session.exec(query.offset(filters.offset).limit(filters.limit)))
        total = int(session.exec(count).one())
    return rows, total


def get_execution(execution_id: str) -> tuple[Execution, list[ExecutionStep], list[ExecutionEvent]]:
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        if execution is None:
            raise NotFound(f"No run with id {execution_id}.")
        steps = list(
            session.exec(
                select(ExecutionStep).where(ExecutionStep.execution_id == execution_id).order_by(col(ExecutionStep.id))
            )
        )
        history = list(
            session.exec(
                select(ExecutionEvent)
                .where(ExecutionEvent.execution_id == execution_id)
                .order_by(col(ExecutionEvent.id))
            )
        )
    return execution, steps, history


def is_finished(status: str) -> bool:
    return RunStatus(status) in TERMINAL
