"""Live screens: the event bus relayed into Reflex state by background tasks.

A page that shows something changing (a run on the canvas, the approvals
inbox) starts one background event per browser tab. It reads the bus in
batches, so a burst of step events becomes one state update (one websocket
message) instead of one per step, and it ends when the tab's websocket is
gone, so closed tabs leave no task behind. Events are only hints: the page
re-reads the database when it needs the truth.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import reflex as rx

from hitl_studio.events import Subscription, get_bus

BATCH_SECONDS = 0.1
"""The longest a batch gathers events after its first one (≤ the 300 ms status target)."""
BATCH_GAP_SECONDS = 0.02
"""A batch ends early when no event follows within this: a burst goes out as soon as it is over."""
IDLE_CHECK_SECONDS = 1.0
"""How often a quiet stream checks that its tab is still connected."""
MAX_LIVE_TABS = 256
"""Blocking bus reads in flight at once: one per open live tab, beyond which tabs wait their turn."""

_T = TypeVar("_T")

# Each live tab spends most of its time blocked in a bus read. On the loop's default pool
# (cores + 4 threads) a handful of open tabs would starve everything else that runs in
# threads, so the reads get a pool of their own; idle threads cost only their stack.
_bus_readers = ThreadPoolExecutor(max_workers=MAX_LIVE_TABS, thread_name_prefix="hitl-live")


async def _in_reader_thread(call: Callable[..., _T], *args: Any) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_bus_readers, call, *args)


def tab_connected(client_token: str) -> bool:
    """Whether the browser tab with this Reflex client token still has a websocket."""
    from reflex.utils.prerequisites import get_and_validate_app

    namespace = get_and_validate_app().app.event_namespace
    return namespace is not None and client_token in namespace.token_to_sid


def _next_batch(subscription: Subscription, wait_seconds: float) -> list[dict[str, Any]]:
    """In a reader thread: the next event (waiting up to ``wait_seconds``) and those that follow it, until
    a pause of :data:`BATCH_GAP_SECONDS` or :data:`BATCH_SECONDS` in all; empty if none came. One thread
    hop per batch, not per event: a 300-node run publishes 1,200 events at once, and a hop each cost more
    than the 300 ms a status may take to show."""
    first = subscription.get(wait_seconds)
    if first is None:
        return []
    batch = [first]
    deadline = time.monotonic() + BATCH_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        event = subscription.get(min(left, BATCH_GAP_SECONDS))
        if event is None:
            break
        batch.append(event)
    return batch


async def event_batches(client_token: str) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield lists of bus events until the tab with ``client_token`` disconnects.

    The first list is always empty and comes as soon as the subscription
    exists: the page re-reads the database then, so whatever was published
    before it listened (a fast run that already ended) is not missed.
    Each later list holds a burst of events: those that came without a pause of
    :data:`BATCH_GAP_SECONDS`, for at most :data:`BATCH_SECONDS`. Reading blocks a
    thread of a pool kept for these reads, never the event loop nor the loop's
    default pool.
    """
    subscription = await _in_reader_thread(get_bus().subscribe)
    try:
        yield []
        while tab_connected(client_token):
            batch = await _in_reader_thread(_next_batch, subscription, IDLE_CHECK_SECONDS)
            if batch:
                yield batch
    finally:
        # Closed inline, not in a thread: awaiting here would leave the generator running while
        # ``aclose()`` runs (a cancelled task), which Python refuses.
        subscription.close()


def client_token(state: rx.State) -> str:
    """The tab's token, the key :func:`tab_connected` looks up."""
    return state.router.session.client_token
