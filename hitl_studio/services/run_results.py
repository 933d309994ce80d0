"""Handing a webhook caller its answer: the run's result, or what a Respond to Webhook node chose.

The caller registers interest before the run is enqueued; the worker delivers
once, either when the run ends or pauses, or earlier, at the moment a Respond
to Webhook node runs (response mode ``respond_node``; the run then goes on).
Embedded mode hands it over in-process through a future the waiting request
awaits on its event loop (no thread sits blocked for it); queue mode through a
Redis list per run (``BLPOP``), which works whichever worker ran it. Only runs
started with ``notify=True`` deliver, so ordinary runs cost nothing here.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import Future, InvalidStateError
from typing import Any

from starlette.concurrency import run_in_threadpool

from hitl_studio.queue import get_redis

_RESULT_TTL_SECONDS = 600
_waiters: dict[str, Future[dict[str, Any]]] = {}
_lock = threading.Lock()


def _key(execution_id: str) -> str:
    return f"hitl:result:{execution_id}"


def expect(execution_id: str) -> None:
    """Register interest in a run's result; call before the run is enqueued."""
    if get_redis() is None:
        with _lock:
            _waiters[execution_id] = Future()


def deliver(execution_id: str, payload: dict[str, Any]) -> None:
    """Hand over the result; the caller waits for the first delivery only."""
    client = get_redis()
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
            waiter.set_result(payload)
        except InvalidStateError:
            return  # delivered already, or the caller stopped waiting


async def wait(execution_id: str, timeout: float) -> dict[str, Any] | None:
    """The delivered result, or ``None`` if none came within ``timeout`` seconds."""
    client = get_redis()
    try:
        if client is not None:
            # One delivery per run (the end, a pause or a Respond to Webhook node; never two), so the
            # popped list is empty and Redis has dropped it: nothing to delete.
            popped = await run_in_threadpool(client.blpop, [_key(execution_id)], max(1, round(timeout)))
            if popped is None:
                return None
            return json.loads(popped[1])
        with _lock:
            waiter = _waiters.get(execution_id)
        if waiter is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(waiter), timeout)
        except TimeoutError:
            return None
    finally:
        with _lock:
            _waiters.pop(execution_id, None)


def reset() -> None:
    """Forget waiters (tests switch configurations; ``reset_queue`` drops the Redis client)."""
    with _lock:
        _waiters.clear()
