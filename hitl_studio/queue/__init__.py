"""Background jobs behind one interface, in-process (embedded mode) or on RQ (queue mode).

Use :func:`get_queue` everywhere; which back end it returns depends only on
whether ``REDIS_URL`` is set.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from hitl_studio.queue.base import (
    JobNotFound,
    JobQueue,
    JobResult,
    JobStatus,
    QueueUnavailable,
    resolve_job,
)
from hitl_studio.settings import get_settings

if TYPE_CHECKING:
    import redis

__all__ = [
    "JobNotFound",
    "JobQueue",
    "JobResult",
    "JobStatus",
    "QueueUnavailable",
    "get_queue",
    "get_redis",
    "reset_queue",
    "resolve_job",
]

_lock = threading.Lock()
_queue: JobQueue | None = None
_redis: redis.Redis | None = None


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


def get_redis() -> redis.Redis | None:
    """The process-wide Redis client for the studio's own keys, or ``None`` in embedded mode.

    One client (one connection pool) per process serves every service that
    keeps short-lived state in Redis (webhook results, test-webhook listeners),
    so a webhook run does not open connections of its own. It has no socket
    timeout, because callers block on it (``BLPOP``) for as long as they choose.
    """
    global _redis
    url = get_settings().redis_url
    if url is None:
        return None
    with _lock:
        if _redis is None:
            import redis

            _redis = redis.Redis.from_url(url, socket_connect_timeout=2)
        return _redis


def reset_queue() -> None:
    """Stop the process-wide queue and forget it (and the Redis client); the next calls build new ones."""
    global _queue, _redis
    with _lock:
        queue, _queue = _queue, None
        client, _redis = _redis, None
    if queue is not None:
        queue.stop()
    if client is not None:
        client.close()


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
