"""The run state machine's rules: which status may follow which.

``hitl_studio.services.executions`` is the only code that applies them (it
writes an ``execution_event`` per transition); this module only decides.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED}),
    # running → queued: a reconciler re-enqueues a run whose worker died.
    RunStatus.RUNNING: frozenset(
        {RunStatus.WAITING, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.QUEUED}
    ),
    RunStatus.WAITING: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}


class InvalidTransition(ValueError):
    """A status change the rules refuse (e.g. cancelling a finished run)."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a run that is {current} cannot become {target}")
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is allowed."""
    if RunStatus(target) not in TRANSITIONS[RunStatus(current)]:
        raise InvalidTransition(current, target)
