"""monday.com Item: create, get, list, update the column values of, archive or delete the items of a board."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.monday._client import MondayClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete", "archive"]
BY_ID = ("get", "update", "delete", "archive")
WITH_BOARD = ("create", "get_many", "update")
PAGE_SIZE = 100
"""Items per request: monday.com serves up to 500, but a page's query complexity grows with its size."""

ITEM_FIELDS = """
fragment ItemFields on Item {
  id name state created_at updated_at url
  board { id name }
  group { id title }
  column_values { id type text value }
}
"""
CREATE = (
    "mutation CreateItem($boardId: ID!, $groupId: String, $itemName: String!, $columnValues: JSON,"
    " $createLabels: Boolean) {"
    " create_item(board_id: $boardId, group_id: $groupId, item_name: $itemName, column_values: $columnValues,"
    " create_labels_if_missing: $createLabels) { ...ItemFields } }" + ITEM_FIELDS
)
GET = "query Items($ids: [ID!]) { items(ids: $ids) { ...ItemFields } }" + ITEM_FIELDS
BOARD_PAGE = (
    "query BoardItems($boardIds: [ID!], $limit: Int!) {"
    " boards(ids: $boardIds) { id items_page(limit: $limit) { cursor items { ...ItemFields } } } }" + ITEM_FIELDS
)
GROUP_PAGE = (
    "query GroupItems($boardIds: [ID!], $groupIds: [String], $limit: Int!) {"
    " boards(ids: $boardIds) { id groups(ids: $groupIds) { id"
    " items_page(limit: $limit) { cursor items { ...ItemFields } } } } }" + ITEM_FIELDS
)
NEXT_PAGE = (
    "query NextItems($cursor: String!, $limit: Int!) {"
    " next_items_page(cursor: $cursor, limit: $limit) { cursor items { ...ItemFields } } }" + ITEM_FIELDS
)
UPDATE = (
    "mutation ChangeColumnValues($boardId: ID!, $itemId: ID!, $columnValues: JSON!, $createLabels: Boolean) {"
    " change_multiple_column_values(board_id: $boardId, item_id: $itemId, column_values: $columnValues,"
    " create_labels_if_missing: $createLabels) { ...ItemFields } }" + ITEM_FIELDS
)
DELETE = "mutation DeleteItem($itemId: ID!) { delete_item(item_id: $itemId) { id } }"
ARCHIVE = "mutation ArchiveItem($itemId: ID!) { archive_item(item_id: $itemId) { id state } }"


class MondayItemParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an item per item; get one; get_many: one item per item of a board (or of one of its "
        "groups); update its column values; archive it (restorable for 30 days); delete it.",
        no_expressions=True,
    )
    board_id: str = param(
        "",
        title="Board id",
        description="The number in the board's address.",
        placeholder="1234567890",
        show_if={"operation": WITH_BOARD},
    )
    item_id: str = param(
        "",
        title="Item id",
        description="The item's id (its pulse number in the address).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    group_id: str = param(
        "",
        title="Group id",
        description="create: the group to add the item to, empty: the board's top group; get_many: only this "
        "group's items, empty: the whole board. Group menu → Copy group ID (such as topics).",
        show_if={"operation": ["create", "get_many"]},
    )
    item_name: str = param(
        "",
        title="Item name",
        description="update: a new name, empty keeps it.",
        show_if={"operation": ["create", "update"]},
    )
    column_values: dict[str, Any] | str | None = param(
        None,
        title="Column values",
        description='A JSON object of column id → value, as monday.com takes them: {"status": {"label": "Done"}, '
        '"date4": {"date": "2026-03-31"}, "text": "hello", "numbers": "3"}.',
        widget="json",
        show_if={"operation": ["create", "update"]},
    )
    create_labels: bool = param(
        False,
        title="Create missing labels",
        description="Add status and dropdown labels that do not exist yet, instead of failing.",
        show_if={"operation": ["create", "update"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' items.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many items per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("column_values", mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        """Expressions and the JSON widget may hand the values over as text."""
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = json.loads(value)
            except ValueError as err:
                raise ValueError(f"the column values are not valid JSON ({err})") from err
        if value is not None and not isinstance(value, dict):
            raise ValueError("the column values must be a JSON object of column id → value")
        return value

    @model_validator(mode="after")
    def _needs(self) -> MondayItemParameters:
        if self.operation in WITH_BOARD and not self.board_id.strip():
            raise ValueError(f"{self.operation} needs the board id")
        if self.operation in BY_ID and not self.item_id.strip():
            raise ValueError(f"{self.operation} needs the item id")
        if self.operation == "create" and not self.item_name.strip():
            raise ValueError("create needs the item's name")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs column values or a new name")
        return self

    def changes(self) -> dict[str, Any]:
        """The column values to write; a new name is the ``name`` column's value."""
        values = dict(self.column_values or {})
        if self.operation == "update" and self.item_name.strip():
            values["name"] = self.item_name.strip()
        return values


class MondayItemNode(Node):
    type = "monday.item"
    display_name = "monday.com Item"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, archives or deletes the items of monday.com boards."
    icon = "layout-grid"
    Parameters = MondayItemParameters
    credentials = (CredentialRequirement("monday_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with MondayClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: MondayItemParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _missing(what: str, index: int, hint: str) -> NodeError:
    return NodeError(
        f"item {index}: monday.com has no {what}, or the token's user cannot see it", description=hint, item_index=index
    )


def _run(client: MondayClient, params: MondayItemParameters, index: int) -> list[dict[str, Any]]:
    board = params.board_id.strip()
    item_id = params.item_id.strip()
    match params.operation:
        case "create":
            variables: dict[str, Any] = {"boardId": board, "itemName": params.item_name.strip()}
            if params.group_id.strip():
                variables["groupId"] = params.group_id.strip()
            if params.column_values:
                # monday.com's JSON arguments take the object as JSON text.
                variables["columnValues"] = json.dumps(params.column_values)
            if params.create_labels:
                variables["createLabels"] = True
            data = client.graphql(CREATE, variables, f"creating an item on board {board}", item_index=index)
            return [data.get("create_item") or {}]
        case "get":
            found = client.graphql(GET, {"ids": [item_id]}, f"getting item {item_id}", item_index=index).get("items")
            if not found:
                raise _missing(
                    f"item {item_id}",
                    index,
                    "Check the item id: the item was deleted, or is on a board the token's user is not a member of.",
                )
            return [found[0]]
        case "get_many":
            return _items(client, params, board, index)
        case "update":
            variables = {"boardId": board, "itemId": item_id, "columnValues": json.dumps(params.changes())}
            if params.create_labels:
                variables["createLabels"] = True
            data = client.graphql(UPDATE, variables, f"updating item {item_id}", item_index=index)
            return [data.get("change_multiple_column_values") or {}]
        case "delete":
            data = client.graphql(DELETE, {"itemId": item_id}, f"deleting item {item_id}", item_index=index)
            return [{"id": (data.get("delete_item") or {}).get("id") or item_id, "deleted": True}]
        case "archive":
            data = client.graphql(ARCHIVE, {"itemId": item_id}, f"archiving item {item_id}", item_index=index)
            return [{"id": item_id, **(data.get("archive_item") or {}), "archived": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _items(client: MondayClient, params: MondayItemParameters, board: str, index: int) -> list[dict[str, Any]]:
    """A board's (or group's) items: the first page through ``items_page``, the others through ``next_items_page``."""
    limit = None if params.return_all else params.limit
    size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit)
    group = params.group_id.strip()
    action = f"listing the items of board {board}" + (f", group {group}" if group else "")
    if group:
        data = client.graphql(
            GROUP_PAGE, {"boardIds": [board], "groupIds": [group], "limit": size}, action, item_index=index
        )
    else:
        data = client.graphql(BOARD_PAGE, {"boardIds": [board], "limit": size}, action, item_index=index)
    boards = data.get("boards") or []
    if not boards:
        raise _missing(
            f"board {board}",
            index,
            "Check the board id (the number in the board's address) and that the token's user is a member of it.",
        )
    if group:
        groups = boards[0].get("groups") or []
        if not groups:
            raise _missing(f"group {group} on board {board}", index, "Check the group id: group menu → Copy group ID.")
        page = groups[0].get("items_page") or {}
    else:
        page = boards[0].get("items_page") or {}
    entries: list[dict[str, Any]] = list(page.get("items") or [])
    cursor = page.get("cursor")
    while cursor and (limit is None or len(entries) < limit):
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
        answer = client.graphql(NEXT_PAGE, {"cursor": cursor, "limit": size}, action, item_index=index)
        page = answer.get("next_items_page") or {}
        found = page.get("items") or []
        entries.extend(found)
        cursor = page.get("cursor") if found else None
    return entries if limit is None else entries[:limit]
