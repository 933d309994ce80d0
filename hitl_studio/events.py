"""The event bus: live run and approval events, for the studio's screens and anyone listening.

Embedded mode uses in-process queues; queue mode publishes on the Redis
channel ``hitl:events`` so the studio hears what workers do. Events are
notifications only: the database stays the record, so a missed event costs a
stale screen until the next refresh, never data.
"""

from __future__ import annotations

import abc
import json
import logging
import queue
import threading
from typing import Any

import redis

from hitl_studio.settings import get_settings

CHANNEL = "hitl:events"
SUBSCRIBER_BUFFER = 10_000
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
    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)

    def publish(self, event: dict[str, Any]) -> None:
        try:
            self._client.publish(CHANNEL, json.dumps(event, default=str))
        except redis.RedisError as err:
            logger.warning("could not publish a %s event: %s", event.get("type"), err)

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
    global _bus
    with _bus_lock:
        _bus = None


def publish(event_type: str, **data: Any) -> None:
    """Publish ``{"type": event_type, **data}`` on the process-wide bus."""
    get_bus().publish({"type": event_type, **data})
