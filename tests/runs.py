"""Waiting for runs in tests: runs happen on worker threads (embedded) or RQ workers."""

from __future__ import annotations

import time

from hitl_studio.engine.states import TERMINAL
from hitl_studio.models.executions import Execution
from hitl_studio.services import executions


def wait_for_run(execution_id: str, *, statuses: frozenset[str] | None = None, timeout: float = 15.0) -> Execution:
    """Poll the database until the run reaches one of ``statuses`` (default: any terminal one)."""
    wanted = statuses or frozenset(status.value for status in TERMINAL)
    deadline = time.monotonic() + timeout
    while True:
        execution, _, _ = executions.get_execution(execution_id)
        if execution.status in wanted:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(f"run {execution_id} is still {execution.status} after {timeout} s")
        time.sleep(0.02)


def wait_for_runs_of(workflow_id: str, *, count: int = 1, timeout: float = 15.0) -> list[Execution]:
    """Poll until ``workflow_id`` has at least ``count`` runs (e.g. an error workflow started by another run)."""
    deadline = time.monotonic() + timeout
    while True:
        runs, total = executions.list_executions(executions.ExecutionFilter(workflow_id=workflow_id))
        if total >= count and len(runs) >= count:  # the count and the page are two queries
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"workflow {workflow_id} has {total} run(s), not {count}, after {timeout} s")
        time.sleep(0.02)
