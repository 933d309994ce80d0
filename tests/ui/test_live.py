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


def test_a_stream_taking_over_a_subscription_made_ahead_sees_what_was_published_before_it_started(
    tabs: set[str],
) -> None:
    tabs.add("tab-1")

    async def scenario() -> list[dict[str, Any]]:
        await live.listen_ahead("tab-1")
        for step in range(3):  # the run starts and goes on before the relay reads
            events.publish("node.finished", step=step)
        stream = live.event_batches("tab-1", ahead=True)
        try:
            return await asyncio.wait_for(anext(stream), 5)  # no empty "subscribed" batch first
        finally:
            await stream.aclose()

    batch = run_loop(scenario)

    assert [event["step"] for event in batch] == [0, 1, 2]


def test_only_a_stream_asking_for_it_takes_the_subscription_made_ahead(tabs: set[str]) -> None:
    tabs.add("tab-1")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        await live.listen_ahead("tab-1")
        events.publish("node.finished", step=0)
        other = live.event_batches("tab-1")  # another live page of the tab: a subscription of its own
        editor = live.event_batches("tab-1", ahead=True)
        try:
            return await asyncio.wait_for(anext(other), 5), await asyncio.wait_for(anext(editor), 5)
        finally:
            await other.aclose()
            await editor.aclose()

    other_first, editor_first = run_loop(scenario)

    assert other_first == []
    assert [event["step"] for event in editor_first] == [0]


def test_a_dropped_subscription_is_not_taken_over(tabs: set[str]) -> None:
    tabs.add("tab-1")

    async def scenario() -> list[dict[str, Any]]:
        await live.listen_ahead("tab-1")
        events.publish("node.finished", step=0)
        live.drop_ahead("tab-1")  # the run could not start
        stream = live.event_batches("tab-1", ahead=True)
        try:
            return await asyncio.wait_for(anext(stream), 5)
        finally:
            await stream.aclose()

    assert run_loop(scenario) == []  # a fresh subscription: it says "subscribed" and missed step 0


def test_the_first_batch_of_a_burst_is_cut_short_so_the_first_cards_show_early(
    tabs: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "FIRST_BATCH_SECONDS", 0.0)
    monkeypatch.setattr(live, "BATCH_SECONDS", 5.0)
    tabs.add("tab-1")

    async def scenario() -> list[list[int]]:
        await live.listen_ahead("tab-1")
        for step in range(5):
            events.publish("node.finished", step=step)
        stream = live.event_batches("tab-1", ahead=True)
        try:
            first = await asyncio.wait_for(anext(stream), 5)
            second = await asyncio.wait_for(anext(stream), 5)
        finally:
            await stream.aclose()
        return [[event["step"] for event in batch] for batch in (first, second)]

    assert run_loop(scenario) == [[0], [1, 2, 3, 4]]
