"""Discord Message (discord.message) and the discord_webhook credential, through the engine against a fake webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.discord.credentials import DiscordWebhookCredential
from nodes.sdk import Item, NodeError
from tests.fakes.discord_server import CHANNEL_ID, RETRY_AFTER, WEBHOOK_TOKEN, FakeDiscord, fake_discord_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

REPORT = b"%PDF-1.4 weekly report \x00\x01\xff"


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    with fake_discord_server() as server:
        yield server


def message(
    discord: FakeDiscord,
    parameters: dict[str, Any],
    items: list[dict[str, Any] | Item] | None = None,
    *,
    url: str | None = None,
    **settings: Any,
) -> RunResult:
    host = host_for({"webhook_url": url or discord.webhook_url})
    return run_node("discord.message", parameters, items, credential_type="discord_webhook", host=host, **settings)


def send_file(discord: FakeDiscord, parameters: dict[str, Any]) -> RunResult:
    host = host_for({"webhook_url": discord.webhook_url})
    reference = host.store_binary(REPORT, file_name="week-12.pdf", mime_type="application/pdf")
    items = [Item({"week": 12}, binary={"data": reference})]
    return run_node(
        "discord.message", {"operation": "send_file", **parameters}, items, credential_type="discord_webhook", host=host
    )


def test_send_posts_once_per_item_and_waits_for_the_message(discord: FakeDiscord) -> None:
    sent = outputs(message(discord, {"content": "Order {{ $json.id }} shipped"}, [{"id": 7}, {"id": 8}]))

    assert [entry["content"] for entry in sent] == ["Order 7 shipped", "Order 8 shipped"]
    assert all(entry["id"] in discord.messages for entry in sent)
    first = discord.received("POST")[0]
    assert first.query == {"wait": "true"}
    assert first.payload == {"content": "Order 7 shipped"}


def test_send_with_username_avatar_and_embeds_with_colors_and_fields(discord: FakeDiscord) -> None:
    embeds = [
        {
            "title": "Deploy {{ $json.version }}",
            "description": "All green",
            "url": "https://ci.example.com/9",
            "color": "#5865F2",
            "fields": [{"name": "Took", "value": "3 min", "inline": True}],
        },
        {"title": "Second", "color": 255},
    ]

    (sent,) = outputs(
        message(
            discord,
            {"username": "CI", "avatar_url": "https://example.com/ci.png", "embeds": json.dumps(embeds)},
            [{"version": "1.4"}],
        )
    )

    payload = discord.received("POST")[0].payload
    assert payload["username"] == "CI" and payload["avatar_url"] == "https://example.com/ci.png"
    assert payload["embeds"][0]["title"] == "Deploy 1.4"
    assert [embed["color"] for embed in payload["embeds"]] == [0x5865F2, 255]
    assert payload["embeds"][0]["fields"] == [{"name": "Took", "value": "3 min", "inline": True}]
    assert "content" not in payload
    assert sent["author"]["username"] == "CI" and len(sent["embeds"]) == 2


def test_send_file_uploads_the_items_binary_with_payload_json(discord: FakeDiscord) -> None:
    (sent,) = outputs(send_file(discord, {"content": "Week {{ $json.week }}", "username": "Reports"}))

    request = discord.received("POST")[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    (upload,) = request.files
    assert (upload.part, upload.file_name, upload.content, upload.content_type) == (
        "files[0]",
        "week-12.pdf",
        REPORT,
        "application/pdf",
    )
    assert request.payload["content"] == "Week 12" and request.payload["username"] == "Reports"
    assert request.payload["attachments"] == [{"id": 0, "filename": "week-12.pdf"}]
    assert sent["attachments"][0]["filename"] == "week-12.pdf" and sent["attachments"][0]["size"] == len(REPORT)


def test_send_file_with_another_name_and_an_item_without_the_file(discord: FakeDiscord) -> None:
    (sent,) = outputs(send_file(discord, {"file_name": "renamed.pdf"}))
    missing = failure(message(discord, {"operation": "send_file", "binary_property": "pdf"}))

    assert sent["attachments"][0]["filename"] == "renamed.pdf"
    assert missing["message"] == "item 0 has no binary property 'pdf' (its binary properties: none)"


def test_edit_and_delete_a_message_the_webhook_sent(discord: FakeDiscord) -> None:
    (sent,) = outputs(message(discord, {"content": "Draft"}))

    (edited,) = outputs(
        message(discord, {"operation": "edit", "message_id": "{{ $json.id }}", "content": "Final"}, [sent])
    )
    (deleted,) = outputs(message(discord, {"operation": "delete", "message_id": sent["id"]}))

    assert edited["content"] == "Final" and edited["edited_timestamp"]
    assert discord.received("PATCH")[0].path.endswith(f"/messages/{sent['id']}")
    assert deleted == {"id": sent["id"], "deleted": True}
    assert sent["id"] not in discord.messages


def test_send_into_a_thread_and_an_unknown_thread(discord: FakeDiscord) -> None:
    discord.threads.add("555")

    (sent,) = outputs(message(discord, {"content": "In thread", "thread_id": "555"}))
    error = failure(message(discord, {"content": "x", "thread_id": "777"}))

    assert sent["channel_id"] == "555"
    assert discord.received("POST")[0].query == {"wait": "true", "thread_id": "555"}
    assert error["message"] == "item 0: Discord refused sending the message (404 10003): Unknown Channel"
    assert "thread" in error["description"]


def test_a_wrong_token_fails_clearly_without_showing_the_url(discord: FakeDiscord) -> None:
    wrong = discord.webhook_url.replace(WEBHOOK_TOKEN, "not-the-token")

    error = failure(message(discord, {"content": "hi"}, url=wrong))

    assert error["message"] == "item 0: Discord refused sending the message (401 50027): Invalid Webhook Token"
    assert "copy the whole URL again" in error["description"]
    assert "not-the-token" not in json.dumps(error)


def test_a_deleted_webhook_and_an_unknown_message_say_what_to_do(discord: FakeDiscord) -> None:
    gone = failure(message(discord, {"content": "hi"}, url=discord.webhook_url.replace("112233", "000000")))
    unknown = failure(message(discord, {"operation": "delete", "message_id": "42"}))

    assert gone["message"] == "item 0: Discord refused sending the message (404 10015): Unknown Webhook"
    assert "create a new one" in gone["description"]
    assert unknown["message"] == "item 0: Discord refused deleting message 42 (404 10008): Unknown Message"
    assert "a Send operation returned" in unknown["description"]


def test_the_rate_limit_says_how_long_to_wait(discord: FakeDiscord) -> None:
    discord.rate_limited = 1

    error = failure(message(discord, {"content": "hi"}))

    assert error["message"] == (
        f"item 0: Discord is limiting this webhook and refused sending the message (429): "
        f"retry after {RETRY_AFTER} seconds"
    )
    assert discord.messages == {}


def test_a_refused_field_is_named(discord: FakeDiscord) -> None:
    error = failure(message(discord, {"embeds": [{"title": "x" * 300}]}))

    assert error["message"] == (
        "item 0: Discord refused sending the message (400 50035): "
        "Invalid Form Body: embeds.0.title: Must be 256 or fewer in length."
    )


def test_continue_on_fail_turns_the_error_into_an_item(discord: FakeDiscord) -> None:
    (entry,) = outputs(message(discord, {"operation": "edit", "message_id": "9", "content": "x"}, on_error="continue"))

    assert entry["error"] == "item 0: Discord refused editing message 9 (404 10008): Unknown Message"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_discord(discord: FakeDiscord) -> None:
    empty = failure(message(discord, {"content": " "}))
    no_id = failure(message(discord, {"operation": "delete"}))
    bad_color = failure(message(discord, {"embeds": [{"title": "t", "color": "blue"}]}))
    unknown_key = failure(message(discord, {"embeds": [{"titel": "t"}]}))
    too_long = failure(message(discord, {"content": "x" * 2001}))

    assert "send needs a content or embeds" in empty["message"]
    assert "delete needs the message id" in no_id["message"]
    assert "the color must be #RRGGBB or a number, not 'blue'" in bad_color["message"]
    assert "embed 1 has unknown keys ['titel']" in unknown_key["message"]
    assert "Discord takes at most 2000" in too_long["message"]
    assert discord.requests == []


def test_the_credential_test_names_the_webhook_and_checks_the_url(discord: FakeDiscord) -> None:
    assert DiscordWebhookCredential.test_connection({"webhook_url": discord.webhook_url}) == (
        "Connected to webhook Deploy bot"
    )

    with pytest.raises(NodeError) as refused:
        DiscordWebhookCredential.test_connection({"webhook_url": discord.webhook_url + "x"})
    assert refused.value.message == "Discord refused checking the webhook (401 50027): Invalid Webhook Token"
    with pytest.raises(NodeError) as malformed:
        DiscordWebhookCredential.test_connection({"webhook_url": f"http://127.0.0.1/{CHANNEL_ID}"})
    assert "paste the whole webhook URL" in malformed.value.message
