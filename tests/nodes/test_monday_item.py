"""monday.com Item (monday.item) and the monday_api credential, through the engine against a fake monday.com."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.monday.credentials import MondayApiCredential
from nodes.sdk import NodeError
from tests.fakes.monday_server import BOARD_ID, TOKEN, FakeMonday, fake_monday_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def monday() -> Iterator[FakeMonday]:
    with fake_monday_server() as server:
        yield server


def item(
    monday: FakeMonday,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(monday.credential(token))
    return run_node("monday.item", parameters, items, credential_type="monday_api", host=host, **settings)


def texts(entry: dict[str, Any]) -> dict[str, str]:
    return {value["id"]: value["text"] for value in entry["column_values"]}


def test_create_adds_an_item_per_item_with_its_column_values(monday: FakeMonday) -> None:
    parameters = {
        "board_id": BOARD_ID,
        "group_id": "new_group",
        "item_name": "Launch {{ $json.product }}",
        "column_values": "{{ $json.values }}",
    }
    items = [
        {"product": "Rocket", "values": {"status": {"label": "Working on it"}, "date4": {"date": "2026-03-31"}}},
        {"product": "Comet", "values": {"text": "Needs copy", "numbers": 3}},
    ]

    created = outputs(item(monday, parameters, items))

    assert [entry["name"] for entry in created] == ["Launch Rocket", "Launch Comet"]
    assert created[0]["group"] == {"id": "new_group", "title": "Next week"}
    assert texts(created[0])["status"] == "Working on it" and texts(created[0])["date4"] == "2026-03-31"
    assert texts(created[1]) == {"status": "", "text": "Needs copy", "numbers": "3", "date4": ""}
    first = monday.received()[0]
    assert first.variables == {
        "boardId": BOARD_ID,
        "itemName": "Launch Rocket",
        "groupId": "new_group",
        "columnValues": json.dumps({"status": {"label": "Working on it"}, "date4": {"date": "2026-03-31"}}),
    }
    assert first.query.startswith("mutation CreateItem(")
    assert first.headers["authorization"] == TOKEN and first.headers["api-version"] == "2025-04"


def test_create_can_add_a_missing_status_label(monday: FakeMonday) -> None:
    refused = failure(item(monday, {"board_id": BOARD_ID, "item_name": "x", "column_values": {"status": "Blocked"}}))
    (created,) = outputs(
        item(
            monday,
            {"board_id": BOARD_ID, "item_name": "x", "column_values": {"status": "Blocked"}, "create_labels": True},
        )
    )

    assert refused["message"] == (
        f"item 0: monday.com refused creating an item on board {BOARD_ID} (ColumnValueException): This status label "
        "doesn't exist, possible statuses are: {0: Working on it, 1: Done, 2: Stuck} (column_id status, "
        "column_type status)"
    )
    assert "change column values" in refused["description"]
    assert texts(created)["status"] == "Blocked"
    assert monday.received()[-1].variables["createLabels"] is True


def test_get_reads_one_item(monday: FakeMonday) -> None:
    monday.add_item("First")
    second = monday.add_item("Second", text="details")

    (found,) = outputs(item(monday, {"operation": "get", "item_id": "{{ $json.id }}"}, [{"id": second["id"]}]))

    assert (found["id"], found["name"], texts(found)["text"]) == (second["id"], "Second", "details")
    assert found["board"] == {"id": BOARD_ID, "name": "Launch plan"}
    assert monday.received()[0].variables == {"ids": [second["id"]]}


def test_get_of_a_missing_item_names_the_item(monday: FakeMonday) -> None:
    known = monday.add_item("Known")

    error = failure(item(monday, {"operation": "get", "item_id": "{{ $json.id }}"}, [{"id": known["id"]}, {"id": "1"}]))

    assert error["message"] == "item 1: monday.com has no item 1, or the token's user cannot see it"
    assert error["item_index"] == 1


def seed(monday: FakeMonday, count: int) -> None:
    for n in range(1, count + 1):
        monday.add_item(f"Item {n}", group="new_group" if n % 3 == 0 else "topics")


def test_get_many_return_all_follows_the_cursor(monday: FakeMonday) -> None:
    seed(monday, 230)

    listed = outputs(item(monday, {"operation": "get_many", "board_id": BOARD_ID, "return_all": True}))

    assert len(listed) == 230
    assert [entry["name"] for entry in listed[:2]] == ["Item 1", "Item 2"]
    (first, second, third) = monday.received()
    assert first.query.startswith("query BoardItems(") and first.variables == {"boardIds": [BOARD_ID], "limit": 100}
    assert second.query.startswith("query NextItems(") and second.variables["limit"] == 100
    assert third.variables["cursor"] != second.variables["cursor"]
    assert monday.cursors == {}


def test_get_many_of_a_group_stops_at_the_limit(monday: FakeMonday) -> None:
    seed(monday, 30)

    found = outputs(item(monday, {"operation": "get_many", "board_id": BOARD_ID, "group_id": "new_group", "limit": 4}))

    assert [entry["name"] for entry in found] == ["Item 3", "Item 6", "Item 9", "Item 12"]
    (request,) = monday.received()
    assert request.variables == {"boardIds": [BOARD_ID], "groupIds": ["new_group"], "limit": 4}


def test_get_many_across_pages_asks_only_for_what_the_limit_leaves(monday: FakeMonday) -> None:
    seed(monday, 150)

    found = outputs(item(monday, {"operation": "get_many", "board_id": BOARD_ID, "limit": 130}))

    assert len(found) == 130
    assert [request.variables["limit"] for request in monday.received()] == [100, 30]


def test_get_many_of_an_unknown_board_or_group_says_so(monday: FakeMonday) -> None:
    no_board = failure(item(monday, {"operation": "get_many", "board_id": "42"}))
    no_group = failure(item(monday, {"operation": "get_many", "board_id": BOARD_ID, "group_id": "archive"}))

    assert no_board["message"] == "item 0: monday.com has no board 42, or the token's user cannot see it"
    assert no_group["message"] == (
        f"item 0: monday.com has no group archive on board {BOARD_ID}, or the token's user cannot see it"
    )


def test_update_changes_column_values_and_the_name(monday: FakeMonday) -> None:
    target = monday.add_item("Draft", status={"label": "Working on it"}, text="keep")

    (updated,) = outputs(
        item(
            monday,
            {
                "operation": "update",
                "board_id": BOARD_ID,
                "item_id": target["id"],
                "item_name": "Final",
                "column_values": '{"status": {"label": "Done"}, "numbers": "42"}',
            },
        )
    )

    assert updated["name"] == "Final"
    assert texts(updated) == {"status": "Done", "text": "keep", "numbers": "42", "date4": ""}
    variables = monday.received()[0].variables
    assert json.loads(variables["columnValues"]) == {"status": {"label": "Done"}, "numbers": "42", "name": "Final"}
    assert variables["itemId"] == target["id"] and variables["boardId"] == BOARD_ID


def test_an_unknown_column_names_it(monday: FakeMonday) -> None:
    target = monday.add_item("Draft")

    error = failure(
        item(
            monday,
            {"operation": "update", "board_id": BOARD_ID, "item_id": target["id"], "column_values": {"owner": "Ada"}},
        )
    )

    assert error["message"] == (
        f"item 0: monday.com refused updating item {target['id']} (InvalidColumnIdException): "
        "This column ID doesn't exist for the board (column_id owner)"
    )
    assert "Developer mode" in error["description"]


def test_archive_then_delete(monday: FakeMonday) -> None:
    target = monday.add_item("Old")

    (archived,) = outputs(item(monday, {"operation": "archive", "item_id": target["id"]}))
    assert monday.items[0]["state"] == "archived"
    (deleted,) = outputs(item(monday, {"operation": "delete", "item_id": target["id"]}))

    assert archived == {"id": target["id"], "state": "archived", "archived": True}
    assert deleted == {"id": target["id"], "deleted": True}
    assert monday.items == []
    assert monday.received()[1].variables == {"itemId": target["id"]}


def test_deleting_a_missing_item_carries_mondays_code(monday: FakeMonday) -> None:
    error = failure(item(monday, {"operation": "delete", "item_id": "77"}))

    assert error["message"] == (
        "item 0: monday.com refused deleting item 77 (InvalidItemIdException): Item not found (item_id 77)"
    )
    assert "Check the item id" in error["description"]


def test_the_older_error_shape_is_understood_too(monday: FakeMonday) -> None:
    monday.legacy_errors = True

    error = failure(item(monday, {"board_id": "42", "item_name": "x"}))

    assert error["message"] == (
        "item 0: monday.com refused creating an item on board 42 (InvalidBoardIdException): "
        "The board does not exist. Please check your board ID and try again (board_id 42)"
    )
    assert "Check the board id" in error["description"]


def test_a_wrong_token_says_so_without_showing_it(monday: FakeMonday) -> None:
    error = failure(item(monday, {"operation": "get", "item_id": "1"}, token="wrong-token-000"))

    assert error["message"] == (
        "item 0: monday.com did not accept the credential's token while getting item 1: Not Authenticated"
    )
    assert "My access tokens" in error["description"]
    assert "wrong-token-000" not in json.dumps(error)


def test_the_rate_limit_says_when_to_retry(monday: FakeMonday) -> None:
    monday.rate_limited = 1

    error = failure(item(monday, {"operation": "get_many", "board_id": BOARD_ID}))

    assert error["message"] == (
        f"item 0: monday.com's rate limit stopped listing the items of board {BOARD_ID} (RATE_LIMIT_EXCEEDED): "
        "Rate limit exceeded for the minute, please try again later"
    )
    assert error["description"].startswith("Wait 17 seconds and retry the node")


def test_continue_on_fail_turns_the_error_into_an_item(monday: FakeMonday) -> None:
    (entry,) = outputs(item(monday, {"operation": "archive", "item_id": "77"}, on_error="continue"))

    assert entry["error"] == (
        "item 0: monday.com refused archiving item 77 (InvalidItemIdException): Item not found (item_id 77)"
    )


def test_parameters_are_checked_before_calling_monday(monday: FakeMonday) -> None:
    no_board = failure(item(monday, {"item_name": "x"}))
    no_name = failure(item(monday, {"board_id": BOARD_ID}))
    nothing = failure(item(monday, {"operation": "update", "board_id": BOARD_ID, "item_id": "1"}))
    not_object = failure(item(monday, {"board_id": BOARD_ID, "item_name": "x", "column_values": "[1]"}))

    assert "create needs the board id" in no_board["message"]
    assert "create needs the item's name" in no_name["message"]
    assert "update needs column values or a new name" in nothing["message"]
    assert "the column values must be a JSON object" in not_object["message"]
    assert monday.received() == []


def test_the_credential_test_names_the_user(monday: FakeMonday) -> None:
    assert MondayApiCredential.test_connection(monday.credential()) == "Connected as Ada Lovelace (ada@acme.test)"

    with pytest.raises(NodeError) as refused:
        MondayApiCredential.test_connection(monday.credential("revoked"))
    with pytest.raises(NodeError) as bad_version:
        MondayApiCredential.parse({"token": TOKEN, "api_version": "2025-05"})

    assert "did not accept the credential's token" in refused.value.message
    assert "such as 2025-04" in bad_version.value.message
    assert monday.received()[0].headers["api-version"] == "2025-04"
