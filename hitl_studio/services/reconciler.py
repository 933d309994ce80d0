"""The reconciler: the database is the truth, so rebuild from it whatever the queue lost.

It runs when the studio starts (embedded mode) or the scheduler starts (queue
mode), then every minute. It re-enqueues runs left ``queued`` with no job,
puts runs whose worker died (``running`` with no live job) back in the queue,
re-books the resume of timed waits, every schedule's next fire, and every
pending approval's timeout, next reminder and unsent deliveries.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlmodel import col, select

from hitl_studio.db import session_scope, utcnow
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.approvals import Approval, ApprovalStatus
from hitl_studio.models.executions import Execution
from hitl_studio.queue import JobNotFound, JobStatus, get_queue
from hitl_studio.services import (
    approval_notifications,
    approval_reminders,
    approvals,
    deliveries,
    executions,
    triggers,
    waits,
)

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
# A run younger than this may simply not have reached a worker yet.
GRACE = timedelta(seconds=30)
# A running run whose worker has not stamped it for this long is taken as lost.
STALE_HEARTBEAT = timedelta(seconds=executions.HEARTBEAT_SECONDS * 3)


def _job_alive(job_id: str) -> bool:
    try:
        status = get_queue().result(job_id, timeout=0).status
    except JobNotFound:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED)


def _resume_decided_approvals(candidates: list[Execution]) -> int:
    """Runs still waiting on an approval that was decided (the resume job was lost): resume them."""
    resumed = 0
    for execution in candidates:
        paused = (execution.frontier or {}).get("paused", {})
        if execution.status != RunStatus.WAITING or paused.get("kind") != "approval":
            continue
        with session_scope() as session:
            decided = session.exec(
                select(Approval).where(
                    Approval.execution_id == execution.id,
                    col(Approval.status).in_(
                        [ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.TIMEOUT]
                    ),
                )
            ).first()
        if decided is not None:
            executions.resume_with_approval(execution.id, approvals.approval_outcome(decided))
            resumed += 1
    return resumed


def _rebook_wait_deadline(execution: Execution, now: datetime) -> int:
    """A form or resume-URL wait with a deadline: make sure its timeout job exists (idempotent)."""
    resume = (execution.frontier or {}).get("resume") or {}
    if resume.get("used") or not resume.get("expires_at") or not resume.get("token_sha256"):
        return 0
    due = datetime.fromisoformat(resume["expires_at"])
    get_queue().enqueue_at(
        max(due, now),
        waits.TIMEOUT_JOB,
        execution.id,
        resume["token_sha256"],
        job_id=waits.timeout_job_id(execution.id),
    )
    return 1


def _lost(execution: Execution, now: datetime) -> bool:
    """Whether a queued or running run has nobody working on it."""
    if execution.status == RunStatus.RUNNING:
        stamped = execution.heartbeat_at or execution.started_at or execution.created_at
        return now - stamped > STALE_HEARTBEAT
    return now - execution.created_at > GRACE and not _job_alive(executions.job_id(execution.id))


def reconcile(*, startup: bool = False, now: datetime | None = None) -> dict[str, int]:
    """One pass. With ``startup`` in embedded mode, every queued or running run is orphaned by definition.

    Returns:
        How many runs were re-enqueued, waits re-booked and schedules re-booked.
    """
    now = now or utcnow()
    queue = get_queue()
    embedded_restart = startup and queue.health() == "embedded"
    counts = {"requeued": 0, "resumes": 0, "schedules": 0, "approval_timeouts": 0, "decided_approvals": 0}
    with session_scope() as session:
        candidates = list(
            session.exec(
                select(Execution).where(
                    col(Execution.status).in_([RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING])
                )
            )
        )
    for execution in candidates:
        if execution.status == RunStatus.WAITING:
            counts["resumes"] += _rebook_wait_deadline(execution, now)
            paused = (execution.frontier or {}).get("paused", {})
            if paused.get("kind") == "time" and paused.get("resume_at"):
                resume_at = datetime.fromisoformat(paused["resume_at"])
                queue.enqueue_at(
                    max(resume_at, now),
                    executions.RESUME_JOB,
                    execution.id,
                    job_id=executions.resume_job_id(execution.id),
                )
                counts["resumes"] += 1
            continue
        if not embedded_restart and not _lost(execution, now):
            continue
        if execution.status == RunStatus.RUNNING:
            with session_scope() as session:
                row = session.get(Execution, execution.id)
                if row is None or not executions.transition(
                    session, row, RunStatus.QUEUED, data={"reason": "its worker stopped; running it again"}
                ):
                    continue
        queue.cancel(executions.job_id(execution.id))
        queue.enqueue(executions.RUN_JOB, execution.id, job_id=executions.job_id(execution.id))
        counts["requeued"] += 1
    counts["schedules"] = triggers.schedule_pending()
    counts["approval_timeouts"] = approvals.reschedule_timeouts()
    counts["approval_reminders"] = approval_reminders.reschedule()
    counts["webhook_deliveries"] = approval_notifications.reschedule_deliveries()
    counts["channel_deliveries"] = deliveries.reschedule_deliveries()
    counts["decided_approvals"] = _resume_decided_approvals(candidates)
    if counts["requeued"] or counts["resumes"]:
        logger.info("reconciler: %s", counts)
    return counts


class PeriodicReconciler:
    """Runs :func:`reconcile` at start and then every INTERVAL_SECONDS on a daemon thread."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="hitl-reconciler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        startup = True
        while True:
            try:
                reconcile(startup=startup)
            except Exception:
                logger.exception("reconciler pass failed; trying again in %s s", self._interval)
            startup = False
            if self._stop.wait(self._interval):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
