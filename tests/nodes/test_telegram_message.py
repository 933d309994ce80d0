"""Telegram Message (telegram.message) and the telegram_api credential, through the engine against a fake Bot API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import Item, NodeError
from nodes.telegram.credentials import TelegramApiCredential
from tests.fakes.telegram_server import RETRY_AFTER, TOKEN, FakeTelegram, fake_telegram_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

CHAT = "4242"
PHOTO = b"\x89PNG\r\n\x1a\n fake chart \x00\x01\xff"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with fake_telegram_server() as server:
        server.add_chat(CHAT)
        yield server


def credential(telegram: FakeTelegram, token: str = TOKEN) -> dict[str, Any]:
    return {"bot_token": token, "api_url": telegram.api_url}


def message(
    telegram: FakeTelegram,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "telegram.message",
        {"chat_id": CHAT, **parameters},
        items,
        credential_type="telegram_api",
        host=host_for(credential(telegram, token)),
        **settings,
    )


def with_file(telegram: FakeTelegram, parameters: dict[str, Any], mime_type: str = "image/png") -> RunResult:
    host = host_for(credential(telegram))
    reference = host.store_binary(PHOTO, file_name="chart.png", mime_type=mime_type)
    items = [Item({"week": 12}, binary={"data": reference})]
    return run_node(
        "telegram.message", {"chat_id": CHAT, **parameters}, items, credential_type="telegram_api", host=host
    )


def test_send_text_once_per_item_with_an_expression(telegram: FakeTelegram) -> None:
    sent = outputs(message(telegram, {"text": "Order {{ $json.id }} shipped"}, [{"id": 7}, {"id": 8}]))

    assert [entry["text"] for entry in sent] == ["Order 7 shipped", "Order 8 shipped"]
    assert [entry["chat"]["id"] for entry in sent] == [int(CHAT), int(CHAT)]
    first = telegram.called("sendMessage")[0]
    assert first.token == TOKEN
    assert first.args == {"chat_id": CHAT, "text": "Order 7 shipped"}


def test_send_text_with_parse_mode_silence_a_reply_and_buttons(telegram: FakeTelegram) -> None:
    (parent,) = outputs(message(telegram, {"text": "Deploy started"}))
    buttons = [
        [{"text": "Open run", "url": "https://ci.example.com/runs/9"}],
        [{"text": "Docs", "url": "https://d.io"}],
    ]

    (reply,) = outputs(
        message(
            telegram,
            {
                "text": "<b>Done</b> in 3 min",
                "parse_mode": "HTML",
                "disable_notification": True,
                "reply_to_message_id": "{{ $json.parent }}",
                "buttons": json.dumps(buttons),
            },
            [{"parent": parent["message_id"]}],
        )
    )

    args = telegram.called("sendMessage")[-1].args
    assert args["parse_mode"] == "HTML" and args["disable_notification"] is True
    assert args["reply_parameters"] == {"message_id": parent["message_id"]}
    assert args["reply_markup"] == {"inline_keyboard": buttons}
    assert reply["reply_to_message"]["message_id"] == parent["message_id"]


def test_send_photo_from_a_url(telegram: FakeTelegram) -> None:
    (sent,) = outputs(
        message(
            telegram,
            {"operation": "send_photo", "file_url": "https://example.com/chart.png", "caption": "Week 12"},
        )
    )

    assert sent["caption"] == "Week 12" and sent["photo"][0]["file_unique_id"] == "chart.png"
    call = telegram.called("sendPhoto")[0]
    assert call.args["photo"] == "https://example.com/chart.png" and call.files == {}


def test_send_photo_uploads_the_items_file_as_multipart(telegram: FakeTelegram) -> None:
    buttons = [[{"text": "Dashboard", "url": "https://example.com/d"}]]
    parameters = {
        "operation": "send_photo",
        "source": "binary",
        "caption": "Week {{ $json.week }}",
        "parse_mode": "MarkdownV2",
        "buttons": buttons,
    }

    (sent,) = outputs(with_file(telegram, parameters))

    call = telegram.called("sendPhoto")[0]
    assert call.content_type.startswith("multipart/form-data")
    upload = call.files["photo"]
    assert (upload.file_name, upload.content, upload.content_type) == ("chart.png", PHOTO, "image/png")
    assert call.args["caption"] == "Week 12" and call.args["parse_mode"] == "MarkdownV2"
    assert call.args["reply_markup"] == {"inline_keyboard": buttons}
    assert sent["caption"] == "Week 12"


def test_send_document_from_binary_with_another_name_and_from_a_url(telegram: FakeTelegram) -> None:
    (uploaded,) = outputs(
        with_file(telegram, {"operation": "send_document", "source": "binary", "file_name": "w12.png"}, "text/csv")
    )
    (linked,) = outputs(message(telegram, {"operation": "send_document", "file_url": "https://example.com/r.pdf"}))

    upload = telegram.called("sendDocument")[0].files["document"]
    assert (upload.file_name, upload.content) == ("w12.png", PHOTO)
    assert uploaded["document"] == {
        "file_id": "BQAC-w12.png",
        "file_name": "w12.png",
        "file_size": len(PHOTO),
        "mime_type": "text/csv",
    }
    assert linked["document"]["file_name"] == "r.pdf"


def test_a_photo_that_is_not_an_image_is_refused_before_calling(telegram: FakeTelegram) -> None:
    error = failure(with_file(telegram, {"operation": "send_photo", "source": "binary"}, "application/pdf"))

    assert error["message"] == "item 0: 'chart.png' is application/pdf, not an image, so it cannot be sent as a photo"
    assert telegram.called("sendPhoto") == []


def test_an_item_without_the_file_names_its_binary_properties(telegram: FakeTelegram) -> None:
    error = failure(message(telegram, {"operation": "send_document", "source": "binary", "binary_property": "pdf"}))

    assert error["message"] == "item 0 has no binary property 'pdf' (its binary properties: none)"
    assert telegram.calls == []


def test_edit_pin_and_delete_a_sent_message(telegram: FakeTelegram) -> None:
    (sent,) = outputs(message(telegram, {"text": "Draft"}))
    target = {"message_id": sent["message_id"]}

    (edited,) = outputs(message(telegram, {"operation": "edit_text", **target, "text": "Final"}))
    (pinned,) = outputs(message(telegram, {"operation": "pin", **target, "disable_notification": True}))
    (deleted,) = outputs(message(telegram, {"operation": "delete", **target}))

    assert edited["text"] == "Final" and edited["message_id"] == sent["message_id"]
    assert pinned == {"chat_id": CHAT, "message_id": sent["message_id"], "pinned": True}
    assert telegram.pinned[CHAT] == sent["message_id"]
    assert telegram.called("pinChatMessage")[0].args["disable_notification"] is True
    assert deleted == {"chat_id": CHAT, "message_id": sent["message_id"], "deleted": True}
    assert (CHAT, sent["message_id"]) not in telegram.messages


def test_a_wrong_token_fails_clearly_without_showing_it(telegram: FakeTelegram) -> None:
    wrong = "987654321:AAwrongwrongwrong"

    error = failure(message(telegram, {"text": "hi"}, token=wrong))

    assert error["message"] == f"item 0: Telegram refused the message to chat {CHAT} (401: Unauthorized)"
    assert "@BotFather" in error["description"]
    assert wrong not in json.dumps(error)


def test_an_unknown_chat_says_to_check_the_id_and_start_the_bot(telegram: FakeTelegram) -> None:
    error = failure(message(telegram, {"chat_id": "{{ $json.chat }}", "text": "hi"}, [{"chat": "777"}]))

    assert error["message"] == "item 0: Telegram refused the message to chat 777 (400: Bad Request: chat not found)"
    assert "started the bot" in error["description"]
    assert error["item_index"] == 0


def test_the_rate_limit_says_how_long_to_wait(telegram: FakeTelegram) -> None:
    telegram.rate_limited = 1

    error = failure(message(telegram, {"text": "hi"}))

    assert "(429: Too Many Requests: retry after 17)" in error["message"]
    assert f"wait {RETRY_AFTER} seconds" in error["description"]


def test_an_unknown_message_and_an_unreachable_photo_url_are_explained(telegram: FakeTelegram) -> None:
    missing = failure(message(telegram, {"operation": "delete", "message_id": 999}))
    no_photo = failure(message(telegram, {"operation": "send_photo", "file_url": "https://example.com/missing.png"}))

    assert missing["message"] == (
        f"item 0: Telegram refused deleting message 999 in chat {CHAT} (400: Bad Request: message to delete not found)"
    )
    assert "message_id a Send operation returned" in missing["description"]
    assert "must be public" in no_photo["description"]


def test_a_wrong_api_url_says_to_check_it(telegram: FakeTelegram) -> None:
    host = host_for({"bot_token": TOKEN, "api_url": f"{telegram.api_url}/not-telegram"})

    error = failure(
        run_node("telegram.message", {"chat_id": CHAT, "text": "hi"}, credential_type="telegram_api", host=host)
    )

    assert error["message"] == (
        f"item 0: the message to chat {CHAT}: the Bot API answered 404 with something other than its JSON"
    )
    assert "Check the credential's API URL" in error["description"]
    assert TOKEN not in json.dumps(error)


def test_continue_on_fail_turns_the_error_into_an_item(telegram: FakeTelegram) -> None:
    produced = outputs(
        message(telegram, {"chat_id": "{{ $json.chat }}", "text": "hi"}, [{"chat": "1"}], on_error="continue")
    )

    (entry,) = produced
    assert entry["error"] == "item 0: Telegram refused the message to chat 1 (400: Bad Request: chat not found)"
    assert entry["error_details"]["item_index"] == 0
    assert telegram.messages == {}


def test_parameters_are_checked_before_calling_telegram(telegram: FakeTelegram) -> None:
    no_text = failure(message(telegram, {"text": " "}))
    no_id = failure(message(telegram, {"operation": "pin"}))
    no_url = failure(message(telegram, {"operation": "send_photo"}))
    bad_button = failure(message(telegram, {"text": "x", "buttons": [[{"text": "Go", "url": "javascript:x"}]]}))

    assert "send_text needs a text" in no_text["message"]
    assert "pin needs the message id" in no_id["message"]
    assert "send_photo from a URL needs the file URL" in no_url["message"]
    assert "the button 'Go' needs a url" in bad_button["message"]
    assert telegram.calls == []


def test_the_credential_test_names_the_bot_and_refuses_a_wrong_token(telegram: FakeTelegram) -> None:
    assert TelegramApiCredential.test_connection(credential(telegram)) == "Connected as @hitl_studio_bot"

    with pytest.raises(NodeError) as refused:
        TelegramApiCredential.test_connection(credential(telegram, "1:revoked"))
    assert refused.value.message == "Telegram refused checking the token (401: Unauthorized)"
