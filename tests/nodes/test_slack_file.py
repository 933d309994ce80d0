"""Slack File (slack.file) run through the engine against the fake Slack Web API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item
from tests.nodes.conftest import Slack
from tests.nodes.integrations import failure, host_for, outputs, run_node

REPORT = b"%PDF-1.4 quarterly report \x00\x01\xff"


def upload(slack: Slack, parameters: dict[str, Any], items: list[Item]) -> tuple[RunResult, Any]:
    host = host_for(slack.credential)
    reference = host.store_binary(REPORT, file_name="q3.pdf", mime_type="application/pdf")
    pinned = [Item(item.json, binary={"data": reference}) for item in items]
    return run_node("slack.file", parameters, pinned, credential_type="slack_api", host=host), reference


def test_upload_shares_the_items_file_in_a_channel_thread(slack: Slack) -> None:
    general = slack.workspace.add_channel("general")["id"]
    parameters = {
        "channel": general,
        "title": "Q{{ $json.quarter }} report",
        "initial_comment": "Here it is",
        "thread_ts": "1700000000.000001",
    }

    result, reference = upload(slack, parameters, [Item({"quarter": 3})])

    (uploaded,) = outputs(result)
    assert uploaded["name"] == "q3.pdf" and uploaded["title"] == "Q3 report"
    assert uploaded["channels"] == [general]
    stored = slack.workspace.files[uploaded["id"]]
    assert stored.content == REPORT
    assert (stored.channel, stored.thread_ts, stored.initial_comment) == (general, "1700000000.000001", "Here it is")
    assert result.last_outputs["Node"][0][0].binary == {"data": reference}


def test_upload_without_a_channel_keeps_the_file_private(slack: Slack) -> None:
    result, _ = upload(slack, {"file_name": "renamed.pdf"}, [Item({})])

    (uploaded,) = outputs(result)
    assert uploaded["name"] == "renamed.pdf" and uploaded["channels"] == []


def test_an_item_without_the_file_names_its_binary_properties(slack: Slack) -> None:
    error = failure(
        run_node(
            "slack.file", {"binary_property": "report"}, credential_type="slack_api", host=host_for(slack.credential)
        )
    )

    assert error["message"] == "item 0 has no binary property 'report' (its binary properties: none)"
    assert slack.server.calls == []


def test_sharing_in_an_unknown_channel_fails_with_the_item(slack: Slack) -> None:
    result, _ = upload(slack, {"channel": "C404"}, [Item({})])

    error = failure(result)
    assert error["message"] == "item 0: Slack refused uploading 'q3.pdf' to C404: channel_not_found"
