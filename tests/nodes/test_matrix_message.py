"""Matrix Message (matrix.message) and the matrix_api credential, through the engine against a fake homeserver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.matrix.credentials import MatrixApiCredential
from nodes.sdk import NodeError
from tests.fakes.matrix_server import ROOM, TOKEN, USER_ID, FakeMatrix, fake_matrix_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

SEND = f"/_matrix/client/v3/rooms/{ROOM}/send/m.room.message/"
MESSAGES = f"/_matrix/client/v3/rooms/{ROOM}/messages"


@pytest.fixture
def matrix() -> Iterator[FakeMatrix]:
    with fake_matrix_server() as server:
        yield server


def credential(matrix: FakeMatrix, token: str = TOKEN) -> dict[str, Any]:
    return {"homeserver_url": matrix.homeserver_url, "access_token": token}


def message(
    matrix: FakeMatrix,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(credential(matrix, token))
    return run_node(
        "matrix.message", {"room_id": ROOM, **parameters}, items, credential_type="matrix_api", host=host, **settings
    )


def texts(matrix: FakeMatrix) -> list[str]:
    return [event["content"]["body"] for event in matrix.rooms[ROOM]]


def test_send_a_text_per_item_with_a_transaction_id_each(matrix: FakeMatrix) -> None:
    sent = outputs(message(matrix, {"text": "Order {{ $json.id }} shipped"}, [{"id": 7}, {"id": 8}]))

    assert texts(matrix) == ["Order 7 shipped", "Order 8 shipped"]
    assert [entry["event_id"] for entry in sent] == [event["event_id"] for event in matrix.rooms[ROOM]]
    assert sent[0] == {"event_id": sent[0]["event_id"], "room_id": ROOM, "msgtype": "m.text", "body": "Order 7 shipped"}
    puts = matrix.received("PUT", SEND)
    assert [r.body for r in puts] == [{"msgtype": "m.text", "body": f"Order {n} shipped"} for n in (7, 8)]
    assert len({r.path for r in puts}) == 2
    assert puts[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_send_an_html_notice(matrix: FakeMatrix) -> None:
    outputs(
        message(matrix, {"text": "Build green", "msgtype": "m.notice", "format": "html", "html": "<b>Build</b> green"})
    )

    assert matrix.rooms[ROOM][0]["content"] == {
        "msgtype": "m.notice",
        "body": "Build green",
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>Build</b> green",
    }


def test_sending_the_same_item_of_the_same_run_again_posts_it_once(matrix: FakeMatrix) -> None:
    (first,) = outputs(message(matrix, {"text": "Deploy started"}))
    (again,) = outputs(message(matrix, {"text": "Deploy started"}))

    assert again["event_id"] == first["event_id"]
    assert texts(matrix) == ["Deploy started"]
    assert len(matrix.received("PUT", SEND)) == 2


def test_a_short_rate_limit_is_waited_out_and_a_long_one_explained(matrix: FakeMatrix) -> None:
    matrix.rate_limited = 1
    outputs(message(matrix, {"text": "after a short wait"}))
    matrix.rate_limited, matrix.retry_after_ms = 1, 60_000
    error = failure(message(matrix, {"text": "{{ $json.t }}"}, [{"t": "x"}, {"t": "y"}]))

    puts = matrix.received("PUT", SEND)
    assert len(puts) == 3 and puts[0].path == puts[1].path and puts[1].body == puts[0].body
    assert texts(matrix) == ["after a short wait"]
    assert error["message"] == (
        "item 0: the homeserver refused sending a message to !ops:example.org (429 M_LIMIT_EXCEEDED): Too Many Requests"
    )
    assert "wait 60 seconds before retrying" in error["description"]


def test_get_many_pages_back_through_the_messages_only(matrix: FakeMatrix) -> None:
    for n in range(7):
        matrix.add_event({"msgtype": "m.text", "body": f"m{n}"})
        matrix.add_event({"membership": "join"}, event_type="m.room.member")

    limited = outputs(message(matrix, {"operation": "get_many", "limit": 3}))
    everything = outputs(message(matrix, {"operation": "get_many", "return_all": True, "event_types": ""}))

    assert [entry["content"]["body"] for entry in limited] == ["m6", "m5", "m4"]
    pages = matrix.received("GET", MESSAGES)
    assert pages[0].query == {"dir": "b", "limit": "3", "filter": '{"types":["m.room.message"]}'}
    assert len(everything) == 14 and "filter" not in pages[-1].query
    assert [entry["type"] for entry in everything[:2]] == ["m.room.member", "m.room.message"]


def test_get_many_forward_from_a_token_follows_end_until_it_is_gone(matrix: FakeMatrix) -> None:
    for n in range(250):
        matrix.add_event({"msgtype": "m.text", "body": f"m{n}"})

    found = outputs(
        message(matrix, {"operation": "get_many", "direction": "f", "from_token": "t10", "return_all": True})
    )

    assert [entry["content"]["body"] for entry in found] == [f"m{n}" for n in range(10, 250)]
    pages = matrix.received("GET", MESSAGES)
    assert [(r.query["from"], r.query["limit"]) for r in pages] == [("t10", "100"), ("t110", "100"), ("t210", "100")]


def test_a_wrong_token_fails_clearly_without_showing_it(matrix: FakeMatrix) -> None:
    error = failure(message(matrix, {"text": "hi"}, token="syt_wrong_123"))

    assert error["message"] == (
        "item 0: the homeserver refused sending a message to !ops:example.org (401 M_UNKNOWN_TOKEN): "
        "Invalid access token passed."
    )
    assert "log in again" in error["description"]
    assert "syt_wrong_123" not in json.dumps(error)


def test_a_room_the_account_is_not_in_and_a_wrong_homeserver_url_are_explained(matrix: FakeMatrix) -> None:
    not_joined = failure(
        message(matrix, {"operation": "get_many", "room_id": "{{ $json.room }}"}, [{"room": "!x:e.org"}])
    )
    wrong_url = failure(
        run_node(
            "matrix.message",
            {"room_id": ROOM, "text": "hi"},
            credential_type="matrix_api",
            host=host_for({"homeserver_url": f"{matrix.homeserver_url}/chat", "access_token": TOKEN}),
        )
    )

    assert not_joined["message"] == (
        f"item 0: the homeserver refused reading the messages of !x:e.org (403 M_FORBIDDEN): "
        f"User {USER_ID} not in room !x:e.org"
    )
    assert "invite it and let it join" in not_joined["description"]
    assert "(404 M_UNRECOGNIZED)" in wrong_url["message"] and "homeserver URL" in wrong_url["description"]
    assert matrix.rooms[ROOM] == []


def test_continue_on_fail_turns_the_error_into_an_item(matrix: FakeMatrix) -> None:
    (entry,) = outputs(message(matrix, {"room_id": "!gone:example.org", "text": "hi"}, on_error="continue"))

    assert entry["error"].startswith("item 0: the homeserver refused sending a message to !gone:example.org (403")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_the_homeserver(matrix: FakeMatrix) -> None:
    alias = failure(message(matrix, {"room_id": "#ops:example.org", "text": "hi"}))
    no_text = failure(message(matrix, {"text": " "}))
    no_html = failure(message(matrix, {"text": "hi", "format": "html"}))

    assert "#ops:example.org is a room alias: use the room's id" in alias["message"]
    assert "send needs the text" in no_text["message"]
    assert "send as HTML needs the HTML" in no_html["message"]
    assert matrix.requests == []


def test_the_credential_test_names_the_account(matrix: FakeMatrix) -> None:
    assert MatrixApiCredential.test_connection(credential(matrix)) == f"Connected as {USER_ID}"
    parsed = MatrixApiCredential.parse(
        {"homeserver_url": matrix.homeserver_url + "/_matrix/client/v3/", "access_token": TOKEN}
    )
    assert parsed.homeserver_url == matrix.homeserver_url

    with pytest.raises(NodeError) as refused:
        MatrixApiCredential.test_connection(credential(matrix, "revoked"))
    assert "(401 M_UNKNOWN_TOKEN)" in refused.value.message
