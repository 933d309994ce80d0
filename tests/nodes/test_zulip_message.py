"""Zulip Message (zulip.message) and the zulip_api credential, through the engine against a fake Zulip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.zulip.credentials import ZulipApiCredential
from tests.fakes.zulip_server import API_KEY, BOT_EMAIL, FakeZulip, fake_zulip_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def zulip() -> Iterator[FakeZulip]:
    with fake_zulip_server() as server:
        yield server


def credential(zulip: FakeZulip, api_key: str = API_KEY) -> dict[str, Any]:
    return {"server_url": zulip.server_url, "email": BOT_EMAIL, "api_key": api_key}


def message(
    zulip: FakeZulip,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    api_key: str = API_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(zulip, api_key))
    return run_node("zulip.message", parameters, items, credential_type="zulip_api", host=host, **settings)


def test_send_to_a_stream_topic_per_item_with_basic_auth(zulip: FakeZulip) -> None:
    sent = outputs(
        message(
            zulip,
            {"stream": "general", "topic": "orders", "content": "Order {{ $json.id }} shipped"},
            [{"id": 7}, {"id": 8}],
        )
    )

    assert sent == [
        {"id": 101, "type": "stream", "stream": "general", "topic": "orders", "content": "Order 7 shipped"},
        {"id": 102, "type": "stream", "stream": "general", "topic": "orders", "content": "Order 8 shipped"},
    ]
    request = zulip.received("POST", "/api/v1/messages")[0]
    assert request.form == {"type": "stream", "to": "general", "topic": "orders", "content": "Order 7 shipped"}
    assert request.headers["authorization"].startswith("Basic ")
    assert zulip.messages[101]["stream_id"] == 1


def test_send_private_to_emails_or_user_ids(zulip: FakeZulip) -> None:
    (by_email,) = outputs(
        message(zulip, {"operation": "send_private", "to": "Ada <ada@example.com>, grace@example.com", "content": "hi"})
    )
    (by_id,) = outputs(message(zulip, {"operation": "send_private", "to": "10", "content": "hello"}))

    assert by_email["to"] == ["ada@example.com", "grace@example.com"]
    sends = zulip.received("POST", "/api/v1/messages")
    assert [r.form["to"] for r in sends] == ['["ada@example.com", "grace@example.com"]', "[10]"]
    assert zulip.messages[by_id["id"]]["display_recipient"] == [{"id": 10, "email": "ada@example.com"}]


def test_get_a_message_rendered_or_as_markdown(zulip: FakeZulip) -> None:
    posted = zulip.add_message("ops", "deploys", "Deploy *done*")

    (rendered,) = outputs(message(zulip, {"operation": "get", "message_id": "{{ $json.id }}"}, [{"id": posted["id"]}]))
    (raw,) = outputs(message(zulip, {"operation": "get", "message_id": posted["id"], "markdown": True}))

    assert rendered["content"] == "<p>Deploy *done*</p>" and rendered["subject"] == "deploys"
    assert raw["content"] == "Deploy *done*"
    assert zulip.received("GET", f"/api/v1/messages/{posted['id']}")[1].query == {"apply_markdown": "false"}


def test_update_the_content_or_move_the_rest_of_the_topic(zulip: FakeZulip) -> None:
    first = zulip.add_message("ops", "deploy", "one")
    second = zulip.add_message("ops", "deploy", "two")
    third = zulip.add_message("ops", "deploy", "three")

    (edited,) = outputs(message(zulip, {"operation": "update", "message_id": first["id"], "content": "one (edited)"}))
    (moved,) = outputs(
        message(
            zulip,
            {"operation": "update", "message_id": second["id"], "topic": "deploy 2", "propagate_mode": "change_later"},
        )
    )

    assert edited == {"id": first["id"], "updated": True, "content": "one (edited)"}
    assert moved == {"id": second["id"], "updated": True, "topic": "deploy 2"}
    assert zulip.received("PATCH", f"/api/v1/messages/{second['id']}")[0].form == {
        "topic": "deploy 2",
        "propagate_mode": "change_later",
    }
    assert [zulip.messages[m["id"]]["subject"] for m in (first, second, third)] == ["deploy", "deploy 2", "deploy 2"]
    assert zulip.messages[first["id"]]["content"] == "one (edited)"


def test_delete_a_message(zulip: FakeZulip) -> None:
    posted = zulip.add_message("general", "t", "bye")

    (deleted,) = outputs(message(zulip, {"operation": "delete", "message_id": posted["id"]}))

    assert deleted == {"id": posted["id"], "deleted": True}
    assert zulip.messages == {}


def test_a_wrong_key_fails_clearly_without_showing_it(zulip: FakeZulip) -> None:
    error = failure(message(zulip, {"stream": "general", "topic": "t", "content": "hi"}, api_key="wrong-key-123"))

    assert error["message"] == (
        "item 0: Zulip refused sending a message to stream general (401 INVALID_API_KEY): Invalid API key"
    )
    assert "Personal settings → Bots" in error["description"]
    assert "wrong-key-123" not in json.dumps(error)


def test_zulips_refusals_name_the_item_and_what_to_check(zulip: FakeZulip) -> None:
    others = zulip.add_message("general", "t", "not mine", sender="ada@example.com")
    no_stream = failure(
        message(zulip, {"stream": "{{ $json.s }}", "topic": "t", "content": "hi"}, [{"s": "general"}, {"s": "nope"}])
    )
    missing = failure(message(zulip, {"operation": "get", "message_id": 9999}))
    not_mine = failure(message(zulip, {"operation": "delete", "message_id": others["id"]}))
    unknown_person = failure(message(zulip, {"operation": "send_private", "to": "77", "content": "hi"}))

    assert no_stream["message"] == (
        "item 1: Zulip refused sending a message to stream nope (400 STREAM_DOES_NOT_EXIST): "
        "Channel 'nope' does not exist"
    )
    assert no_stream["item_index"] == 1 and "subscribe it" in no_stream["description"]
    assert missing["message"] == "item 0: Zulip refused getting message 9999 (400 BAD_REQUEST): Invalid message(s)"
    assert "does not exist, or the bot cannot see it" in missing["description"]
    assert not_mine["message"].endswith("(400 BAD_REQUEST): You don't have permission to delete this message")
    assert "its own messages" in not_mine["description"]
    assert unknown_person["message"].endswith("(400 BAD_REQUEST): Invalid user ID '77'")
    assert others["id"] in zulip.messages


def test_the_rate_limit_and_a_wrong_server_url_are_explained(zulip: FakeZulip) -> None:
    zulip.rate_limited = 1
    limited = failure(message(zulip, {"stream": "general", "topic": "t", "content": "hi"}))
    wrong_url = failure(
        run_node(
            "zulip.message",
            {"stream": "general", "topic": "t", "content": "hi"},
            credential_type="zulip_api",
            host=host_for({"server_url": f"{zulip.server_url}/chat/api/v1", "email": BOT_EMAIL, "api_key": API_KEY}),
        )
    )

    assert limited["message"] == (
        "item 0: Zulip refused sending a message to stream general (429 RATE_LIMIT_HIT): API usage exceeded rate limit"
    )
    assert "wait 2.5 seconds" in limited["description"]
    assert "something other than Zulip's JSON" in wrong_url["message"]
    assert "server URL" in wrong_url["description"]
    assert zulip.messages == {}


def test_continue_on_fail_turns_the_error_into_an_item(zulip: FakeZulip) -> None:
    (entry,) = outputs(message(zulip, {"operation": "delete", "message_id": 4242}, on_error="continue"))

    assert entry["error"] == "item 0: Zulip refused deleting message 4242 (400 BAD_REQUEST): Invalid message(s)"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_zulip(zulip: FakeZulip) -> None:
    no_topic = failure(message(zulip, {"stream": "general", "content": "hi"}))
    no_content = failure(message(zulip, {"operation": "send_private", "to": "ada@example.com"}))
    bad_person = failure(message(zulip, {"operation": "send_private", "to": "ada", "content": "hi"}))
    no_id = failure(message(zulip, {"operation": "get"}))
    no_change = failure(message(zulip, {"operation": "update", "message_id": 5}))

    assert "send_stream needs a topic" in no_topic["message"]
    assert "send_private needs the content" in no_content["message"]
    assert "'ada' is not an email address" in bad_person["message"]
    assert "get needs the message id" in no_id["message"]
    assert "update needs the new content or a new topic" in no_change["message"]
    assert zulip.requests == []


def test_the_credential_test_names_the_bot(zulip: FakeZulip) -> None:
    assert ZulipApiCredential.test_connection(credential(zulip)) == f"Connected as HITL Bot ({BOT_EMAIL})"

    with pytest.raises(NodeError) as refused:
        ZulipApiCredential.test_connection(credential(zulip, "revoked"))
    assert refused.value.message == "Zulip refused checking the API key (401 INVALID_API_KEY): Invalid API key"
