"""Queue mode for real: PostgreSQL, Redis, rq-scheduler and RQ workers (in process and as processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from hitl_studio.db import session_scope
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.workflows import Schedule
from hitl_studio.queue import get_queue
from hitl_studio.queue.worker import HitlSimpleWorker
from hitl_studio.services import executions, reconciler, triggers, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.runs import wait_for_run, wait_for_runs_of
from tests.servers import redis_url_or_skip, temporary_postgres_database
from tests.workflows import node, workflow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue_mode(monkeypatch: pytest.MonkeyPatch, configure: Callable[..., Settings]) -> Iterator[Settings]:
    """PostgreSQL and Redis, a private queue name, migrated; yields the settings."""
    from hitl_studio import migrations

    with temporary_postgres_database() as url:
        settings = configure(
            DATABASE_URL=url, REDIS_URL=redis_url_or_skip(), HITL_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}"
        )
        migrations.upgrade()
        queue = get_queue()
        try:
            yield settings
        finally:
            queue.queue.empty()  # type: ignore[attr-defined]
            queue.queue.delete(delete_jobs=True)  # type: ignore[attr-defined]
            queue.queue.connection.delete(queue.scheduler.scheduled_jobs_key)  # type: ignore[attr-defined]


def burst() -> None:
    queue = get_queue().queue  # type: ignore[attr-defined]
    HitlSimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_a_cron_workflow_fires_on_time_through_rq_scheduler_and_a_worker(queue_mode: Settings) -> None:
    flow = workflow(
        [
            # Fires once a year: the only fire in this test is the one it books two seconds ahead.
            node("Cron", "trigger.schedule", {"cron": "0 0 1 1 *"}),
            node("Tick", "core.set", {"assignments": [{"name": "t", "value": 1}]}),
        ],
        [("Cron", "Tick")],
    )
    saved = workflows.create_workflow(WorkflowInput(**{**flow, "name": "cron"}), actor=None)
    workflows.set_active(saved.id, True, actor=None)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    with session_scope() as session:
        (schedule,) = session.exec(select(Schedule)).all()
        schedule.next_run_at = due
        session.add(schedule)
    triggers.schedule_pending()

    scheduler = get_queue().scheduler  # type: ignore[attr-defined]
    while datetime.now(UTC) < due:
        assert list(scheduler.enqueue_jobs()) is not None
        time.sleep(0.2)
    time.sleep(0.2)
    scheduler.enqueue_jobs()
    burst()

    (run,) = wait_for_runs_of(saved.id)
    assert run.mode == ExecutionMode.CRON
    finished = wait_for_run(run.id, timeout=5)
    assert finished.status == RunStatus.SUCCEEDED
    assert finished.trigger_data["items"] == [{"scheduled_at": due.isoformat()}]


def test_a_killed_worker_process_loses_no_run(queue_mode: Settings, tmp_path: Path) -> None:
    marker = tmp_path / "go"
    # Blocks until the marker exists: the first attempt is still inside this node when its worker is killed.
    code = "import os, time\nwhile not os.path.exists(items[0]['marker']):\n    time.sleep(0.05)\nreturn items"
    flow = workflow(
        [
            node("Start", "trigger.manual"),
            node("Hold", "core.code", {"mode": "all_items", "code": code, "timeout_seconds": 120}),
            node("Done", "core.set", {"assignments": [{"name": "done", "value": True}]}),
        ],
        [("Start", "Hold"), ("Hold", "Done")],
    )
    saved = workflows.create_workflow(WorkflowInput(**{**flow, "name": "hold"}), actor=None)
    env = {
        **os.environ,
        "DATABASE_URL": queue_mode.database_url,
        "REDIS_URL": queue_mode.redis_url or "",
        "HITL_QUEUE_NAME": queue_mode.queue_name,
        "HITL_DATA_DIR": str(queue_mode.data_dir),
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "hitl_studio", "worker"],
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        execution = executions.start_execution(saved.id, [{"marker": str(marker)}])
        wait_for_run(execution.id, statuses=frozenset({"running"}), timeout=30)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    marker.touch()

    # Nobody stamps the run any more; once its heartbeat is stale the reconciler queues it again.
    assert reconciler.reconcile()["requeued"] == 0
    later = datetime.now(UTC) + reconciler.STALE_HEARTBEAT + timedelta(seconds=1)
    assert reconciler.reconcile(now=later)["requeued"] == 1
    burst()

    finished = wait_for_run(execution.id, timeout=10)
    assert finished.status == RunStatus.SUCCEEDED
    _, steps, history = executions.get_execution(execution.id)
    assert executions.step_data(steps[-1])[1]["main"][0][0]["json"] == {"marker": str(marker), "done": True}  # type: ignore[index]
    assert [event.type for event in history].count("status.running") == 2
