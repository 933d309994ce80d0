"""Queue mode: jobs go to Redis and run in separate ``rq worker`` processes.

Immediate jobs use :class:`rq.Queue`; delayed ones use rq-scheduler, whose
single scheduler process (``python -m hitl_studio scheduler``) moves them to
the queue when due.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.results import Result
from rq_scheduler import Scheduler

from hitl_studio.queue.base import JobNotFound, JobQueue, JobResult, JobSpec, JobStatus, QueueUnavailable

HEALTH_TIMEOUT = 1.5
SOCKET_TIMEOUT = 5.0
# result() blocks on Redis in slices shorter than SOCKET_TIMEOUT so a long wait
# never looks like a dead connection.
WAIT_SLICE = 1.0

_STATUSES = {
    RqStatus.CREATED: JobStatus.QUEUED,
    RqStatus.QUEUED: JobStatus.QUEUED,
    RqStatus.DEFERRED: JobStatus.QUEUED,
    RqStatus.READY_TO_ENQUEUE: JobStatus.QUEUED,
    RqStatus.RATE_LIMITED: JobStatus.QUEUED,
    RqStatus.SCHEDULED: JobStatus.SCHEDULED,
    RqStatus.STARTED: JobStatus.STARTED,
    RqStatus.FINISHED: JobStatus.FINISHED,
    RqStatus.FAILED: JobStatus.FAILED,
    RqStatus.STOPPED: JobStatus.FAILED,
    RqStatus.CANCELED: JobStatus.CANCELLED,
}


def redact_url(url: str) -> str:
    """The URL without its password, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def connect(redis_url: str, *, timeout: float = SOCKET_TIMEOUT, retries: int = 2) -> redis.Redis:
    """A Redis client with bounded timeouts and retries.

    redis-py's defaults (no socket timeout, three retries with back-off of up
    to ten seconds) would make a request hang for long seconds on a dead server.
    """
    retry = Retry(ExponentialWithJitterBackoff(base=0.1, cap=1.0), retries) if retries else Retry(NoBackoff(), 0)
    return redis.Redis.from_url(redis_url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=retry)


def make_scheduler(connection: redis.Redis, queue_name: str, interval: int = 60) -> Scheduler:
    """An rq-scheduler for ``queue_name`` whose Redis keys are namespaced by that name.

    rq-scheduler keeps every queue's delayed jobs in one global sorted set
    behind one global lock, so two studios sharing a Redis (or a test run next
    to a studio) would move each other's jobs. Suffixing the keys with the
    queue name keeps them apart; the stock ``rqscheduler`` command does not see
    these keys, so run ``python -m hitl_studio scheduler`` instead.
    """
    scheduler = Scheduler(queue_name=queue_name, connection=connection, interval=interval)
    scheduler.scheduled_jobs_key = f"{Scheduler.scheduled_jobs_key}:{queue_name}"
    scheduler.scheduler_lock_key = f"{Scheduler.scheduler_lock_key}:{queue_name}"
    return scheduler


