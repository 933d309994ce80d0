"""Notion Database (notion.database) and the notion_api credential, through the engine against a fake on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.notion.credentials import NotionApiCredential
from nodes.sdk import NodeError
from tests.fakes.notion_server import NOTION_VERSION, TOKEN, FakeNotion, fake_notion_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

SCHEMA = {
    "Name": "title",
    "Notes": "rich_text",
    "Points": "number",
    "Stage": "select",
    "Tags": "multi_select",
    "Due": "date",
    "Done": "checkbox",
    "Link": "url",
    "Contact": "email",
    "Owner": "people",
    "Related": "relation",
}


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with fake_notion_server() as server:
        yield server


def credential(notion: FakeNotion, token: str = TOKEN) -> dict[str, Any]:
    return {"token": token, "api_url": notion.api_url}


def database(
    notion: FakeNotion,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    return run_node(
        "notion.database",
        parameters,
        items,
        credential_type="notion_api",
        host=host_for(credential(notion, token)),
        **settings,
    )


def tasks(notion: FakeNotion, count: int) -> str:
    database_id = notion.add_database("Tasks", SCHEMA)
    for n in range(1, count + 1):
        notion.add_page(
            database_id, {"Name": f"Task {n}", "Points": n, "Done": n % 3 == 0, "Stage": "Doing" if n % 2 else "Todo"}
        )
    return database_id


def test_get_outputs_the_database_found_by_its_link(notion: FakeNotion) -> None:
    database_id = tasks(notion, 0)
    link = f"https://www.notion.so/acme/Tasks-{database_id.replace('-', '')}?v=0123456789abcdef0123456789abcdef"

    (got,) = outputs(database(notion, {"operation": "get", "database_id": link}))

    assert got["id"] == database_id
    assert got["title_text"] == "Tasks"
    assert got["properties"]["Points"]["type"] == "number"
    (call,) = notion.received()
    assert call.path == f"/v1/databases/{database_id}"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["notion-version"] == NOTION_VERSION


def test_query_returns_every_page_following_the_cursor(notion: FakeNotion) -> None:
    database_id = tasks(notion, 230)

    pages = outputs(database(notion, {"database_id": database_id}))

    assert len(pages) == 230
    assert pages[0]["object"] == "page"
    assert pages[0]["properties"]["Name"]["title"][0]["plain_text"] == "Task 1"
    calls = notion.received("POST")
    assert [call.body.get("start_cursor") for call in calls] == [None, pages[100]["id"], pages[200]["id"]]
    assert all(call.body["page_size"] == 100 for call in calls)


def test_query_with_a_limit_asks_only_for_what_it_needs(notion: FakeNotion) -> None:
    database_id = tasks(notion, 230)

    pages = outputs(database(notion, {"database_id": database_id, "return_all": False, "limit": 130}))

    assert len(pages) == 130
    assert [call.body["page_size"] for call in notion.received("POST")] == [100, 30]


def test_query_sends_the_filter_and_sorts_evaluated_per_item(notion: FakeNotion) -> None:
    database_id = tasks(notion, 9)
    parameters = {
        "database_id": "{{ $json.database }}",
        "filter": '{"and": [{"property": "Stage", "select": {"equals": "{{ $json.stage }}"}}, '
        '{"property": "Points", "number": {"greater_than": 2}}]}',
        "sorts": [{"property": "Points", "direction": "descending"}],
        "simplify": True,
    }

    pages = outputs(
        database(
            notion,
            parameters,
            [{"database": database_id, "stage": "Doing"}, {"database": database_id, "stage": "Todo"}],
        )
    )

    assert [page["properties"]["Points"] for page in pages] == [9, 7, 5, 3, 8, 6, 4]
    first = notion.received("POST")[0].body
    assert first["filter"]["and"][0] == {"property": "Stage", "select": {"equals": "Doing"}}
    assert first["sorts"] == [{"property": "Points", "direction": "descending"}]


def test_simplify_flattens_every_property_type(notion: FakeNotion) -> None:
    database_id = notion.add_database("Tasks", SCHEMA)
    page = notion.add_page(
        database_id,
        {
            "Name": "Launch",
            "Notes": "Ship it",
            "Points": 8,
            "Stage": "Doing",
            "Tags": ["web", "urgent"],
            "Due": "2024-06-01",
            "Done": True,
            "Link": "https://example.com",
            "Contact": "ada@example.com",
            "Owner": ["user-1"],
            "Related": ["page-1", "page-2"],
        },
    )

    (simple,) = outputs(database(notion, {"database_id": database_id, "simplify": True}))

    assert simple == {
        "id": page["id"],
        "url": page["url"],
        "created_time": page["created_time"],
        "last_edited_time": page["last_edited_time"],
        "archived": False,
        "properties": {
            "Name": "Launch",
            "Notes": "Ship it",
            "Points": 8,
            "Stage": "Doing",
            "Tags": ["web", "urgent"],
            "Due": {"start": "2024-06-01", "end": None},
            "Done": True,
            "Link": "https://example.com",
            "Contact": "ada@example.com",
            "Owner": ["user-1"],
            "Related": ["page-1", "page-2"],
        },
    }


def test_an_unshared_database_says_to_share_it(notion: FakeNotion) -> None:
    missing = "0123456789abcdef0123456789abcdef"

    error = failure(database(notion, {"database_id": missing}))

    assert error["message"].startswith(
        "item 0: Notion refused querying database 01234567-89ab-cdef-0123-456789abcdef (404 object_not_found): "
        "Could not find database with ID"
    )
    assert "share the page or database with the integration" in error["description"]
    assert error["item_index"] == 0


def test_a_bad_filter_is_explained_and_continue_on_fail_makes_it_an_item(notion: FakeNotion) -> None:
    database_id = tasks(notion, 2)
    parameters = {"database_id": database_id, "filter": {"property": "Colour", "select": {"equals": "red"}}}

    (entry,) = outputs(database(notion, parameters, on_error="continue"))

    assert entry["error"] == (
        f"item 0: Notion refused querying database {database_id} (400 validation_error): "
        "Could not find property with name or id: Colour"
    )
    assert "property names and types" in entry["error_details"]["description"]


def test_a_wrong_token_is_refused_without_showing_it(notion: FakeNotion) -> None:
    database_id = tasks(notion, 1)

    error = failure(database(notion, {"database_id": database_id}, token="secret_WRONGtoken"))

    assert error["message"] == (
        f"item 0: Notion refused querying database {database_id} (401 unauthorized): API token is invalid."
    )
    assert "notion.so/my-integrations" in error["description"]
    assert "secret_WRONGtoken" not in json.dumps(error)


def test_the_rate_limit_is_a_clear_error(notion: FakeNotion) -> None:
    database_id = tasks(notion, 1)
    notion.rate_limited = 1

    error = failure(database(notion, {"database_id": database_id}))

    assert error["message"] == (
        f"item 0: Notion is limiting requests and refused querying database {database_id} (429 rate_limited)"
    )
    assert "three requests a second" in error["description"]


def test_a_wrong_id_or_filter_json_is_refused_before_calling_notion(notion: FakeNotion) -> None:
    bad_id = failure(database(notion, {"database_id": "not-an-id"}))
    bad_filter = failure(database(notion, {"database_id": "0123456789abcdef0123456789abcdef", "filter": "{oops"}))
    bad_sorts = failure(database(notion, {"database_id": "0123456789abcdef0123456789abcdef", "sorts": '{"a": 1}'}))

    assert "give the id (32 hexadecimal characters) or the notion.so link" in bad_id["message"]
    assert "the filter is not valid JSON" in bad_filter["message"]
    assert "the sorts must be a JSON list" in bad_sorts["message"]
    assert notion.received() == []


def test_the_credential_test_names_the_integration_and_refuses_a_wrong_token(notion: FakeNotion) -> None:
    assert NotionApiCredential.test_connection(credential(notion)) == "Connected as HITL Studio"

    with pytest.raises(NodeError) as refused:
        NotionApiCredential.test_connection(credential(notion, "secret_REVOKED"))

    assert "401 unauthorized" in refused.value.message
    assert "secret_REVOKED" not in refused.value.message
