"""RSS Feed Trigger (trigger.rss_feed) through the engine, against a real feed server on 127.0.0.1.

Run by hand it outputs the feed; polled (mode ``poll``, its cursor in the
node's state, as the studio's poller runs it) it outputs only new entries,
oldest first, and hands back the cursor for the next poll.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner, RunResult
from hitl_studio.engine.states import RunStatus
from nodes.registry import RegistryError, get_registry, validate_node_class
from nodes.sdk import POLL_CURSOR, Category, Item, Parameters, Poll, PollTriggerNode, TriggerKind, TriggerNode
from nodes.triggers.rss_feed import SEEN_LIMIT, RssFeedTriggerParameters
from tests.fakes.feed_server import RSS2, FakeFeedServer, fake_feed_server
from tests.workflows import node, output_json, run, workflow

NEW_ENTRY = b"""    <item>
      <title>Version 2.1</title>
      <link>https://example.com/releases/2.1</link>
      <guid isPermaLink="false">release-2.1</guid>
      <pubDate>Wed, 04 Jun 2025 08:00:00 +0000</pubDate>
    </item>
    <item>
      <title>Version 2.0.1</title>
      <guid isPermaLink="false">release-2.0.1</guid>
    </item>
"""


@pytest.fixture
def feeds() -> Iterator[FakeFeedServer]:
    with fake_feed_server() as fake:
        yield fake


def feed_flow(url: str, **parameters: Any) -> dict[str, Any]:
    return workflow(
        [
            node("New entries", "trigger.rss_feed", {"url": url, "poll_every": "@every 1m", **parameters}),
            node("Title", "core.set", {"assignments": [{"name": "seen", "value": "{{ $json.title }}"}]}),
        ],
        [("New entries", "Title")],
    )


def poll(data: dict[str, Any], cursor: dict[str, Any] | None) -> RunResult:
    """Run the trigger alone in poll mode from ``cursor``, as the studio's poller does."""
    runner = Runner(parse_workflow(data), get_registry(), LocalHost(), execution_id="poll", execution_mode="poll")
    name = data["nodes"][0]["name"]
    return runner.start(name, [], stop_after=name, state={name: {POLL_CURSOR: cursor}})


def polled(result: RunResult) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    return output_json(result, "New entries"), result.node_state["New entries"][POLL_CURSOR]


def test_run_by_hand_it_outputs_the_whole_feed_to_the_next_node(feeds: FakeFeedServer) -> None:
    result = run(feed_flow(feeds.url("/rss2")), [{}])

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert [item["seen"] for item in output_json(result, "Title")] == ["Version 2.0", "Version 1.9", "Version 1.8"]
    assert "raw" not in output_json(result, "New entries")[0]


def test_polled_it_outputs_only_new_entries_oldest_first_and_moves_its_cursor(feeds: FakeFeedServer) -> None:
    flow = feed_flow(feeds.url("/rss2"))
    everything, cursor = polled(poll(flow, None))
    assert [entry["id"] for entry in everything] == [
        "release-2.0",
        "https://example.com/releases/1.9",
        "https://example.com/releases/1.8",
    ]

    nothing, same = polled(poll(flow, cursor))
    assert nothing == [] and same == cursor

    feeds.serve("/rss2", RSS2.replace(b"    <item>", NEW_ENTRY + b"    <item>", 1))
    new, moved = polled(poll(flow, cursor))
    assert [entry["title"] for entry in new] == ["Version 2.0.1", "Version 2.1"]
    assert moved["seen"][:2] == ["release-2.1", "release-2.0.1"] and set(cursor["seen"]) < set(moved["seen"])
    assert polled(poll(flow, moved))[0] == []


def test_an_entry_that_leaves_the_feed_and_comes_back_is_not_new_again(feeds: FakeFeedServer) -> None:
    flow = feed_flow(feeds.url("/rss2"))
    _, cursor = polled(poll(flow, None))
    feeds.serve("/rss2", RSS2.replace(b"<title>Version 2.0</title>", b"<title>Version 2.0 (edited)</title>"))

    assert polled(poll(flow, cursor))[0] == []


def test_the_cursor_keeps_a_bounded_number_of_ids(feeds: FakeFeedServer) -> None:
    flow = feed_flow(feeds.url("/rss2"))
    old = {"seen": [f"old-{index}" for index in range(SEEN_LIMIT)]}

    new, cursor = polled(poll(flow, old))

    assert len(new) == 3 and len(cursor["seen"]) == SEEN_LIMIT and cursor["seen"][0] == "release-2.0"


def test_the_run_the_poller_starts_passes_the_found_items_on(feeds: FakeFeedServer) -> None:
    flow = feed_flow(feeds.url("/rss2"))
    runner = Runner(parse_workflow(flow), get_registry(), LocalHost(), execution_id="run", execution_mode="poll")
    result = runner.start("New entries", [Item({"title": "found"})])

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert output_json(result, "Title") == [{"title": "found", "seen": "found"}]
    assert feeds.requests == []


def test_a_feed_that_cannot_be_read_fails_the_poll_with_the_reason(feeds: FakeFeedServer) -> None:
    result = poll(feed_flow(feeds.url("/gone")), {"seen": []})

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "New entries"
    assert result.error["message"].startswith(f"GET {feeds.url('/gone')} returned 404")
    not_a_feed = poll(feed_flow(feeds.url("/page")), None)
    assert not_a_feed.status is RunStatus.FAILED and "feed" in not_a_feed.error["message"]


def test_parameters_are_checked_with_a_message_per_field() -> None:
    with pytest.raises(ValidationError, match="not a valid interval"):
        RssFeedTriggerParameters(url="https://example.com/feed", poll_every="@every 0s")
    with pytest.raises(ValidationError, match="unknown time zone"):
        RssFeedTriggerParameters(url="https://example.com/feed", timezone="Mars/Olympus")
    assert RssFeedTriggerParameters(url="https://example.com/feed").poll_every == "@every 5m"
    result = run(feed_flow("ftp://example.com/feed"), [{}])
    assert result.status is RunStatus.FAILED and "is not an http:// or https:// URL" in result.error["message"]


def test_a_polling_trigger_must_say_how_it_polls() -> None:
    class NotPolling(TriggerNode):
        type = "test.not_polling"
        display_name = "Not polling"
        category = Category.TRIGGER
        description = "Claims to poll without a poll method."
        icon = "rss"
        trigger_kind = TriggerKind.POLL

    with pytest.raises(RegistryError, match=r"must subclass nodes\.sdk\.PollTriggerNode"):
        validate_node_class(NotPolling)

    class NoSchedule(PollTriggerNode):
        type = "test.no_schedule"
        display_name = "No schedule"
        category = Category.TRIGGER
        description = "Polls without a poll_every parameter."
        icon = "rss"
        Parameters = Parameters

        def poll(self, ctx: Any, cursor: Any) -> Poll:
            return Poll(items=[], cursor={})

    with pytest.raises(RegistryError, match=r"Parameters must subclass nodes\.sdk\.PollParameters"):
        validate_node_class(NoSchedule)