class RqQueue(JobQueue):
    """Jobs in Redis on queue ``queue_name``, run by ``rq worker`` processes."""

    def __init__(self, redis_url: str, queue_name: str) -> None:
        self._url = redis_url
        self._redis = connect(redis_url)
        self.queue = Queue(queue_name, connection=self._redis)
        self.scheduler = make_scheduler(self._redis, queue_name)

    def health(self) -> str:
        """``"ok"`` if Redis answers a PING within :data:`HEALTH_TIMEOUT` seconds."""
        probe = connect(self._url, timeout=HEALTH_TIMEOUT, retries=0)
        try:
            probe.ping()
        except redis.RedisError as err:
            raise QueueUnavailable(self._unavailable_message(err)) from err
        finally:
            probe.close()
        return "ok"

    def start(self) -> None:
        """Nothing to start: workers and the scheduler are separate processes."""

    def stop(self) -> None:
        """Release this process's Redis connections."""
        self._redis.close()

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or scheduled job; see :meth:`JobQueue.cancel`."""
        with self._redis_errors():
            was_scheduled = bool(self._redis.zrem(self.scheduler.scheduled_jobs_key, job_id))
            job = self._fetch(job_id)
            if job is None:
                return was_scheduled
            if not was_scheduled and not _STATUSES.get(job.get_status(), JobStatus.FAILED).pending:
                return False
            try:
                job.cancel()
            except InvalidJobOperation:
                return was_scheduled
            return True

    def result(self, job_id: str, timeout: float = 0.0) -> JobResult:
        """Wait for a job; see :meth:`JobQueue.result`."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._redis_errors():
            job = self._fetch(job_id)
            if job is None:
                message = f"no job {job_id!r} in Redis (never enqueued, or its result has expired)"
                raise JobNotFound(message)
            results_key = Result.get_key(job_id)
            while True:
                # Note the newest result *before* reading the status, so a
                # result written in between is still seen by the XREAD below.
                newest = self._redis.xrevrange(results_key, count=1)
                last_id = newest[0][0] if newest else b"0-0"
                status = _STATUSES.get(job.get_status(), JobStatus.FAILED)
                remaining = deadline - time.monotonic()
                if status.done or remaining <= 0:
                    return self._to_result(job, status)
                self._redis.xread({results_key: last_id}, block=max(1, int(min(remaining, WAIT_SLICE) * 1000)))

    def _enqueue(self, spec: JobSpec) -> str:
        with self._redis_errors():
            # Most ids are new (a run's first job): try that first, and let Redis settle a race
            # between two callers enqueueing the same id (the loser's duplicate is the winner's job).
            # Looking the id up first would cost two round trips on every enqueue.
            try:
                self.queue.enqueue_call(
                    func=spec.func, args=spec.args, kwargs=spec.kwargs, job_id=spec.job_id, unique=True
                )
                return spec.job_id
            except DuplicateJobError:
                existing = self._status(spec.job_id)
            if existing is not None and existing.pending:
                return spec.job_id
            # The id belongs to a job that has started or is done: it may be used again.
            with suppress(DuplicateJobError):
                self.queue.enqueue_call(
                    func=spec.func, args=spec.args, kwargs=spec.kwargs, job_id=spec.job_id, unique=existing is None
                )
        return spec.job_id

    def _enqueue_at(self, when: datetime, spec: JobSpec) -> str:
        with self._redis_errors():
            existing = self._status(spec.job_id)
            if existing is not None and existing.pending:
                return spec.job_id
            # rq-scheduler keeps whole seconds and would release a job up to a second early; round up,
            # so a delayed job never runs before its time (deadlines and waits depend on that).
            due = when if when.microsecond == 0 else when.replace(microsecond=0) + timedelta(seconds=1)
            self.scheduler.schedule(due, spec.func, args=spec.args, kwargs=spec.kwargs, id=spec.job_id)
        return spec.job_id

    def _fetch(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self._redis)
        except NoSuchJobError:
            return None

    def _status(self, job_id: str) -> JobStatus | None:
        if self._redis.zscore(self.scheduler.scheduled_jobs_key, job_id) is not None:
            return JobStatus.SCHEDULED
        job = self._fetch(job_id)
        return None if job is None else _STATUSES.get(job.get_status(), JobStatus.FAILED)

    @staticmethod
    def _to_result(job: Job, status: JobStatus) -> JobResult:
        if status is JobStatus.FINISHED:
            return JobResult(job_id=job.id, status=status, value=job.return_value(refresh=True))
        if status is JobStatus.FAILED:
            latest = job.latest_result()
            error = latest.exc_string if latest is not None and latest.exc_string else f"job {job.id} was stopped"
            return JobResult(job_id=job.id, status=status, error=error)
        return JobResult(job_id=job.id, status=status)

    @contextmanager
    def _redis_errors(self) -> Iterator[None]:
        """Turn connection trouble into :class:`QueueUnavailable` so callers handle one error."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as err:
            raise QueueUnavailable(self._unavailable_message(err)) from err

    def _unavailable_message(self, err: Exception) -> str:
        return (
            f"Redis at {redact_url(self._url)} is not answering ({err}); "
            "start Redis, or unset REDIS_URL to run jobs inside the studio (embedded mode)"
        )
