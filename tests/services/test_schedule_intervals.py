"""Schedules every N seconds fire on a worker, on both queue back ends (embedded threads; RQ + rq-scheduler)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from hitl_studio.db import session_scope
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.workflows import Schedule
from hitl_studio.services import triggers, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.runs import wait_for_run, wait_for_runs_of
from tests.services.test_queue_mode import queue_mode  # noqa: F401 (a fixture)
from tests.workflows import node, workflow

REPO_ROOT = Path(__file__).resolve().parents[2]


def every_two_seconds() -> str:
    """Save and activate Schedule (every 2 s) → Edit Fields; returns the workflow id."""
    flow = workflow(
        [
            node("Tick", "trigger.schedule", {"cron": "@every 2s"}),
            node("Mark", "core.set", {"assignments": [{"name": "ticked", "value": True}]}),
        ],
        [("Tick", "Mark")],
    )
    saved = workflows.create_workflow(WorkflowInput(**{**flow, "name": "every 2 s"}), actor=None)
    workflows.set_active(saved.id, True, actor=None)
    return saved.id


def assert_fired_twice(workflow_id: str) -> None:
    runs = wait_for_runs_of(workflow_id, count=2, timeout=60)
    for run in runs[:2]:
        assert run.mode == ExecutionMode.CRON
        assert wait_for_run(run.id, timeout=30).status == RunStatus.SUCCEEDED
    fired = sorted(run.trigger_data["items"][0]["scheduled_at"] for run in runs)
    assert len(set(fired)) == len(fired), "each fire time runs once"


def test_an_every_two_seconds_schedule_stores_its_rule_and_next_time(sqlite_database: Settings) -> None:
    workflow_id = every_two_seconds()

    with session_scope() as session:
        (row,) = session.exec(select(Schedule).where(Schedule.workflow_id == workflow_id)).all()

    assert row.cron == "@every 2s"
    assert row.next_run_at is not None and row.next_run_at > row.created_at
    assert row.next_run_at - row.created_at < timedelta(seconds=3)


def test_an_every_two_seconds_schedule_fires_on_the_embedded_workers(sqlite_database: Settings) -> None:
    workflow_id = every_two_seconds()

    assert_fired_twice(workflow_id)
    workflows.set_active(workflow_id, False, actor=None)


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, start_new_session=True, stdout=handle, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_an_every_two_seconds_schedule_fires_through_rq_scheduler_and_a_worker(
    queue_mode: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": queue_mode.database_url,
        "REDIS_URL": queue_mode.redis_url or "",
        "HITL_QUEUE_NAME": queue_mode.queue_name,
        "HITL_DATA_DIR": str(queue_mode.data_dir),
    }
    workflow_id = every_two_seconds()

    with ExitStack() as processes:
        processes.enter_context(_process([sys.executable, "-m", "hitl_studio", "scheduler"], env, tmp_path / "s.log"))
        processes.enter_context(_process([sys.executable, "-m", "hitl_studio", "worker"], env, tmp_path / "w.log"))
        assert_fired_twice(workflow_id)
        workflows.set_active(workflow_id, False, actor=None)
    assert triggers.schedule_pending() == 0
