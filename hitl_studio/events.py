"""The event bus: live run and approval events, for the studio's screens and anyone listening.

Embedded mode uses in-process queues; queue mode publishes on the Redis
channel ``hitl:events`` so the studio hears what workers do. Events are
notifications only: the database stays the record, so a missed event costs a
stale screen until the next refresh, never data.
"""

from __future__ import annotations

import abc
import atexit
import json
import logging
import os
import queue
import threading
import time
from typing import Any

import redis

from hitl_studio.settings import get_settings

CHANNEL = "hitl:events"
SUBSCRIBER_BUFFER = 10_000
FLUSH_AT_EXIT_SECONDS = 2.0
"""How long a stopping process waits for its last events to reach Redis."""
logger = logging.getLogger(__name__)


class Subscription(abc.ABC):
    @abc.abstractmethod
    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or ``None`` after ``timeout`` seconds without one."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop receiving events."""

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EventBus(abc.ABC):
    @abc.abstractmethod
    def publish(self, event: dict[str, Any]) -> None:
        """Send ``event`` (JSON-serialisable, with a ``type``) to every subscriber; never raises."""

    @abc.abstractmethod
    def subscribe(self) -> Subscription:
        """Start receiving events published from now on."""


class _LocalSubscription(Subscription):
    def __init__(self, bus: LocalBus) -> None:
        self._bus = bus
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=SUBSCRIBER_BUFFER)

    def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.remove(self)


class LocalBus(EventBus):
    """In-process fan-out. A slow subscriber loses its oldest events rather than blocking publishers."""

    def __init__(self) -> None:
        self._subscribers: list[_LocalSubscription] = []
        self._lock = threading.Lock()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber.queue.put_nowait(event)
            except queue.Full:
                try:
                    subscriber.queue.get_nowait()
                    subscriber.queue.put_nowait(event)
                except (queue.Empty, queue.Full):
                    continue

    def subscribe(self) -> Subscription:
        subscription = _LocalSubscription(self)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def remove(self, subscription: _LocalSubscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)


class _RedisSubscription(Subscription):
    def __init__(self, client: redis.Redis) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(CHANNEL)

    def get(self, timeout: float) -> dict[str, Any] | None:
        message = self._pubsub.get_message(timeout=timeout)
        if message is None or message.get("type") != "message":
            return None
        try:
            return json.loads(message["data"])
        except (TypeError, ValueError):
            logger.warning("ignored a malformed event on %s", CHANNEL)
            return None

    def close(self) -> None:
        self._pubsub.close()


class RedisBus(EventBus):
    """Pub/sub over Redis. Publishing never waits for Redis: a run's node events would otherwise cost
    a round trip each, on the worker's critical path (a third of a short run's time, measured).

    Events go to an in-process queue that one sender thread drains, a pipeline of PUBLISH per
    batch, so they leave in the order they were published. A stopping process sends what is
    left (:meth:`flush`, at exit); a forked child starts with an empty queue and its own sender.
    """

    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self._outbox: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._unsent = 0
        self._unsent_changed = threading.Condition()
        self._sender: threading.Thread | None = None

    def publish(self, event: dict[str, Any]) -> None:
        try:
            payload = json.dumps(event, default=str)
        except (TypeError, ValueError) as err:
            logger.warning("could not publish a %s event: %s", event.get("type"), err)
            return
        with self._unsent_changed:
            self._unsent += 1
            if self._sender is None or not self._sender.is_alive():
                self._sender = threading.Thread(target=self._send_forever, name="hitl-event-sender", daemon=True)
                self._sender.start()
        self._outbox.put((str(event.get("type")), payload))

    def flush(self, timeout: float = FLUSH_AT_EXIT_SECONDS) -> bool:
        """Wait until every event published so far went to Redis (or failed); ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._unsent_changed:
            while self._unsent:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._unsent_changed.wait(left)
        return True

    def _send_forever(self) -> None:
        while True:
            batch = [self._outbox.get()]
            while True:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            pipeline = self._client.pipeline(transaction=False)
            for _kind, payload in batch:
                pipeline.publish(CHANNEL, payload)
            try:
                pipeline.execute()
            except redis.RedisError as err:
                logger.warning("could not publish %d event(s) (%s...): %s", len(batch), batch[0][0], err)
            with self._unsent_changed:
                self._unsent -= len(batch)
                self._unsent_changed.notify_all()

    def forget_parent_sender(self) -> None:
        """In a forked child: the parent's sender thread is gone, and its queue is not ours to send."""
        self._outbox = queue.SimpleQueue()
        self._unsent = 0
        self._unsent_changed = threading.Condition()
        self._sender = None

    def subscribe(self) -> Subscription:
        return _RedisSubscription(self._client)


_bus: EventBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> EventBus:
    """The process-wide bus: Redis pub/sub in queue mode, in-process otherwise."""
    global _bus
    with _bus_lock:
        if _bus is None:
            redis_url = get_settings().redis_url
            _bus = RedisBus(redis_url) if redis_url else LocalBus()
        return _bus


def reset_bus() -> None:
    """Forget the bus (settings changed), after sending what it still holds."""
    global _bus
    with _bus_lock:
        previous, _bus = _bus, None
    if isinstance(previous, RedisBus):
        previous.flush()


def _flush_at_exit() -> None:
    if isinstance(_bus, RedisBus) and not _bus.flush(FLUSH_AT_EXIT_SECONDS):
        logger.warning("some events were not published before exit")


def _after_fork_in_child() -> None:
    if isinstance(_bus, RedisBus):
        _bus.forget_parent_sender()


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)


def publish(event_type: str, **data: Any) -> None:
    """Publish ``{"type": event_type, **data}`` on the process-wide bus."""
    get_bus().publish({"type": event_type, **data})
