"""Pushover Notification (pushover.notification) and the pushover_api credential, against a fake Pushover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.pushover.credentials import PushoverApiCredential
from nodes.sdk import Item, NodeError
from tests.fakes.pushover_server import TOKEN, USER, FakePushover, fake_pushover_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

MESSAGES = "/1/messages.json"
PNG = b"\x89PNG\r\n\x1a\n fake chart"


@pytest.fixture
def pushover() -> Iterator[FakePushover]:
    with fake_pushover_server() as server:
        yield server


def credential(pushover: FakePushover, token: str = TOKEN) -> dict[str, Any]:
    return {"api_token": token, "api_url": pushover.api_url}


def push(
    pushover: FakePushover,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(pushover, token))
    return run_node(
        "pushover.notification",
        {"user_key": USER, "message": "Deploy done", **parameters},
        items,
        credential_type="pushover_api",
        host=host,
        **settings,
    )


def with_image(pushover: FakePushover, parameters: dict[str, Any], mime_type: str = "image/png") -> RunResult:
    host = host_for(credential(pushover))
    reference = host.store_binary(PNG, file_name="chart.png", mime_type=mime_type)
    return run_node(
        "pushover.notification",
        {"user_key": USER, "message": "Weekly chart", "attachment": "data", **parameters},
        [Item({"week": 12}, binary={"data": reference})],
        credential_type="pushover_api",
        host=host,
    )


def test_push_once_per_item_with_the_token_in_the_form(pushover: FakePushover) -> None:
    pushed = outputs(push(pushover, {"message": "Order {{ $json.id }} shipped"}, [{"id": 7}, {"id": 8}]))

    assert [entry["request"] for entry in pushed] == [entry["request"] for entry in pushover.pushed]
    assert [(entry["user"], entry["priority"]) for entry in pushed] == [(USER, 0), (USER, 0)]
    request = pushover.received("POST", MESSAGES)[0]
    assert request.form == {"token": TOKEN, "user": USER, "message": "Order 7 shipped", "priority": "0"}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert pushover.pushed[1]["message"] == "Order 8 shipped"


def test_title_link_sound_devices_and_html(pushover: FakePushover) -> None:
    outputs(
        push(
            pushover,
            {
                "title": "CI",
                "message": "<b>Green</b>",
                "html": True,
                "url": "https://ci.example.com/runs/9",
                "url_title": "Open run",
                "sound": "cashregister",
                "device": "iphone, pixel",
                "priority": -1,
            },
        )
    )

    assert pushover.received("POST", MESSAGES)[0].form == {
        "token": TOKEN,
        "user": USER,
        "message": "<b>Green</b>",
        "priority": "-1",
        "title": "CI",
        "url": "https://ci.example.com/runs/9",
        "url_title": "Open run",
        "sound": "cashregister",
        "device": "iphone,pixel",
        "html": "1",
    }


def test_an_emergency_notification_sends_retry_and_expire_and_outputs_the_receipt(pushover: FakePushover) -> None:
    (pushed,) = outputs(
        push(
            pushover,
            {"priority": "{{ $json.level }}", "retry": 30, "expire": 600, "callback_url": "https://x.example/ack"},
            [{"level": 2}],
        )
    )

    form = pushover.received("POST", MESSAGES)[0].form
    assert (form["priority"], form["retry"], form["expire"], form["callback"]) == (
        "2",
        "30",
        "600",
        "https://x.example/ack",
    )
    assert pushed["priority"] == 2 and pushed["receipt"].startswith("r")


def test_an_image_attachment_goes_as_multipart(pushover: FakePushover) -> None:
    outputs(with_image(pushover, {}))

    request = pushover.received("POST", MESSAGES)[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.form["token"] == TOKEN and request.form["message"] == "Weekly chart"
    upload = pushover.pushed[0]["attachment"]
    assert (upload.file_name, upload.content_type, upload.data) == ("chart.png", "image/png", PNG)


def test_a_file_that_is_not_an_image_or_missing_is_refused_before_sending(pushover: FakePushover) -> None:
    not_image = failure(with_image(pushover, {}, mime_type="application/pdf"))
    missing = failure(push(pushover, {"attachment": "photo"}))

    assert not_image["message"] == "item 0: 'chart.png' is application/pdf, not an image, so Pushover cannot show it"
    assert missing["message"] == "item 0 has no binary property 'photo' (its binary properties: none)"
    assert pushover.requests == []


def test_a_wrong_token_fails_clearly_without_showing_it(pushover: FakePushover) -> None:
    error = failure(push(pushover, {}, token="wrongtoken123"))

    assert (
        error["message"]
        == f"item 0: Pushover refused pushing a notification to {USER} (400): application token is invalid"
    )
    assert "pushover.net/apps" in error["description"]
    assert "wrongtoken123" not in json.dumps(error)


def test_pushovers_refusals_name_the_parameter_and_the_item(pushover: FakePushover) -> None:
    bad_user = failure(push(pushover, {"user_key": "{{ $json.key }}"}, [{"key": USER}, {"key": "unknown-user"}]))
    bad_device = failure(push(pushover, {"device": "tablet"}))
    pushover.remaining = 0
    used_up = failure(push(pushover, {}))

    assert bad_user["message"] == (
        "item 1: Pushover refused pushing a notification to unknown-user (400): "
        "user identifier is not a valid user, group, or subscribed user key"
    )
    assert bad_user["item_index"] == 1 and "Check the user key" in bad_user["description"]
    assert bad_device["message"].endswith("(400): device name is not valid for user: tablet")
    assert "devices of that user" in bad_device["description"]
    assert used_up["message"].endswith("(429): application has exceeded its monthly message limit")
    assert "1st of the month" in used_up["description"]
    assert len(pushover.pushed) == 1


def test_continue_on_fail_turns_the_error_into_an_item(pushover: FakePushover) -> None:
    (entry,) = outputs(push(pushover, {"sound": "trumpet"}, on_error="continue"))

    assert entry["error"] == f"item 0: Pushover refused pushing a notification to {USER} (400): sound is invalid"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_pushover(pushover: FakePushover) -> None:
    too_long = failure(push(pushover, {"message": "x" * 1025}))
    no_message = failure(push(pushover, {"message": " "}))
    bad_priority = failure(push(pushover, {"priority": 3}))
    short_retry = failure(push(pushover, {"priority": 2, "retry": 10}))
    long_expire = failure(push(pushover, {"priority": 2, "expire": 20000}))
    lonely_title = failure(push(pushover, {"url_title": "Open"}))

    assert "message" in too_long["message"] and "1024" in too_long["message"]
    assert "the message is required" in no_message["message"]
    assert "priority" in bad_priority["message"]
    assert "retry" in short_retry["message"] and "30" in short_retry["message"]
    assert "expire" in long_expire["message"] and "10800" in long_expire["message"]
    assert "a URL title needs a URL" in lonely_title["message"]
    assert pushover.requests == []


def test_the_credential_test_reads_the_monthly_limit(pushover: FakePushover) -> None:
    assert PushoverApiCredential.test_connection(credential(pushover)) == (
        "Connected: 7496 of 10000 messages left this month"
    )
    assert pushover.received("GET", "/1/apps/limits.json")[0].query == {"token": TOKEN}

    with pytest.raises(NodeError) as refused:
        PushoverApiCredential.test_connection(credential(pushover, "revoked"))
    assert (
        refused.value.message == "Pushover refused checking the application token (400): application token is invalid"
    )
