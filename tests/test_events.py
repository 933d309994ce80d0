"""The event bus: every step and status change of a run reaches subscribers, in both modes."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import pytest

from hitl_studio import events
from hitl_studio.models.users import Role
from hitl_studio.services import executions, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import make_user
from tests.runs import wait_for_run
from tests.servers import redis_url_or_skip
from tests.workflows import node, workflow


def _collect(subscription: events.Subscription, execution_id: str, until: str = "succeeded") -> list[dict]:
    seen: list[dict] = []
    for _ in range(200):
        event = subscription.get(timeout=5)
        if event is None:
            break
        if event.get("execution_id") != execution_id:
            continue
        seen.append(event)
        if event["type"] == "execution.status" and event["status"] == until:
            break
    return seen


def _run_and_watch() -> tuple[str, list[dict]]:
    flow = workflow(
        [node("Start", "trigger.manual"), node("Tag", "core.set", {"assignments": [{"name": "x", "value": 1}]})],
        [("Start", "Tag")],
    )
    saved = workflows.create_workflow(WorkflowInput(**{**flow, "name": "watched"}), actor=make_user(Role.BUILDER))
    with events.get_bus().subscribe() as subscription:
        execution = executions.start_execution(saved.id, [{}, {}])
        seen = _collect(subscription, execution.id)
    wait_for_run(execution.id)
    return execution.id, seen


def _summary(seen: list[dict]) -> list[tuple[str, str]]:
    return [(event["type"], event.get("status") or event.get("node")) for event in seen]


def test_a_run_publishes_its_status_changes_and_every_node_locally(sqlite_database: Settings) -> None:
    _, seen = _run_and_watch()

    assert ("execution.status", "running") in _summary(seen)
    assert ("node.started", "Start") in _summary(seen)
    finished = [event for event in seen if event["type"] == "node.finished"]
    assert [(event["node"], event["status"], event["items"]) for event in finished] == [
        ("Start", "succeeded", [2]),
        ("Tag", "succeeded", [2]),
    ]
    assert _summary(seen)[-1] == ("execution.status", "succeeded")


@pytest.fixture
def redis_bus(sqlite_database: Settings, configure: Callable[..., Settings]) -> Iterator[events.RedisBus]:
    """The process-wide bus in queue mode (a queue name of its own), forgotten again afterwards."""
    configure(REDIS_URL=redis_url_or_skip(), HITL_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    events.reset_bus()
    bus = events.get_bus()
    assert isinstance(bus, events.RedisBus)
    yield bus
    events.reset_bus()


def test_events_cross_processes_over_redis_in_queue_mode(redis_bus: events.RedisBus) -> None:
    with redis_bus.subscribe() as subscription:
        subscription.get(timeout=0.2)
        redis_bus.publish({"type": "ping", "execution_id": "e1"})
        received = subscription.get(timeout=5)
    assert received == {"type": "ping", "execution_id": "e1"}


def test_redis_publishing_is_ordered_and_flush_waits_for_it(redis_bus: events.RedisBus) -> None:
    with redis_bus.subscribe() as subscription:
        subscription.get(timeout=0.2)
        for number in range(200):
            redis_bus.publish({"type": "tick", "n": number})
        assert redis_bus.flush(timeout=5)
        received = [subscription.get(timeout=5) for _ in range(200)]

    assert [event["n"] for event in received if event] == list(range(200))


def test_publishing_never_waits_for_a_redis_that_does_not_answer(caplog: pytest.LogCaptureFixture) -> None:
    # A socket that takes connections (the kernel's backlog) but never reads: PUBLISH gets no reply.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    bus = events.RedisBus(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")

    for number in range(50):
        bus.publish({"type": "tick", "n": number})  # a synchronous PUBLISH would block here for 5 s each

    assert not bus.flush(timeout=0.2)  # still queued behind the silent server, and publish returned anyway
    silent.close()  # refused from now on: the sender gives up on the batch and says so
    assert bus.flush(timeout=10)
    assert "could not publish" in caplog.text


def test_a_forked_child_drops_the_parents_queue_and_sends_its_own(redis_bus: events.RedisBus) -> None:
    with redis_bus.subscribe() as subscription:
        subscription.get(timeout=0.2)
        redis_bus.forget_parent_sender()  # what os.fork runs in the child
        redis_bus.publish({"type": "from-child"})
        assert redis_bus.flush(timeout=5)
        received = subscription.get(timeout=5)

    assert received == {"type": "from-child"}
