"""Mattermost Message (mattermost.message) and the mattermost_api credential, through the engine against a fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.mattermost.credentials import MattermostApiCredential
from nodes.sdk import NodeError
from tests.fakes.mattermost_server import TOKEN, USER, FakeMattermost, fake_mattermost_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def mattermost() -> Iterator[FakeMattermost]:
    with fake_mattermost_server() as server:
        yield server


def credential(mattermost: FakeMattermost, token: str = TOKEN) -> dict[str, Any]:
    return {"base_url": mattermost.base_url, "token": token}


def post(
    mattermost: FakeMattermost,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(mattermost, token))
    return run_node("mattermost.message", parameters, items, credential_type="mattermost_api", host=host, **settings)


def test_create_posts_once_per_item_with_the_token(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()

    created = outputs(
        post(mattermost, {"channel_id": channel, "message": "Order {{ $json.id }} shipped"}, [{"id": 7}, {"id": 8}])
    )

    assert [entry["message"] for entry in created] == ["Order 7 shipped", "Order 8 shipped"]
    assert [mattermost.posts[entry["id"]]["channel_id"] for entry in created] == [channel, channel]
    request = mattermost.received("POST", "/api/v4/posts")[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.body == {"channel_id": channel, "message": "Order 7 shipped"}


def test_create_a_thread_reply_with_attachments(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()
    root = mattermost.add_post(channel, "Deploy started")
    attachments = [{"fallback": "Done", "color": "#36a64f", "title": "Deploy", "text": "All green"}]

    (reply,) = outputs(
        post(
            mattermost,
            {"channel_id": channel, "message": "Done", "root_id": root["id"], "attachments": json.dumps(attachments)},
        )
    )

    assert reply["root_id"] == root["id"]
    assert mattermost.posts[reply["id"]]["props"] == {"attachments": attachments}


def test_update_react_and_delete_a_post(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()
    (created,) = outputs(post(mattermost, {"channel_id": channel, "message": "Draft"}))

    (updated,) = outputs(
        post(mattermost, {"operation": "update", "post_id": "{{ $json.id }}", "message": "Final"}, [created])
    )
    (reaction,) = outputs(
        post(mattermost, {"operation": "react", "post_id": created["id"], "emoji_name": ":white_check_mark:"})
    )
    (deleted,) = outputs(post(mattermost, {"operation": "delete", "post_id": created["id"]}))

    assert updated["message"] == "Final" and updated["edit_at"]
    assert mattermost.received("PUT", f"/api/v4/posts/{created['id']}/patch")[0].body == {"message": "Final"}
    assert reaction == {**mattermost.reactions[0], "emoji_name": "white_check_mark"}
    assert reaction["user_id"] == USER["id"] and reaction["post_id"] == created["id"]
    assert deleted == {"id": created["id"], "deleted": True}
    assert created["id"] not in mattermost.posts


def test_get_channel_posts_returns_all_pages_newest_first(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()
    other = mattermost.add_channel(2)
    for n in range(1, 6):
        mattermost.add_post(channel, f"post {n}")
    mattermost.add_post(other, "elsewhere")

    found = outputs(
        post(mattermost, {"operation": "get_channel_posts", "channel_id": channel, "return_all": True, "per_page": 2})
    )

    assert [entry["message"] for entry in found] == ["post 5", "post 4", "post 3", "post 2", "post 1"]
    pages = mattermost.received("GET", f"/api/v4/channels/{channel}/posts")
    assert [(r.query["page"], r.query["per_page"]) for r in pages] == [("0", "2"), ("1", "2"), ("2", "2")]


def test_get_channel_posts_with_a_limit_stops_early(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()
    for n in range(1, 8):
        mattermost.add_post(channel, f"post {n}")

    found = outputs(
        post(mattermost, {"operation": "get_channel_posts", "channel_id": channel, "limit": 3, "per_page": 2})
    )

    assert [entry["message"] for entry in found] == ["post 7", "post 6", "post 5"]
    assert len(mattermost.received("GET", f"/api/v4/channels/{channel}/posts")) == 2


def test_a_wrong_token_fails_clearly_without_showing_it(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()

    error = failure(post(mattermost, {"channel_id": channel, "message": "hi"}, token="wrong-token-123"))

    assert error["message"] == (
        f"item 0: Mattermost refused creating a post in channel {channel} "
        "(401 api.context.session_expired.app_error): Invalid or expired session, please login again."
    )
    assert "personal access token" in error["description"]
    assert "wrong-token-123" not in json.dumps(error)


def test_an_unknown_channel_or_post_says_what_to_check(mattermost: FakeMattermost) -> None:
    no_channel = failure(post(mattermost, {"channel_id": "{{ $json.c }}", "message": "hi"}, [{"c": "nochannel"}]))
    no_post = failure(post(mattermost, {"operation": "update", "post_id": "gone", "message": "x"}))

    assert no_channel["message"].startswith("item 0: Mattermost refused creating a post in channel nochannel (403 ")
    assert "add the user or bot to the channel" in no_channel["description"]
    assert no_post["message"] == (
        "item 0: Mattermost refused updating post gone (404 app.post.get.app_error): Unable to get the post."
    )
    assert "does not exist" in no_post["description"]


def test_the_rate_limit_and_a_wrong_server_url_are_explained(mattermost: FakeMattermost) -> None:
    channel = mattermost.add_channel()
    mattermost.rate_limited = 1

    limited = failure(post(mattermost, {"channel_id": channel, "message": "hi"}))
    wrong_url = failure(
        run_node(
            "mattermost.message",
            {"channel_id": channel, "message": "hi"},
            credential_type="mattermost_api",
            host=host_for({"base_url": f"{mattermost.base_url}/chat", "token": TOKEN}),
        )
    )

    assert (
        limited["message"] == f"item 0: Mattermost refused creating a post in channel {channel} (429): limit exceeded"
    )
    assert "retry the node later" in limited["description"]
    assert "server URL" in wrong_url["description"]
    assert mattermost.posts == {}


def test_continue_on_fail_turns_the_error_into_an_item(mattermost: FakeMattermost) -> None:
    (entry,) = outputs(post(mattermost, {"operation": "delete", "post_id": "gone"}, on_error="continue"))

    assert (
        entry["error"]
        == "item 0: Mattermost refused deleting post gone (404 app.post.get.app_error): Unable to get the post."
    )
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_mattermost(mattermost: FakeMattermost) -> None:
    no_channel = failure(post(mattermost, {"message": "hi"}))
    no_text = failure(post(mattermost, {"channel_id": "c", "message": " "}))
    no_post = failure(post(mattermost, {"operation": "react", "emoji_name": "thumbsup"}))
    bad_emoji = failure(post(mattermost, {"operation": "react", "post_id": "p", "emoji_name": "thumbs up"}))

    assert "create needs the channel id" in no_channel["message"]
    assert "create needs a message or attachments" in no_text["message"]
    assert "react needs the post id" in no_post["message"]
    assert "an emoji name is one word" in bad_emoji["message"]
    assert mattermost.requests == []


def test_the_credential_test_names_the_user_and_refuses_a_wrong_token(mattermost: FakeMattermost) -> None:
    assert MattermostApiCredential.test_connection(credential(mattermost)) == "Connected as @hitl-bot"
    assert MattermostApiCredential.parse({"base_url": mattermost.base_url + "/api/v4/", "token": TOKEN}).base_url == (
        mattermost.base_url
    )

    with pytest.raises(NodeError) as refused:
        MattermostApiCredential.test_connection(credential(mattermost, "revoked"))
    assert "(401 api.context.session_expired.app_error)" in refused.value.message
