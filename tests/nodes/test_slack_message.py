"""Slack Message (slack.message) run through the engine against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.users import Role
from hitl_studio.services import executions, workflows
from hitl_studio.services.credentials import create_credential
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from nodes.sdk import NodeError
from nodes.slack.credentials import SlackApiCredential
from tests.factories import make_user
from tests.fakes.slack_server import BOT_TOKEN
from tests.nodes.conftest import Slack
from tests.nodes.integrations import failure, host_for, outputs, run_node
from tests.runs import wait_for_run
from tests.workflows import node, workflow


def message(slack: Slack, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    return run_node("slack.message", parameters, items, credential_type="slack_api", host=host_for(slack.credential))


def test_send_posts_one_message_per_item_with_the_bot_token(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    parameters = {"channel": general, "text": "Order {{ $json.id }} shipped"}

    sent = outputs(message(slack, parameters, [{"id": 7}, {"id": 8}]))

    assert [entry["message"]["text"] for entry in sent] == ["Order 7 shipped", "Order 8 shipped"]
    assert {entry["channel"] for entry in sent} == {general}
    assert [slack.server.messages[(general, entry["ts"])]["text"] for entry in sent] == [
        "Order 7 shipped",
        "Order 8 shipped",
    ]
    (first, _) = slack.server.called("chat.postMessage")
    assert first.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert first.args["unfurl_links"] in (False, "0", "false")


def test_send_with_blocks_in_a_thread(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    (parent,) = outputs(message(slack, {"channel": general, "text": "Deploy started"}))
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Done* in 3 min"}}]

    outputs(
        message(
            slack,
            {"channel": general, "text": "Done", "blocks": json.dumps(blocks), "thread_ts": parent["ts"]},
        )
    )

    reply = slack.server.called("chat.postMessage")[-1].args
    assert reply["thread_ts"] == parent["ts"]
    assert reply["blocks"] == blocks


def test_update_get_permalink_and_delete_a_sent_message(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    (sent,) = outputs(message(slack, {"channel": general, "text": "Draft"}))
    target = {"channel": general, "ts": sent["ts"]}

    (updated,) = outputs(message(slack, {"operation": "update", **target, "text": "Final"}))
    (link,) = outputs(message(slack, {"operation": "get_permalink", **target}))
    (deleted,) = outputs(message(slack, {"operation": "delete", **target}))

    assert updated == {"channel": general, "ts": sent["ts"], "text": "Final"}
    assert link["permalink"].endswith(f"/archives/{general}/p{sent['ts'].replace('.', '')}")
    assert deleted == {"channel": general, "ts": sent["ts"], "deleted": True}
    assert (general, sent["ts"]) not in slack.server.messages


def test_a_refusal_names_the_item_the_code_and_what_to_do(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]

    error = failure(
        message(slack, {"operation": "delete", "channel": general, "ts": "{{ $json.ts }}"}, [{"ts": "1.2"}])
    )

    assert error["message"] == f"item 0: Slack refused deleting message 1.2 in {general}: message_not_found"
    assert "the id Send returned" in error["description"]
    assert error["item_index"] == 0


def test_a_wrong_token_fails_clearly_without_showing_it(slack: Slack) -> None:
    wrong = {**slack.credential, "bot_token": "xoxb-not-the-right-one"}

    error = failure(
        run_node("slack.message", {"channel": "C1", "text": "hi"}, credential_type="slack_api", host=host_for(wrong))
    )

    assert error["message"] == "item 0: Slack refused the message to C1: invalid_auth"
    assert "copy it again" in error["description"]
    assert "xoxb-not-the-right-one" not in json.dumps(error)


def test_update_without_a_ts_is_refused_before_calling_slack(slack: Slack) -> None:
    error = failure(message(slack, {"operation": "update", "channel": "C1", "text": "x"}))

    assert "update needs the message's ts" in error["message"]
    assert slack.server.calls == []


def test_the_studio_runs_it_with_a_stored_credential_that_never_leaks(sqlite_database: Settings, slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    builder = make_user(Role.BUILDER)
    credential = create_credential("workspace", "slack_api", slack.credential, actor=builder)
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node(
                "Slack",
                "slack.message",
                {"channel": general, "text": "Hello {{ $json.name }}"},
                credentials={"slack_api": {"id": credential.id}},
            ),
        ],
        [("Start", "Slack")],
    )
    saved = workflows.create_workflow(WorkflowInput(**{**data, "name": "greet"}), actor=builder)

    finished = wait_for_run(executions.start_execution(saved.id, [{"name": "Ada"}]).id)

    assert finished.status == RunStatus.SUCCEEDED, finished.error
    (call,) = slack.server.called("chat.postMessage")
    assert call.args["text"] == "Hello Ada"
    stored, steps, history = executions.get_execution(finished.id)
    recorded = json.dumps(
        [
            stored.error,
            [step.model_dump(mode="json") for step in steps],
            [event.model_dump(mode="json") for event in history],
        ]
    )
    assert BOT_TOKEN not in recorded
    assert executions.step_data(steps[-1])[1]["main"][0][0]["json"]["message"]["text"] == "Hello Ada"


def test_the_credential_test_says_which_workspace_and_refuses_a_wrong_token(slack: Slack) -> None:
    assert SlackApiCredential.test_connection(slack.credential) == "Connected to Fake Workspace as hitl-bot"

    with pytest.raises(NodeError) as refused:
        SlackApiCredential.test_connection({**slack.credential, "bot_token": "xoxb-revoked-0000"})
    assert refused.value.message == "Slack refused checking the token: invalid_auth"
    with pytest.raises(NodeError, match="bot_token: Value error, a Slack token starts with xoxb-"):
        SlackApiCredential.test_connection({"bot_token": "not-a-token"})
