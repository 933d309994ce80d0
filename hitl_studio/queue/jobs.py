"""Every job the studio enqueues, by dotted path. Each is thin: it calls one service.

``echo`` and ``fail`` prove the plumbing end to end: the round-trip tests and
``python -m hitl_studio queue-check`` (is a worker answering?) enqueue them.
Services are imported inside the jobs so that importing this module, which
every worker does, stays cheap and free of import cycles.
"""

from __future__ import annotations

from typing import Any


def echo(value: Any) -> Any:
    """Return ``value`` unchanged, showing that a worker ran the job and stored its result."""
    return value


def fail(message: str) -> None:
    """Raise ``RuntimeError(message)``, showing that a failing job is reported as failed.

    Raises:
        RuntimeError: always.
    """
    raise RuntimeError(message)


def run_execution(execution_id: str) -> str | None:
    """Run a queued workflow run; returns how it ended (see ``services.executions``)."""
    from hitl_studio.services import executions

    return executions.run_execution(execution_id)


def resume_execution(execution_id: str, outputs: list[list[dict[str, Any]]] | None = None) -> str | None:
    """Continue a waiting run, its waiting node ending with ``outputs`` (or its own items)."""
    from hitl_studio.services import executions

    return executions.resume_execution(execution_id, outputs)


def fire_schedule(schedule_id: str, due: str) -> str | None:
    """A cron trigger's fire time: start its run and book the next one."""
    from hitl_studio.services import triggers

    return triggers.fire_schedule(schedule_id, due)


def reconcile() -> dict[str, int]:
    """Re-create from the database whatever work the queue lost."""
    from hitl_studio.services import reconciler

    return reconciler.reconcile()


def approval_timeout(approval_id: str, due: str) -> str | None:
    """An approval's deadline: apply its timeout action or escalate."""
    from hitl_studio.services import approvals

    return approvals.fire_timeout(approval_id, due)
