"""Notion Page (notion.page) through the engine against the fake Notion API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.notion_server import TOKEN, FakeNotion, fake_notion_server
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
    "Phone": "phone_number",
    "Owner": "people",
    "Related": "relation",
}


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with fake_notion_server() as server:
        yield server


@pytest.fixture
def database_id(notion: FakeNotion) -> str:
    return notion.add_database("Tasks", SCHEMA)


def page(
    notion: FakeNotion, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **kw: Any
) -> RunResult:
    return run_node(
        "notion.page",
        parameters,
        items,
        credential_type="notion_api",
        host=host_for({"token": TOKEN, "api_url": notion.api_url}),
        **kw,
    )


def test_create_converts_simple_properties_to_notion_json(notion: FakeNotion, database_id: str) -> None:
    properties = [
        {"name": "Name", "type": "title", "value": "{{ $json.title }}"},
        {"name": "Notes", "type": "rich_text", "value": "x" * 2500},
        {"name": "Points", "type": "number", "value": "{{ $json.points }}"},
        {"name": "Stage", "type": "select", "value": "Doing"},
        {"name": "Tags", "type": "multi_select", "value": "web, urgent"},
        {"name": "Due", "type": "date", "value": {"start": "2024-06-01", "end": "2024-06-03"}},
        {"name": "Done", "type": "checkbox", "value": "yes"},
        {"name": "Link", "type": "url", "value": "https://example.com"},
        {"name": "Contact", "type": "email", "value": "ada@example.com"},
        {"name": "Phone", "type": "phone_number", "value": ""},
        {"name": "Owner", "type": "people", "value": ["user-1"]},
        {"name": "Related", "type": "relation", "value": "page-a,page-b"},
    ]

    (created,) = outputs(
        page(
            notion,
            {"database_id": database_id.replace("-", ""), "properties": properties, "simplify": True},
            [{"title": "Launch", "points": "8"}],
        )
    )

    assert created["properties"] == {
        "Name": "Launch",
        "Notes": "x" * 2500,
        "Points": 8,
        "Stage": "Doing",
        "Tags": ["web", "urgent"],
        "Due": {"start": "2024-06-01", "end": "2024-06-03"},
        "Done": True,
        "Link": "https://example.com",
        "Contact": "ada@example.com",
        "Phone": None,
        "Owner": ["user-1"],
        "Related": ["page-a", "page-b"],
    }
    (call,) = notion.received("POST")
    assert call.path == "/v1/pages"
    assert call.body["parent"] == {"database_id": database_id}
    sent = call.body["properties"]
    assert sent["Name"] == {"title": [{"type": "text", "text": {"content": "Launch"}}]}
    assert [len(part["text"]["content"]) for part in sent["Notes"]["rich_text"]] == [2000, 500]
    assert sent["Points"] == {"number": 8}
    assert sent["Tags"] == {"multi_select": [{"name": "web"}, {"name": "urgent"}]}
    assert sent["Owner"] == {"people": [{"object": "user", "id": "user-1"}]}
    assert sent["Related"] == {"relation": [{"id": "page-a"}, {"id": "page-b"}]}
    assert created["id"] in notion.pages


def test_create_with_raw_json_properties(notion: FakeNotion, database_id: str) -> None:
    raw = '{"Name": {"title": [{"text": {"content": "{{ $json.name }}"}}]}, "Points": {"number": 3}}'

    created = outputs(
        page(
            notion,
            {"database_id": database_id, "properties_mode": "json", "properties_json": raw},
            [{"name": "A"}, {"name": "B"}],
        )
    )

    assert [entry["properties"]["Name"]["title"][0]["plain_text"] for entry in created] == ["A", "B"]
    assert [entry["properties"]["Points"]["number"] for entry in created] == [3, 3]
    assert len(notion.pages) == 2


def test_get_a_page_raw_or_simplified(notion: FakeNotion, database_id: str) -> None:
    stored = notion.add_page(database_id, {"Name": "Docs", "Points": 2})

    (raw,) = outputs(page(notion, {"operation": "get", "page_id": stored["url"]}))
    (simple,) = outputs(page(notion, {"operation": "get", "page_id": "{{ $json.id }}", "simplify": True}, [stored]))

    assert raw["object"] == "page"
    assert raw["properties"]["Points"] == {"id": "p2", "type": "number", "number": 2}
    assert simple["id"] == stored["id"]
    assert simple["properties"]["Name"] == "Docs"
    assert simple["properties"]["Stage"] is None
    assert [call.path for call in notion.received("GET")] == [f"/v1/pages/{stored['id']}"] * 2


def test_update_sets_only_the_given_properties(notion: FakeNotion, database_id: str) -> None:
    stored = notion.add_page(database_id, {"Name": "Docs", "Points": 2, "Stage": "Todo"})
    properties = [
        {"name": "Stage", "type": "select", "value": "{{ $json.stage }}"},
        {"name": "Done", "type": "checkbox", "value": True},
    ]

    (updated,) = outputs(
        page(
            notion,
            {"operation": "update", "page_id": stored["id"], "properties": properties, "simplify": True},
            [{"stage": "Done"}],
        )
    )

    assert updated["properties"]["Stage"] == "Done"
    assert updated["properties"]["Done"] is True
    assert updated["properties"]["Name"] == "Docs"
    assert updated["properties"]["Points"] == 2
    (call,) = notion.received("PATCH")
    assert call.body == {"properties": {"Stage": {"select": {"name": "Done"}}, "Done": {"checkbox": True}}}


def test_archive_and_restore(notion: FakeNotion, database_id: str) -> None:
    stored = notion.add_page(database_id, {"Name": "Old"})

    (archived,) = outputs(page(notion, {"operation": "archive", "page_id": stored["id"]}))
    archived_then = notion.pages[stored["id"]]["archived"]
    (restored,) = outputs(page(notion, {"operation": "restore", "page_id": stored["id"]}))

    assert archived["archived"] is True
    assert archived_then is True
    assert restored["archived"] is False
    assert [call.body for call in notion.received("PATCH")] == [{"archived": True}, {"archived": False}]


def test_updating_an_archived_page_is_refused_with_notions_reason(notion: FakeNotion, database_id: str) -> None:
    stored = notion.add_page(database_id, {"Name": "Old"})
    notion.pages[stored["id"]]["archived"] = True
    properties = [{"name": "Name", "type": "title", "value": "New"}]

    error = failure(page(notion, {"operation": "update", "page_id": stored["id"], "properties": properties}))

    assert error["message"] == (
        f"item 0: Notion refused updating page {stored['id']} (400 validation_error): "
        "Can't edit block that is archived. You must unarchive the block before editing."
    )


def test_a_value_that_does_not_fit_its_type_names_the_item_and_property(notion: FakeNotion, database_id: str) -> None:
    properties = [{"name": "Points", "type": "number", "value": "{{ $json.points }}"}]

    error = failure(
        page(notion, {"database_id": database_id, "properties": properties}, [{"points": 1}, {"points": "many"}])
    )

    assert error["message"] == "item 1: property 'Points' (number): 'many' is not a number"
    assert error["item_index"] == 1
    assert len(notion.pages) == 1


def test_an_unknown_property_is_refused_by_notion(notion: FakeNotion, database_id: str) -> None:
    properties = [{"name": "Colour", "type": "select", "value": "red"}]

    error = failure(page(notion, {"database_id": database_id, "properties": properties}))

    assert error["message"] == (
        f"item 0: Notion refused creating a page in database {database_id} (400 validation_error): "
        "Colour is not a property that exists."
    )
    assert "property names and types" in error["description"]


def test_a_missing_page_fails_or_continues_as_an_item(notion: FakeNotion) -> None:
    missing = "fedcba98-7654-3210-fedc-ba9876543210"

    error = failure(page(notion, {"operation": "get", "page_id": missing}))
    (entry,) = outputs(page(notion, {"operation": "get", "page_id": missing}, on_error="continue"))

    assert error["message"].startswith(f"item 0: Notion refused getting page {missing} (404 object_not_found)")
    assert entry["error"] == error["message"]


def test_parameters_are_checked_before_calling_notion(notion: FakeNotion) -> None:
    no_database = failure(page(notion, {"properties": [{"name": "Name", "type": "title", "value": "x"}]}))
    no_page = failure(page(notion, {"operation": "archive"}))
    nothing_to_set = failure(page(notion, {"operation": "update", "page_id": "0123456789abcdef0123456789abcdef"}))

    assert "create needs the database" in no_database["message"]
    assert "archive needs the page's id or link" in no_page["message"]
    assert "update needs at least one property to set" in nothing_to_set["message"]
    assert notion.received() == []
