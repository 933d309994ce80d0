"""Trello Card (trello.card) and the trello_api credential, through the engine against the fake Trello."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.trello.credentials import TrelloApiCredential
from tests.fakes.trello_server import API_KEY, MEMBER, TOKEN, FakeTrello, fake_trello_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

BUG = "5f00000000000000000000e1"
OPS = "5f00000000000000000000e2"


@pytest.fixture
def trello() -> Iterator[FakeTrello]:
    with fake_trello_server() as server:
        yield server


@pytest.fixture
def todo(trello: FakeTrello) -> str:
    return trello.add_list("To do")


def card(
    trello: FakeTrello,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "trello.card",
        parameters,
        items,
        credential_type="trello_api",
        host=host_for(trello.credential(token)),
        **settings,
    )


def test_create_makes_a_card_per_item_signed_with_key_and_token(trello: FakeTrello, todo: str) -> None:
    parameters = {
        "list_id": todo,
        "name": "Call {{ $json.customer }}",
        "description": "About order **{{ $json.order }}**",
        "due": "2026-03-31T17:00:00Z",
        "label_ids": f"{BUG}, {OPS}",
        "position": "top",
    }

    created = outputs(card(trello, parameters, [{"customer": "Ada", "order": 7}, {"customer": "Grace", "order": 8}]))

    assert [entry["name"] for entry in created] == ["Call Ada", "Call Grace"]
    assert [label["name"] for label in created[0]["labels"]] == ["Bug", "Ops"]
    assert created[0]["due"] == "2026-03-31T17:00:00Z" and created[0]["idList"] == todo
    request = trello.received("POST", "/1/cards")[0]
    assert (request.query["key"], request.query["token"]) == (API_KEY, TOKEN)
    assert request.body == {
        "idList": todo,
        "name": "Call Ada",
        "desc": "About order **7**",
        "due": "2026-03-31T17:00:00Z",
        "idLabels": f"{BUG},{OPS}",
        "pos": "top",
    }


def test_get_by_id_or_short_link(trello: FakeTrello, todo: str) -> None:
    stored = trello.add_card(todo, "Read me", desc="details")

    (by_id,) = outputs(card(trello, {"operation": "get", "card_id": "{{ $json.id }}"}, [{"id": stored["id"]}]))
    (by_short,) = outputs(card(trello, {"operation": "get", "card_id": stored["shortLink"]}))

    assert by_id == by_short == stored


def test_get_many_returns_the_open_cards_top_to_bottom(trello: FakeTrello, todo: str) -> None:
    other = trello.add_list("Done")
    for n in range(1, 8):
        trello.add_card(todo, f"Card {n}", closed=n == 3)
    trello.add_card(other, "Elsewhere")
    trello.add_card(todo, "First", pos="top")

    everything = outputs(card(trello, {"operation": "get_many", "list_id": todo, "return_all": True}))
    first_two = outputs(card(trello, {"operation": "get_many", "list_id": todo, "limit": 2}))

    assert [entry["name"] for entry in everything] == [
        "First",
        "Card 1",
        "Card 2",
        "Card 4",
        "Card 5",
        "Card 6",
        "Card 7",
    ]
    assert [entry["name"] for entry in first_two] == ["First", "Card 1"]
    assert trello.received("GET", "/cards")[0].path == f"/1/lists/{todo}/cards"


def test_update_moves_renames_and_archives(trello: FakeTrello, todo: str) -> None:
    done = trello.add_list("Done")
    stored = trello.add_card(todo, "Draft", desc="keep")

    (updated,) = outputs(
        card(
            trello,
            {
                "operation": "update",
                "card_id": stored["id"],
                "list_id": done,
                "name": "Final",
                "due_complete": "complete",
                "archive": "archive",
            },
        )
    )

    assert trello.received("PUT")[0].body == {"name": "Final", "dueComplete": True, "idList": done, "closed": True}
    assert (updated["name"], updated["desc"], updated["idList"]) == ("Final", "keep", done)
    assert updated["closed"] is True and updated["dueComplete"] is True


def test_delete_and_add_comment(trello: FakeTrello, todo: str) -> None:
    doomed = trello.add_card(todo, "Doomed")
    kept = trello.add_card(todo, "Kept")

    (comment,) = outputs(
        card(
            trello, {"operation": "add_comment", "card_id": kept["id"], "comment": "Done in {{ $json.v }}"}, [{"v": 2}]
        )
    )
    (deleted,) = outputs(card(trello, {"operation": "delete", "card_id": doomed["id"]}))

    assert comment["type"] == "commentCard" and comment["data"]["text"] == "Done in 2"
    assert comment["data"]["card"]["id"] == kept["id"]
    assert trello.received("POST", "/actions/comments")[0].path == f"/1/cards/{kept['id']}/actions/comments"
    assert deleted == {"id": doomed["id"], "deleted": True}
    assert [entry["name"] for entry in trello.cards] == ["Kept"]


def test_a_wrong_token_says_so_without_showing_the_secrets(trello: FakeTrello, todo: str) -> None:
    error = failure(card(trello, {"operation": "get", "card_id": "abcdefgh"}, token="ATTAwrongWRONG"))

    assert error["message"] == (
        "item 0: Trello did not accept the credential's key and token while getting card abcdefgh (401: invalid token)"
    )
    assert "generate a new token" in error["description"]
    assert "ATTAwrongWRONG" not in json.dumps(error) and API_KEY not in json.dumps(error)


def test_a_malformed_and_a_missing_id_are_explained(trello: FakeTrello, todo: str) -> None:
    malformed = failure(card(trello, {"operation": "get", "card_id": "not-an-id"}))
    missing = failure(card(trello, {"operation": "delete", "card_id": "5f00000000000000000000ff"}))

    assert malformed["message"] == "item 0: Trello refused getting card not-an-id (400): invalid id"
    assert "24 characters" in malformed["description"]
    assert missing["message"] == (
        "item 0: Trello refused deleting card 5f00000000000000000000ff (404): The requested resource was not found."
    )
    assert "does not exist, or was deleted" in missing["description"]


def test_an_invalid_value_names_the_failing_item(trello: FakeTrello, todo: str) -> None:
    error = failure(
        card(trello, {"list_id": todo, "name": "x", "due": "{{ $json.due }}"}, [{"due": "2026-01-01"}, {"due": "soon"}])
    )

    assert error["message"] == f"item 1: Trello refused creating a card in list {todo} (400): invalid date"
    assert error["item_index"] == 1
    assert [entry["name"] for entry in trello.cards] == ["x"]


def test_the_rate_limit_is_explained(trello: FakeTrello, todo: str) -> None:
    trello.rate_limited = 1

    error = failure(card(trello, {"list_id": todo, "name": "x"}))

    assert (
        error["message"]
        == f"item 0: Trello's rate limit stopped creating a card in list {todo} (429: Rate limit exceeded)"
    )
    assert "100 requests per 10 seconds" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(trello: FakeTrello, todo: str) -> None:
    (entry,) = outputs(card(trello, {"operation": "get", "card_id": "5f00000000000000000000ff"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Trello refused getting card 5f00000000000000000000ff (404)")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_trello(trello: FakeTrello, todo: str) -> None:
    no_list = failure(card(trello, {"name": "x"}))
    bad_position = failure(card(trello, {"list_id": todo, "name": "x", "position": "middle"}))
    nothing = failure(card(trello, {"operation": "update", "card_id": "abcdefgh"}))
    no_comment = failure(card(trello, {"operation": "add_comment", "card_id": "abcdefgh"}))

    assert "create needs the list id" in no_list["message"]
    assert "the position is top, bottom or a positive number" in bad_position["message"]
    assert "update needs at least one field to change" in nothing["message"]
    assert "add_comment needs the comment's text" in no_comment["message"]
    assert trello.received() == []


def test_the_credential_test_names_the_member_and_refuses_a_wrong_token(trello: FakeTrello) -> None:
    assert TrelloApiCredential.test_connection(trello.credential()) == f"Connected as @{MEMBER['username']}"

    with pytest.raises(NodeError) as refused:
        TrelloApiCredential.test_connection(trello.credential("ATTArevoked"))

    assert refused.value.message == (
        "Trello did not accept the credential's key and token while checking the key and token (401: invalid token)"
    )
