"""The in-process queue of embedded mode: worker threads and a timer thread.

Nothing to install and nothing survives a restart, which is fine because the
database is the truth: the reconciler re-enqueues whatever a restart lost.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import queue
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hitl_studio.queue.base import JobNotFound, JobQueue, JobResult, JobSpec, JobStatus, resolve_job

logger = logging.getLogger(__name__)

MAX_RESULTS = 10_000
STOP_JOIN_TIMEOUT = 30.0


@dataclass(eq=False)
class _Job:
    """One run of a job; mutated only while holding the queue's lock."""

    spec: JobSpec
    status: JobStatus
    value: Any = None
    error: str | None = None

    def to_result(self) -> JobResult:
        return JobResult(job_id=self.spec.job_id, status=self.status, value=self.value, error=self.error)


class EmbeddedQueue(JobQueue):
    """Runs jobs on ``workers`` daemon threads of this process.

    Delayed jobs wait in a heap watched by one timer thread that sleeps on a
    condition until the earliest one is due (or something earlier arrives).
    Jobs enqueued before :meth:`start`, or after :meth:`stop`, wait until the
    next :meth:`start`. Results of the last ``max_results`` finished, failed or
    cancelled jobs are kept.
    """

    def __init__(self, workers: int, max_results: int = MAX_RESULTS) -> None:
        if workers < 1:
            message = f"the embedded queue needs at least one worker thread, got {workers}"
            raise ValueError(message)
        self._workers = workers
        self._max_results = max_results
        self._lock = threading.Lock()
        # One condition for every state change: the timer waits on it for new
        # due times, result() waits on it for jobs to finish.
        self._changed = threading.Condition(self._lock)
        self._pending: dict[str, _Job] = {}
        self._done: OrderedDict[str, _Job] = OrderedDict()
        self._ready: queue.Queue[_Job | None] = queue.Queue()
        self._delayed: list[tuple[float, int, _Job]] = []
        self._sequence = itertools.count()
        self._threads: list[threading.Thread] = []
        self._timer: threading.Thread | None = None
        self._stopping = False

    def health(self) -> str:
        """Always ``"embedded"``: there is nothing external to be down."""
        return "embedded"

    def start(self) -> None:
        """Start the worker threads and the timer thread (a no-op if running)."""
        with self._lock:
            if self._threads:
                return
            self._stopping = False
            self._threads = [
                threading.Thread(target=self._work, name=f"hitl-queue-worker-{index}", daemon=True)
                for index in range(self._workers)
            ]
            self._timer = threading.Thread(target=self._run_timer, name="hitl-queue-timer", daemon=True)
        for thread in (*self._threads, self._timer):
            thread.start()

    def stop(self) -> None:
        """Let workers finish the jobs already due, then end all threads.

        Scheduled jobs that are not yet due stay scheduled and run after the
        next :meth:`start`.
        """
        with self._lock:
            if not self._threads:
                return
            self._stopping = True
            self._changed.notify_all()
            threads, timer = self._threads, self._timer
            self._threads, self._timer = [], None
        if timer is not None:
            timer.join(STOP_JOIN_TIMEOUT)
        # Sentinels go in after the timer has stopped adding work, so every job
        # that was due is run before a worker reads its sentinel.
        for _ in threads:
            self._ready.put(None)
        for thread in threads:
            thread.join(STOP_JOIN_TIMEOUT)
            if thread.is_alive():
                logger.warning("Embedded queue worker %s still busy after %.0f s", thread.name, STOP_JOIN_TIMEOUT)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or scheduled job; see :meth:`JobQueue.cancel`."""
        with self._lock:
            job = self._pending.get(job_id)
            if job is None or not job.status.pending:
                return False
            if job.status is JobStatus.SCHEDULED:
                # Drop it now rather than when due: a cancelled timeout may be days away.
                self._delayed = [entry for entry in self._delayed if entry[2] is not job]
                heapq.heapify(self._delayed)
            # A cancelled job still in the ready queue is skipped by the worker that pops it.
            self._finish(job, JobStatus.CANCELLED)
            return True

    def result(self, job_id: str, timeout: float = 0.0) -> JobResult:
        """Wait for a job; see :meth:`JobQueue.result`."""
        with self._lock:
            job = self._pending.get(job_id) or self._done.get(job_id)
            if job is None:
                message = f"no job {job_id!r} in the embedded queue (never enqueued, or its result was dropped)"
                raise JobNotFound(message)
            self._changed.wait_for(lambda: job.status.done, timeout=max(timeout, 0.0))
            return job.to_result()

    def _enqueue(self, spec: JobSpec) -> str:
        with self._lock:
            job = self._add(spec, JobStatus.QUEUED)
        if job is not None:
            self._ready.put(job)
        return spec.job_id

    def _enqueue_at(self, when: datetime, spec: JobSpec) -> str:
        with self._lock:
            job = self._add(spec, JobStatus.SCHEDULED)
            if job is not None:
                heapq.heappush(self._delayed, (when.timestamp(), next(self._sequence), job))
                self._changed.notify_all()
        return spec.job_id

    def _add(self, spec: JobSpec, status: JobStatus) -> _Job | None:
        """Register a new run of ``spec``, or return None if that id is still pending."""
        current = self._pending.get(spec.job_id)
        if current is not None and current.status.pending:
            return None
        # Copy like a pickling back end would, so a caller mutating its
        # arguments afterwards cannot change what the job sees.
        spec = JobSpec(spec.func, spec.job_id, copy.deepcopy(spec.args), copy.deepcopy(spec.kwargs))
        job = _Job(spec=spec, status=status)
        self._pending[spec.job_id] = job
        self._done.pop(spec.job_id, None)
        return job

    def _finish(self, job: _Job, status: JobStatus, value: Any = None, error: str | None = None) -> None:
        """Record a final state (caller holds the lock) and wake result() waiters."""
        job.status, job.value, job.error = status, value, error
        if self._pending.get(job.spec.job_id) is job:
            del self._pending[job.spec.job_id]
            self._done[job.spec.job_id] = job
            while len(self._done) > self._max_results:
                self._done.popitem(last=False)
        self._changed.notify_all()

    def _run_timer(self) -> None:
        with self._lock:
            while not self._stopping:
                if not self._delayed:
                    self._changed.wait()
                    continue
                due_at, _, job = self._delayed[0]
                delay = due_at - time.time()
                if delay > 0:
                    self._changed.wait(delay)
                    continue
                heapq.heappop(self._delayed)
                if job.status is JobStatus.SCHEDULED:
                    job.status = JobStatus.QUEUED
                    self._ready.put(job)

    def _work(self) -> None:
        while (job := self._ready.get()) is not None:
            with self._lock:
                if job.status is not JobStatus.QUEUED:
                    continue
                job.status = JobStatus.STARTED
            self._run(job)

    def _run(self, job: _Job) -> None:
        spec = job.spec
        try:
            value = resolve_job(spec.func)(*spec.args, **spec.kwargs)
        except Exception:
            # A failing job must never take its worker thread down with it.
            logger.exception("Job %s (%s) failed", spec.job_id, spec.func)
            with self._lock:
                self._finish(job, JobStatus.FAILED, error=traceback.format_exc())
            return
        with self._lock:
            self._finish(job, JobStatus.FINISHED, value=value)
