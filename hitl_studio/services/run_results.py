"""Handing a run's result to whoever waits for it (a webhook caller waiting for ``last_node``).

The caller registers interest before the run is enqueued; the worker delivers
once. Embedded mode uses in-process queues; queue mode a Redis list per run
(``BLPOP``), which works whichever worker ran it. Only runs started with
``notify=True`` deliver, so ordinary runs cost nothing here.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import redis

from hitl_studio.settings import get_settings

_RESULT_TTL_SECONDS = 600
_waiters: dict[str, queue.Queue[dict[str, Any]]] = {}
_lock = threading.Lock()
_client: redis.Redis | None = None


def _redis() -> redis.Redis | None:
    global _client
    url = get_settings().redis_url
    if url is None:
        return None
    if _client is None:
        _client = redis.Redis.from_url(url, socket_connect_timeout=2)
    return _client


def _key(execution_id: str) -> str:
    return f"hitl:result:{execution_id}"


def expect(execution_id: str) -> None:
    """Register interest in a run's result; call before the run is enqueued."""
    if _redis() is None:
        with _lock:
            _waiters[execution_id] = queue.Queue(maxsize=1)


def deliver(execution_id: str, payload: dict[str, Any]) -> None:
    """Hand over the result; only the first delivery for a run counts."""
    client = _redis()
    if client is not None:
        key = _key(execution_id)
        pipeline = client.pipeline()
        pipeline.rpush(key, json.dumps(payload, default=str))
        pipeline.expire(key, _RESULT_TTL_SECONDS)
        pipeline.execute()
        return
    with _lock:
        waiter = _waiters.get(execution_id)
    if waiter is not None:
        try:
            waiter.put_nowait(payload)
        except queue.Full:
            return


def wait(execution_id: str, timeout: float) -> dict[str, Any] | None:
    """The delivered result, or ``None`` if none came within ``timeout`` seconds."""
    client = _redis()
    try:
        if client is not None:
            popped = client.blpop([_key(execution_id)], timeout=max(1, round(timeout)))
            if popped is None:
                return None
            client.delete(_key(execution_id))
            return json.loads(popped[1])
        with _lock:
            waiter = _waiters.get(execution_id)
        if waiter is None:
            return None
        try:
            return waiter.get(timeout=timeout)
        except queue.Empty:
            return None
    finally:
        with _lock:
            _waiters.pop(execution_id, None)


def reset() -> None:
    """Forget waiters and the Redis client (tests switch configurations)."""
    global _client
    with _lock:
        _waiters.clear()
    _client = None
