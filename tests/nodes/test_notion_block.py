"""Notion Block (notion.block) through the engine against the fake Notion API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.notion_server import TOKEN, FakeNotion, fake_notion_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with fake_notion_server() as server:
        yield server


@pytest.fixture
def page_id(notion: FakeNotion) -> str:
    database_id = notion.add_database("Docs", {"Name": "title"})
    return notion.add_page(database_id, {"Name": "Runbook"})["id"]


def block(
    notion: FakeNotion, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **kw: Any
) -> RunResult:
    return run_node(
        "notion.block",
        parameters,
        items,
        credential_type="notion_api",
        host=host_for({"token": TOKEN, "api_url": notion.api_url}),
        **kw,
    )


def texts(notion: FakeNotion, parent: str) -> list[tuple[str, str]]:
    return [
        (child["type"], "".join(part["plain_text"] for part in child[child["type"]]["rich_text"]))
        for child in notion.page_children(parent)
    ]


def test_append_adds_text_blocks_of_each_kind(notion: FakeNotion, page_id: str) -> None:
    blocks = [
        {"type": "heading_1", "text": "Release {{ $json.version }}"},
        {"type": "paragraph", "text": "All green."},
        {"type": "to_do", "text": "Tell support", "checked": True},
        {"type": "bulleted_list_item", "text": "API"},
        {"type": "numbered_list_item", "text": "Deploy"},
    ]

    created = outputs(
        block(notion, {"block_id": "{{ $json.page }}", "blocks": blocks}, [{"page": page_id, "version": "2.1"}])
    )

    assert [entry["type"] for entry in created] == [
        "heading_1",
        "paragraph",
        "to_do",
        "bulleted_list_item",
        "numbered_list_item",
    ]
    assert texts(notion, page_id) == [
        ("heading_1", "Release 2.1"),
        ("paragraph", "All green."),
        ("to_do", "Tell support"),
        ("bulleted_list_item", "API"),
        ("numbered_list_item", "Deploy"),
    ]
    (call,) = notion.received("PATCH")
    assert call.path == f"/v1/blocks/{page_id}/children"
    assert call.body["children"][2] == {
        "object": "block",
        "type": "to_do",
        "to_do": {"rich_text": [{"type": "text", "text": {"content": "Tell support"}}], "checked": True},
    }
    assert "checked" not in call.body["children"][1]["paragraph"]


def test_append_after_a_block_and_in_requests_of_at_most_100(notion: FakeNotion, page_id: str) -> None:
    (first, last) = outputs(block(notion, {"block_id": page_id, "blocks": [{"text": "first"}, {"text": "last"}]}))
    many = [{"type": "bulleted_list_item", "text": f"point {n}"} for n in range(150)]

    created = outputs(block(notion, {"block_id": page_id, "blocks": many, "after": first["id"]}))

    assert len(created) == 150
    order = [text for _, text in texts(notion, page_id)]
    assert order == ["first", *[f"point {n}" for n in range(150)], "last"]
    (_, batch_one, batch_two) = notion.received("PATCH")
    assert [len(batch_one.body["children"]), len(batch_two.body["children"])] == [100, 50]
    assert batch_one.body["after"] == first["id"]
    assert batch_two.body["after"] == created[99]["id"]
    assert last["id"] in notion.blocks


def test_list_children_follows_the_cursor_or_stops_at_the_limit(notion: FakeNotion, page_id: str) -> None:
    outputs(block(notion, {"block_id": page_id, "blocks": [{"text": f"line {n}"} for n in range(120)]}))

    every = outputs(block(notion, {"operation": "list", "block_id": page_id}))
    listed = notion.received("GET")
    some = outputs(block(notion, {"operation": "list", "block_id": page_id, "return_all": False, "limit": 30}))

    assert len(every) == 120
    assert every[0]["paragraph"]["rich_text"][0]["plain_text"] == "line 0"
    assert [call.query.get("start_cursor") for call in listed] == [None, every[100]["id"]]
    assert listed[0].query["page_size"] == "100"
    assert len(some) == 30
    assert notion.received("GET")[-1].query["page_size"] == "30"


def test_list_simplified_gives_text_and_checked(notion: FakeNotion, page_id: str) -> None:
    outputs(
        block(
            notion,
            {
                "block_id": page_id,
                "blocks": [{"type": "to_do", "text": "Call Ada"}, {"type": "heading_2", "text": "Notes"}],
            },
        )
    )

    listed = outputs(block(notion, {"operation": "list", "block_id": page_id, "simplify": True}))

    assert [{key: value for key, value in entry.items() if key != "id"} for entry in listed] == [
        {"type": "to_do", "text": "Call Ada", "has_children": False, "checked": False},
        {"type": "heading_2", "text": "Notes", "has_children": False},
    ]


def test_children_of_a_block_not_shared_fail_or_continue(notion: FakeNotion) -> None:
    missing = "0123456789abcdef0123456789abcdef"

    error = failure(block(notion, {"operation": "list", "block_id": missing}))
    (entry,) = outputs(block(notion, {"operation": "list", "block_id": missing}, on_error="continue"))

    assert error["message"].startswith(
        "item 0: Notion refused listing the children of 01234567-89ab-cdef-0123-456789abcdef (404 object_not_found)"
    )
    assert "share the page or database" in error["description"]
    assert entry["error"] == error["message"]


def test_appending_after_a_block_of_another_page_is_refused(notion: FakeNotion, page_id: str) -> None:
    stranger = "fedcba98-7654-3210-fedc-ba9876543210"

    error = failure(block(notion, {"block_id": page_id, "blocks": [{"text": "x"}], "after": stranger}))

    assert error["message"] == (
        f"item 0: Notion refused appending 1 block to {page_id} (400 validation_error): "
        f"Block {stranger} is not a child of {page_id}."
    )
    assert notion.page_children(page_id) == []


def test_append_without_blocks_is_refused_before_calling_notion(notion: FakeNotion, page_id: str) -> None:
    error = failure(block(notion, {"block_id": page_id}))

    assert "append needs at least one block" in error["message"]
    assert notion.received() == []
