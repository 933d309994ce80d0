"""Runs end to end through the services and the queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from hitl_studio.db import session_scope
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import Execution, ExecutionMode
from hitl_studio.models.users import Role
from hitl_studio.models.workflows import Schedule
from hitl_studio.queue import get_queue
from hitl_studio.queue.worker import HitlSimpleWorker
from hitl_studio.services import executions, reconciler, triggers, workflows
from hitl_studio.services.errors import Conflict, InvalidInput
from hitl_studio.services.executions import StartOptions
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import make_user
from tests.runs import wait_for_run, wait_for_runs_of
from tests.servers import redis_url_or_skip
from tests.workflows import node, workflow


def save(data: dict, name: str = "flow") -> str:
    return workflows.create_workflow(WorkflowInput(**{**data, "name": name}), actor=make_user(Role.BUILDER)).id


def doubling_flow() -> dict:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node("Double", "core.set", {"assignments": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]}),
        ],
        [("Start", "Double")],
    )


def test_a_manual_run_executes_on_the_queue_and_records_every_step(database: Settings) -> None:
    workflow_id = save(doubling_flow())

    execution = executions.start_execution(workflow_id, [{"n": 21}])
    finished = wait_for_run(execution.id)

    assert finished.status == RunStatus.SUCCEEDED
    _, steps, history = executions.get_execution(execution.id)
    assert [step.node_name for step in steps] == ["Start", "Double"]
    assert steps[1].output_items == {"main": [[{"json": {"n": 21, "doubled": 42}, "paired_item": 0}]]}
    assert [event.type for event in history] == ["status.queued", "status.running", "status.succeeded"]


def test_a_failing_run_records_the_error_and_starts_the_error_workflow(database: Settings) -> None:
    handler_id = save(
        workflow(
            [
                node("On error", "trigger.error"),
                node("Note", "core.set", {"assignments": [{"name": "seen", "value": True}]}),
            ],
            [("On error", "Note")],
        ),
        name="handler",
    )
    failing = workflow(
        [node("Start", "trigger.manual"), node("Stop", "core.stop_and_error", {"message": "bad order {{ $json.id }}"})],
        [("Start", "Stop")],
        error_workflow=handler_id,
    )
    execution = executions.start_execution(save(failing), [{"id": 7}])

    failed = wait_for_run(execution.id)

    assert failed.status == RunStatus.FAILED
    assert failed.error is not None and failed.error["message"] == "bad order 7" and failed.error["node"] == "Stop"
    (handler_run,) = wait_for_runs_of(handler_id)
    handled = wait_for_run(handler_run.id)
    assert handled.mode == ExecutionMode.ERROR and handled.status == RunStatus.SUCCEEDED
    _, steps, _ = executions.get_execution(handled.id)
    trigger_item = steps[0].output_items["main"][0][0]["json"]
    assert trigger_item["execution"]["id"] == execution.id
    assert trigger_item["execution"]["error"]["message"] == "bad order 7"


def test_running_a_workflow_with_problems_lists_them_by_node(database: Settings) -> None:
    workflow_id = save(doubling_flow())
    with pytest.raises(InvalidInput) as caught:
        executions.start_execution(workflow_id, [], StartOptions(start_node="Nope"))
    assert caught.value.field_errors == {"start_node": "Unknown node."}

    with pytest.raises(InvalidInput, match="no webhook trigger"):
        executions.start_execution(workflow_id, [], StartOptions(mode=ExecutionMode.WEBHOOK))


def test_a_wait_pauses_without_a_worker_and_resumes_on_time(database: Settings) -> None:
    flow = workflow(
        [
            node("Start", "trigger.manual"),
            node("Nap", "core.wait", {"amount": 0.3, "unit": "seconds"}),
            node("After", "core.set", {"assignments": [{"name": "woke", "value": True}]}),
        ],
        [("Start", "Nap"), ("Nap", "After")],
    )
    execution = executions.start_execution(save(flow), [{"a": 1}])

    waiting = wait_for_run(execution.id, statuses=frozenset({"waiting", "succeeded"}))
    assert waiting.status in ("waiting", "succeeded")
    done = wait_for_run(execution.id)

    assert done.status == RunStatus.SUCCEEDED
    _, steps, history = executions.get_execution(execution.id)
    assert steps[-1].output_items["main"][0][0]["json"] == {"a": 1, "woke": True}
    assert "status.waiting" in [event.type for event in history]


def test_cancel_and_retry(database: Settings) -> None:
    flow = workflow(
        [node("Start", "trigger.manual"), node("Nap", "core.wait", {"amount": 1, "unit": "hours"})], [("Start", "Nap")]
    )
    execution = executions.start_execution(save(flow), [{}])
    wait_for_run(execution.id, statuses=frozenset({"waiting"}))

    cancelled = executions.cancel_execution(execution.id)

    assert cancelled.status == RunStatus.CANCELLED
    with pytest.raises(Conflict, match="already cancelled"):
        executions.cancel_execution(execution.id)
    retried = executions.retry_execution(execution.id)
    assert retried.retry_of_id == execution.id and retried.mode == ExecutionMode.RETRY
    assert wait_for_run(retried.id, statuses=frozenset({"waiting"})).status == "waiting"
    with pytest.raises(Conflict, match="Only failed or cancelled"):
        executions.retry_execution(retried.id)


def test_a_run_left_running_by_a_dead_worker_is_run_again(database: Settings) -> None:
    workflow_id = save(doubling_flow())
    orphan = executions.create_execution(workflow_id, [{"n": 2}], StartOptions())
    with session_scope() as session:
        row = session.get(Execution, orphan.id)
        assert row is not None
        executions.transition(session, row, RunStatus.RUNNING)
        row.created_at = datetime.now(UTC) - timedelta(minutes=5)
        session.add(row)

    counts = reconciler.reconcile()

    assert counts["requeued"] == 1
    finished = wait_for_run(orphan.id)
    assert finished.status == RunStatus.SUCCEEDED
    _, _, history = executions.get_execution(orphan.id)
    assert [event.type for event in history] == [
        "status.queued",
        "status.running",
        "status.queued",
        "status.running",
        "status.succeeded",
    ]


def test_a_cron_workflow_fires_once_for_missed_times_and_books_the_next(database: Settings) -> None:
    flow = workflow(
        [
            node("Every minute", "trigger.schedule", {"cron": "* * * * *", "timezone": "UTC"}),
            node("Tick", "core.no_op"),
        ],
        [("Every minute", "Tick")],
    )
    workflow_id = save(flow)
    workflows.set_active(workflow_id, True, actor=None)
    with session_scope() as session:
        (schedule,) = session.exec(Schedule.__table__.select()).all()  # type: ignore[attr-defined]
    missed = datetime.now(UTC) - timedelta(hours=3)
    with session_scope() as session:
        row = session.get(Schedule, schedule.id)
        assert row is not None
        row.next_run_at = missed
        session.add(row)

    run_id = triggers.fire_schedule(schedule.id, missed.isoformat())

    assert run_id is not None
    assert wait_for_run(run_id).status == RunStatus.SUCCEEDED
    with session_scope() as session:
        row = session.get(Schedule, schedule.id)
        assert row is not None and row.next_run_at is not None
        assert row.next_run_at > datetime.now(UTC)
    assert triggers.fire_schedule(schedule.id, missed.isoformat()) is None
    runs, total = executions.list_executions(executions.ExecutionFilter(workflow_id=workflow_id))
    assert total == 1 and runs[0].mode == ExecutionMode.CRON

    workflows.set_active(workflow_id, False, actor=None)
    with session_scope() as session:
        assert session.get(Schedule, schedule.id) is None


def test_runs_go_through_rq_workers_in_queue_mode(database: Settings, configure: Callable[..., Settings]) -> None:
    configure(REDIS_URL=redis_url_or_skip(), HITL_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    workflow_id = save(doubling_flow())
    execution = executions.start_execution(workflow_id, [{"n": 5}])
    queue = get_queue()
    rq_queue = queue.queue  # type: ignore[attr-defined]
    try:
        assert executions.get_execution(execution.id)[0].status == RunStatus.QUEUED
        HitlSimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
        finished = wait_for_run(execution.id, timeout=5)
    finally:
        rq_queue.empty()
        rq_queue.delete(delete_jobs=True)
    assert finished.status == RunStatus.SUCCEEDED


def test_large_step_data_goes_to_the_file_store_and_reads_back(
    database: Settings, configure: Callable[..., Settings]
) -> None:
    configure(HITL_STEP_INLINE_BYTES="2048")
    workflow_id = save(doubling_flow())
    big = "x" * 10_000

    execution = executions.start_execution(workflow_id, [{"n": 1, "blob": big}])
    assert wait_for_run(execution.id).status == RunStatus.SUCCEEDED

    _, steps, _ = executions.get_execution(execution.id)
    assert all(step.data_ref is not None and step.output_items is None for step in steps)
    _, produced = executions.step_data(steps[1])
    assert produced is not None
    assert produced["main"][0][0]["json"] == {"n": 1, "blob": big, "doubled": 2}

    rerun = executions.start_execution(
        workflow_id, [], StartOptions(start_node="Double", reuse_execution_id=execution.id)
    )
    assert wait_for_run(rerun.id).status == RunStatus.SUCCEEDED
    _, rerun_steps, _ = executions.get_execution(rerun.id)
    assert [step.node_name for step in rerun_steps] == ["Double"]
    assert executions.step_data(rerun_steps[0])[1]["main"][0][0]["json"]["doubled"] == 2  # type: ignore[index]
