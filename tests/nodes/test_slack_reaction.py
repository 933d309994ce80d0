"""Slack Reaction (slack.reaction) run through the engine against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Slack
from tests.nodes.integrations import failure, host_for, outputs, run_node


def reaction(slack: Slack, parameters: dict[str, Any]) -> RunResult:
    return run_node("slack.reaction", parameters, credential_type="slack_api", host=host_for(slack.credential))


def test_add_then_remove_a_reaction(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    (sent,) = outputs(
        run_node(
            "slack.message",
            {"channel": general, "text": "Ship it?"},
            credential_type="slack_api",
            host=host_for(slack.credential),
        )
    )
    target = {"channel": general, "ts": sent["ts"]}

    (added,) = outputs(reaction(slack, {**target, "name": ":white_check_mark:"}))
    assert slack.workspace.reactions[(general, sent["ts"])] == ["white_check_mark"]
    assert added == {**target, "name": "white_check_mark", "operation": "add"}

    outputs(reaction(slack, {**target, "operation": "remove", "name": "white_check_mark"}))
    assert slack.workspace.reactions[(general, sent["ts"])] == []

    error = failure(reaction(slack, {**target, "operation": "remove", "name": "white_check_mark"}))
    assert error["message"] == f"item 0: Slack refused removing :white_check_mark: on message {sent['ts']}: no_reaction"


def test_an_emoji_name_with_spaces_is_refused(slack: Slack) -> None:
    error = failure(reaction(slack, {"channel": "C1", "ts": "1.2", "name": "thumbs up"}))

    assert "an emoji name is one word" in error["message"]
    assert slack.server.calls == []
