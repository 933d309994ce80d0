"""Notion Database: get a database's schema, or query its pages with a filter and sorts."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.notion._client import NotionClient, notion_id
from nodes.notion._properties import plain_text, simplify_page
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param


def parse_json(value: Any, what: str, kinds: tuple[type, ...]) -> Any:
    """A JSON parameter the widget or an expression handed over as text, parsed; empty text is ``None``."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the {what} is not valid JSON ({err})") from err
    if value is not None and not isinstance(value, kinds):
        raise ValueError(f"the {what} must be a JSON {' or '.join(kind.__name__ for kind in kinds)}")
    return value


class NotionDatabaseParameters(Parameters):
    operation: Literal["get", "query"] = param(
        "query",
        title="Operation",
        description="get: the database and its properties; query: one item per page of the database.",
        no_expressions=True,
    )
    database_id: str = param(
        title="Database",
        description="The database's id or its notion.so link; share it with the integration.",
        placeholder="https://www.notion.so/workspace/1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6?v=...",
        min_length=1,
    )
    filter: dict[str, Any] | str | None = param(
        None,
        title="Filter (JSON)",
        description='A Notion filter object, e.g. {"property": "Status", "select": {"equals": "Done"}}; '
        "empty: every page.",
        widget="json",
        show_if={"operation": ["query"]},
    )
    sorts: list[dict[str, Any]] | str | None = param(
        None,
        title="Sorts (JSON)",
        description='A list of sorts, e.g. [{"property": "Due", "direction": "ascending"}].',
        widget="json",
        show_if={"operation": ["query"]},
    )
    return_all: bool = param(
        True,
        title="Return all",
        description="Follow every page of results; otherwise stop after 'Limit' pages.",
        show_if={"operation": ["query"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many pages per item.",
        show_if={"operation": ["query"], "return_all": [False]},
        ge=1,
    )
    simplify: bool = param(
        False,
        title="Simplify",
        description="Output each page's properties as plain values (text, numbers, names, ids) by name.",
        show_if={"operation": ["query"]},
    )

    @field_validator("database_id")
    @classmethod
    def _id(cls, value: str) -> str:
        return notion_id(value)

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: Any) -> Any:
        return parse_json(value, "filter", (dict,))

    @field_validator("sorts")
    @classmethod
    def _sorts(cls, value: Any) -> Any:
        return parse_json(value, "sorts", (list,))

    @model_validator(mode="after")
    def _sorts_are_objects(self) -> NotionDatabaseParameters:
        if isinstance(self.sorts, list) and not all(isinstance(entry, dict) for entry in self.sorts):
            raise ValueError("each sort must be a JSON object")
        return self


class NotionDatabaseNode(Node):
    type = "notion.database"
    display_name = "Notion Database"
    category = Category.INTEGRATION
    description = "Gets a Notion database, or queries its pages with a filter and sorts, once per item."
    icon = "database"
    Parameters = NotionDatabaseParameters
    credentials = (CredentialRequirement("notion_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with NotionClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: NotionDatabaseParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: NotionClient, params: NotionDatabaseParameters, index: int) -> list[dict[str, Any]]:
    database = params.database_id
    if params.operation == "get":
        answer = client.request("GET", f"/v1/databases/{database}", f"getting database {database}", item_index=index)
        # The title as text too: Notion gives it as rich text, which expressions cannot read easily.
        return [{**answer, "title_text": plain_text(answer.get("title"))}]
    body: dict[str, Any] = {}
    if params.filter:
        body["filter"] = params.filter
    if params.sorts:
        body["sorts"] = params.sorts
    pages = client.paginate(
        "POST",
        f"/v1/databases/{database}/query",
        f"querying database {database}",
        limit=None if params.return_all else params.limit,
        item_index=index,
        body=body,
    )
    return [simplify_page(page) for page in pages] if params.simplify else pages
