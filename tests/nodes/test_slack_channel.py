"""Slack Channel (slack.channel) run through the engine against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Slack
from tests.nodes.integrations import failure, host_for, outputs, run_node


def channel(slack: Slack, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    return run_node("slack.channel", parameters, items, credential_type="slack_api", host=host_for(slack.credential))


def test_list_follows_cursor_pages_filters_kinds_and_stops_at_the_limit(slack: Slack) -> None:
    for number in range(5):
        slack.workspace.add_channel(f"team-{number}")
    slack.workspace.add_channel("secret", is_private=True)
    slack.workspace.add_channel("old", is_archived=True)

    public = outputs(channel(slack, {"operation": "list"}))
    everything = outputs(channel(slack, {"operation": "list", "types": ["public_channel", "private_channel"]}))
    capped = outputs(channel(slack, {"operation": "list", "limit": 3}))

    assert [entry["name"] for entry in public] == [f"team-{number}" for number in range(5)]
    assert "secret" in {entry["name"] for entry in everything}
    assert "old" not in {entry["name"] for entry in everything}
    assert [entry["name"] for entry in capped] == ["team-0", "team-1", "team-2"]


def test_list_follows_short_pages_and_asks_only_for_what_is_left(slack: Slack) -> None:
    for number in range(6):
        slack.workspace.add_channel(f"team-{number}")
    slack.workspace.page_cap = 2

    listed = outputs(channel(slack, {"operation": "list", "limit": 5}))

    assert [entry["name"] for entry in listed] == [f"team-{number}" for number in range(5)]
    calls = slack.server.called("conversations.list")
    assert [(call.args.get("cursor"), call.args["limit"]) for call in calls] == [(None, "5"), ("2", "3"), ("4", "1")]


def test_create_a_channel_then_a_clash_names_the_item(slack: Slack) -> None:
    (created,) = outputs(channel(slack, {"operation": "create", "name": "#launch-{{ $json.n }}"}, [{"n": 1}]))

    assert created["name"] == "launch-1" and created["id"].startswith("C")
    assert created["is_private"] is False
    error = failure(channel(slack, {"operation": "create", "name": "launch-1"}, [{}]))
    assert error["message"] == "item 0: Slack refused creating channel 'launch-1': name_taken"
    assert "pick another name" in error["description"]


def test_history_outputs_one_item_per_message_newest_first(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    for text in ("one", "two", "three"):
        run_node(
            "slack.message",
            {"channel": general, "text": text},
            credential_type="slack_api",
            host=host_for(slack.credential),
        )

    history = outputs(channel(slack, {"operation": "history", "channel": general}))
    latest_two = outputs(channel(slack, {"operation": "history", "channel": general, "limit": 2}))

    assert [entry["text"] for entry in history] == ["three", "two", "one"]
    assert [entry["text"] for entry in latest_two] == ["three", "two"]


def test_history_of_an_unknown_channel_says_to_invite_the_app(slack: Slack) -> None:
    error = failure(channel(slack, {"operation": "history", "channel": "C404"}))

    assert error["message"] == "item 0: Slack refused the history of C404: channel_not_found"
    assert "/invite" in error["description"]
