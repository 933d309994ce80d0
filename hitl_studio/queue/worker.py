"""What ``python -m hitl_studio worker`` and ``python -m hitl_studio scheduler`` run.

Both exist only in queue mode; in embedded mode the studio process runs jobs
and delayed jobs itself, so starting either would only confuse.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.utils import now as rq_now

from hitl_studio.queue.rq_backend import make_scheduler, redact_url
from hitl_studio.settings import Settings

EMBEDDED_MESSAGE = "REDIS_URL is not set; in embedded mode the studio runs jobs itself"
IDLE_HEARTBEAT_INTERVAL = timedelta(seconds=10)
"""How often a worker between jobs tells Redis it is alive (RQ lets a worker key live ~8 minutes)."""


SUSPENSION_CHECK_SECONDS = 1.0
"""How often a busy worker asks Redis whether ``rq suspend`` was called (RQ asks before every job)."""


class _LeanBookkeeping:
    """RQ's worker, minus the Redis round trips per job that a run does not need.

    A queue-mode run costs the worker about eleven Redis round trips of RQ's own bookkeeping, a
    third of its CPU time. These are left out, and nothing that reads them loses anything:

    - The worker key's renewal before every dequeue (HSET and two EXPIREs): sent at most every
      :data:`IDLE_HEARTBEAT_INTERVAL` between jobs; the ones RQ sends inside a job's own
      transitions (in a pipeline, or with a timeout) are kept as they are.
    - The ``rq suspend`` check before every dequeue (with yet another renewal): at most every
      :data:`SUSPENSION_CHECK_SECONDS`, so a suspension takes hold within a second.
    - Writing the worker's state when it is already that state (RQ writes ``idle`` twice per job).
    - Renewing the job's heartbeat once it has ended, which only gives its success or failure
      callback time to run: our jobs have none, and the finish pipeline follows at once.
    """

    last_heartbeat: datetime | None
    _written_state: str | None = None
    _suspension_checked_at: float | None = None

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        recent = self.last_heartbeat is not None and datetime.now(UTC) - self.last_heartbeat < IDLE_HEARTBEAT_INTERVAL
        if pipeline is None and timeout is None and recent:
            return
        super().heartbeat(timeout, pipeline)  # type: ignore[misc]

    def check_for_suspension(self, burst: bool) -> None:
        now = time.monotonic()
        if self._suspension_checked_at is not None and now - self._suspension_checked_at < SUSPENSION_CHECK_SECONDS:
            return
        self._suspension_checked_at = now
        super().check_for_suspension(burst)  # type: ignore[misc]

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == self._written_state:
            return
        super().set_state(state, pipeline)  # type: ignore[misc]
        self._written_state = state

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        if job._success_callback_name or job._failure_callback_name or job._stopped_callback_name:
            super().handle_execution_ended(job, queue, heartbeat_ttl)  # type: ignore[misc]
            return
        job.ended_at = rq_now()


class HitlSimpleWorker(_LeanBookkeeping, SimpleWorker):
    """Runs jobs in the worker process (the default; see :func:`run_worker`)."""


class HitlForkWorker(_LeanBookkeeping, Worker):
    """Runs each job in a forked child (``worker --fork``)."""


def run_worker(settings: Settings, burst: bool = False, fork: bool = False) -> int:
    """Run an RQ worker on ``settings.queue_name`` until stopped (or, with ``burst``, until the queue is empty).

    By default jobs run in the worker process itself (RQ's ``SimpleWorker``):
    forking per job costs more than most runs take. Runs hold no state between
    jobs, the Code node isolates user code in its own process, and a worker
    that dies mid-run has its run re-enqueued by the reconciler. ``fork=True``
    gives each job a fresh child process instead.

    Returns:
        The process exit code: 0 when the worker ends normally, 1 when Redis
        cannot be reached, 2 in embedded mode.
    """
    connection = _connection_or_none(settings)
    if connection is None:
        return 2
    try:
        queue = Queue(settings.queue_name, connection=connection)
        worker_class = HitlForkWorker if fork else HitlSimpleWorker
        worker_class([queue], connection=connection).work(burst=burst)
    except redis.ConnectionError as err:
        return _unreachable(settings, err)
    return 0


def run_scheduler(settings: Settings, interval: int = 1) -> int:
    """Run the scheduler that moves due delayed jobs onto ``settings.queue_name`` every ``interval`` seconds.

    Run one per queue; a second one waits on the scheduler's Redis lock.

    Returns:
        The process exit code: 0 when stopped normally, 1 when Redis cannot be
        reached, 2 in embedded mode.
    """
    connection = _connection_or_none(settings)
    if connection is None:
        return 2
    from hitl_studio.services.reconciler import PeriodicReconciler

    reconciler = PeriodicReconciler()
    reconciler.start()
    try:
        make_scheduler(connection, settings.queue_name, interval=interval).run()
    except redis.ConnectionError as err:
        return _unreachable(settings, err)
    finally:
        reconciler.stop()
    return 0


def _connection_or_none(settings: Settings) -> redis.Redis | None:
    if settings.redis_url is None:
        print(EMBEDDED_MESSAGE, file=sys.stderr)
        return None
    # No socket timeout here: the worker sets one that suits its blocking dequeue.
    return redis.Redis.from_url(settings.redis_url)


def _unreachable(settings: Settings, err: redis.ConnectionError) -> int:
    url = redact_url(settings.redis_url or "")
    print(f"Redis at {url} is not reachable ({err}); start it or fix REDIS_URL", file=sys.stderr)
    return 1
