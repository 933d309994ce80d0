"""Background jobs behind one interface, in-process (embedded mode) or on RQ (queue mode).

Use :func:`get_queue` everywhere; which back end it returns depends only on
whether ``REDIS_URL`` is set.
"""

from __future__ import annotations

import threading

from hitl_studio.queue.base import (
    JobNotFound,
    JobQueue,
    JobResult,
    JobStatus,
    QueueUnavailable,
    resolve_job,
)
from hitl_studio.settings import get_settings

__all__ = [
    "JobNotFound",
    "JobQueue",
    "JobResult",
    "JobStatus",
    "QueueUnavailable",
    "get_queue",
    "reset_queue",
    "resolve_job",
]

_lock = threading.Lock()
_queue: JobQueue | None = None


def get_queue() -> JobQueue:
    """The process-wide queue, created on first use from :func:`get_settings`.

    In embedded mode its worker threads start here, so importing the studio
    never starts threads by itself.
    """
    global _queue
    with _lock:
        if _queue is None:
            _queue = _create()
        return _queue


def reset_queue() -> None:
    """Stop the process-wide queue and forget it; the next :func:`get_queue` builds a new one."""
    global _queue
    with _lock:
        queue, _queue = _queue, None
    if queue is not None:
        queue.stop()


def _create() -> JobQueue:
    settings = get_settings()
    if settings.redis_url is not None:
        # Imported here so embedded mode never needs rq or rq-scheduler to import.
        from hitl_studio.queue.rq_backend import RqQueue

        return RqQueue(settings.redis_url, settings.queue_name)
    from hitl_studio.queue.embedded import EmbeddedQueue

    queue = EmbeddedQueue(settings.embedded_workers)
    queue.start()
    return queue
