"""What ``python -m hitl_studio worker`` and ``python -m hitl_studio scheduler`` run.

Both exist only in queue mode; in embedded mode the studio process runs jobs
and delayed jobs itself, so starting either would only confuse.
"""

from __future__ import annotations

import sys

import redis
from rq import Queue, SimpleWorker, Worker

from hitl_studio.queue.rq_backend import make_scheduler, redact_url
from hitl_studio.settings import Settings

EMBEDDED_MESSAGE = "REDIS_URL is not set; in embedded mode the studio runs jobs itself"


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
        worker_class = Worker if fork else SimpleWorker
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
