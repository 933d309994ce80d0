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
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import reflex as rx

from hitl_studio.events import Subscription, get_bus

BATCH_SECONDS = 0.1
"""The longest a batch gathers events after its first one (≤ the 300 ms status target)."""
FIRST_BATCH_SECONDS = 0.03
"""The same for the first batch after a quiet spell: the first cards of a run turn green while the browser is idle, and
drawing them overlaps with gathering the next batch instead of waiting for it."""
AHEAD_KEEP_SECONDS = 60.0
"""How long a subscription made ahead (:func:`listen_ahead`) waits for its stream before it is dropped."""
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


def _next_batch(subscription: Subscription, wait_seconds: float, window: float) -> list[dict[str, Any]]:
    """In a reader thread: the next event (waiting up to ``wait_seconds``) and those that follow it, until
    a pause of :data:`BATCH_GAP_SECONDS` or ``window`` seconds in all; empty if none came. One thread
    hop per batch, not per event: a 300-node run publishes 1,200 events at once, and a hop each cost more
    than the 300 ms a status may take to show."""
    first = subscription.get(wait_seconds)
    if first is None:
        return []
    batch = [first]
    deadline = time.monotonic() + window
    while (left := deadline - time.monotonic()) > 0:
        event = subscription.get(min(left, BATCH_GAP_SECONDS))
        if event is None:
            break
        batch.append(event)
    return batch


_ahead: dict[str, tuple[Subscription, float]] = {}
_ahead_lock = threading.Lock()


async def listen_ahead(client_token: str) -> None:
    """Subscribe for the tab now, before it starts what it will follow (a run from the editor).

    The tab's next ``event_batches(..., ahead=True)`` takes this subscription over, so it sees the run's events from
    the first one on, with no catch-up read of the database: a 300-node run is over in about 100 ms,
    before a relay subscribing after the start could listen. Call :func:`drop_ahead` if the start fails.
    """
    subscription = await _in_reader_thread(get_bus().subscribe)
    now = time.monotonic()
    with _ahead_lock:
        stale = [token for token, (_, made) in _ahead.items() if now - made > AHEAD_KEEP_SECONDS]
        dropped = [_ahead.pop(token)[0] for token in stale]
        if (replaced := _ahead.pop(client_token, None)) is not None:
            dropped.append(replaced[0])
        _ahead[client_token] = (subscription, now)
    for old in dropped:
        old.close()


def drop_ahead(client_token: str) -> None:
    """Close the tab's subscription made by :func:`listen_ahead`, if no stream took it over."""
    with _ahead_lock:
        found = _ahead.pop(client_token, None)
    if found is not None:
        found[0].close()


async def event_batches(client_token: str, *, ahead: bool = False) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield lists of bus events until the tab with ``client_token`` disconnects.

    With ``ahead``, the subscription the tab made by :func:`listen_ahead` is
    used if there is one. Unless it is, the first list is
    empty and comes as soon as the subscription exists: the page re-reads the
    database then, so whatever was published before it listened (a fast run
    that already ended) is not missed.
    Each later list holds a burst of events: those that came without a pause of
    :data:`BATCH_GAP_SECONDS`, for at most :data:`FIRST_BATCH_SECONDS` in the
    first list after a quiet :data:`IDLE_CHECK_SECONDS` and :data:`BATCH_SECONDS` in the others. Reading blocks a
    thread of a pool kept for these reads, never the event loop nor the loop's
    default pool.
    """
    made = None
    if ahead:
        with _ahead_lock:
            made = _ahead.pop(client_token, None)
    subscription = made[0] if made is not None else await _in_reader_thread(get_bus().subscribe)
    try:
        if made is None:
            yield []
        window = FIRST_BATCH_SECONDS
        while tab_connected(client_token):
            batch = await _in_reader_thread(_next_batch, subscription, IDLE_CHECK_SECONDS, window)
            # After a quiet second the next event starts a new burst, whose first list is quick again.
            window = BATCH_SECONDS if batch else FIRST_BATCH_SECONDS
            if batch:
                yield batch
    finally:
        # Closed inline, not in a thread: awaiting here would leave the generator running while
        # ``aclose()`` runs (a cancelled task), which Python refuses.
        subscription.close()


def client_token(state: rx.State) -> str:
    """The tab's token, the key :func:`tab_connected` looks up."""
    return state.router.session.client_token
