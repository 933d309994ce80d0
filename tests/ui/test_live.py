"""The live relay: bus events reach a tab in batches, and many open tabs do not starve the loop's threads."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import pytest

from hitl_studio import events
from hitl_studio.settings import Settings
from hitl_studio.ui import live
from tests.loops import run_loop

_T = TypeVar("_T")
OPEN_TABS = 24
"""Far more than the event loop's default pool (cores + 4 threads) on this machine."""


@pytest.fixture
def tabs(monkeypatch: pytest.MonkeyPatch, sqlite_database: Settings) -> set[str]:
    """Tokens of the tabs that count as connected; a test removes one to close that tab."""
    events.reset_bus()
    connected: set[str] = set()
    monkeypatch.setattr(live, "tab_connected", lambda token: token in connected)
    monkeypatch.setattr(live, "IDLE_CHECK_SECONDS", 0.05)
    yield connected
    events.reset_bus()


async def _first_batch(token: str) -> list[dict[str, Any]]:
    """The first batch of events after the stream's empty "subscribed" batch."""
    stream = live.event_batches(token)
    try:
        assert await anext(stream) == []
        return await anext(stream)
    finally:
        await stream.aclose()


def test_an_empty_batch_says_the_stream_listens_then_a_burst_arrives_as_one_batch(tabs: set[str]) -> None:
    tabs.add("tab-1")

    async def scenario() -> list[dict[str, Any]]:
        reader = asyncio.create_task(_first_batch("tab-1"))
        await asyncio.sleep(0.2)  # the stream has subscribed
        for step in range(5):
            events.publish("step.finished", step=step)
        return await asyncio.wait_for(reader, 5)

    batch = run_loop(scenario)

    assert [event["step"] for event in batch] == [0, 1, 2, 3, 4]


def test_many_open_tabs_leave_the_default_thread_pool_free(tabs: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "IDLE_CHECK_SECONDS", 10.0)  # every tab stays blocked in one long read
    tabs.update(f"tab-{n}" for n in range(OPEN_TABS))

    async def scenario() -> tuple[str, int]:
        readers = [asyncio.create_task(_first_batch(token)) for token in sorted(tabs)]
        await asyncio.sleep(0.3)  # every tab is now blocked in a bus read
        # Work that Reflex handlers push to the default pool still runs at once.
        other = await asyncio.wait_for(asyncio.to_thread(lambda: "answered"), 2)
        events.publish("approval.created", id="a1")
        batches = await asyncio.wait_for(asyncio.gather(*readers), 5)
        return other, sum(len(batch) for batch in batches)

    other, delivered = run_loop(scenario)

    assert other == "answered"
    assert delivered == OPEN_TABS


def test_a_closed_tab_ends_its_stream(tabs: set[str]) -> None:
    tabs.add("tab-1")

    async def scenario() -> list[list[dict[str, Any]]]:
        stream = live.event_batches("tab-1")
        collected: list[list[dict[str, Any]]] = []

        async def consume() -> None:
            async for batch in stream:
                collected.append(batch)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        events.publish("run.finished", id="r1")
        await asyncio.sleep(0.3)
        tabs.discard("tab-1")
        await asyncio.wait_for(task, 3)
        return collected

    collected = run_loop(scenario)

    assert collected == [[], [{"type": "run.finished", "id": "r1"}]]
