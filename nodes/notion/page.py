"""Notion Page: create a page in a database, get one, update its properties, archive or restore it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.notion._client import NotionClient, notion_id
from nodes.notion._properties import SimpleProperty, property_value, simplify_page
from nodes.notion.database import parse_json
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

WITH_PAGE = ("get", "update", "archive", "restore")
WITH_PROPERTIES = ("create", "update")


class NotionPageParameters(Parameters):
    operation: Literal["create", "get", "update", "archive", "restore"] = param(
        "create",
        title="Operation",
        description="create a page in a database; get a page; update its properties; archive (move to trash) or "
        "restore it.",
        no_expressions=True,
    )
    database_id: str = param(
        "",
        title="Database",
        description="The database's id or its notion.so link; share it with the integration.",
        show_if={"operation": ["create"]},
    )
    page_id: str = param(
        "",
        title="Page",
        description="The page's id or its notion.so link.",
        placeholder="{{ $json.id }}",
        show_if={"operation": WITH_PAGE},
    )
    properties_mode: Literal["simple", "json"] = param(
        "simple",
        title="Properties as",
        description="simple: a name, type and value per property; json: Notion's property JSON.",
        show_if={"operation": WITH_PROPERTIES},
        no_expressions=True,
    )
    properties: list[SimpleProperty] = param(
        default_factory=list,
        title="Properties",
        description="The properties to set; others keep their values (create: stay empty).",
        show_if={"operation": WITH_PROPERTIES, "properties_mode": ["simple"]},
    )
    properties_json: dict[str, Any] | str | None = param(
        None,
        title="Properties (JSON)",
        description='Notion\'s properties object, e.g. {"Name": {"title": [{"text": {"content": "Hi"}}]}}.',
        widget="json",
        show_if={"operation": WITH_PROPERTIES, "properties_mode": ["json"]},
    )
    simplify: bool = param(
        False,
        title="Simplify",
        description="Output the page's properties as plain values (text, numbers, names, ids) by name.",
    )

    @field_validator("properties_json")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return parse_json(value, "properties", (dict,))

    @model_validator(mode="after")
    def _needs(self) -> NotionPageParameters:
        if self.operation == "create":
            self.database_id = notion_id(self.database_id) if self.database_id.strip() else ""
            if not self.database_id:
                raise ValueError("create needs the database to add the page to")
        if self.operation in WITH_PAGE:
            if not self.page_id.strip():
                raise ValueError(f"{self.operation} needs the page's id or link")
            self.page_id = notion_id(self.page_id)
        if self.operation == "update" and not (
            self.properties if self.properties_mode == "simple" else self.properties_json
        ):
            raise ValueError("update needs at least one property to set")
        return self


class NotionPageNode(Node):
    type = "notion.page"
    display_name = "Notion Page"
    category = Category.INTEGRATION
    description = "Creates a page in a Notion database, gets or updates one, or archives or restores it, per item."
    icon = "file-text"
    Parameters = NotionPageParameters
    credentials = (CredentialRequirement("notion_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with NotionClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: NotionPageParameters = ctx.params(index)
                page = _run(client, params, index)
                produced.append(Item(simplify_page(page) if params.simplify else page, paired_item=index))
        return [produced]


def _properties(params: NotionPageParameters, index: int) -> dict[str, Any]:
    if params.properties_mode == "json":
        return dict(params.properties_json or {})
    built: dict[str, Any] = {}
    for entry in params.properties:
        try:
            built[entry.name] = property_value(entry.type, entry.value)
        except ValueError as err:
            raise NodeError(
                f"item {index}: property {entry.name!r} ({entry.type}): {err}",
                description="Give a value of the property's type, or change the type to match the database.",
                item_index=index,
            ) from err
    return built


def _run(client: NotionClient, params: NotionPageParameters, index: int) -> dict[str, Any]:
    page = params.page_id
    match params.operation:
        case "create":
            body = {"parent": {"database_id": params.database_id}, "properties": _properties(params, index)}
            return client.request(
                "POST", "/v1/pages", f"creating a page in database {params.database_id}", item_index=index, json=body
            )
        case "get":
            return client.request("GET", f"/v1/pages/{page}", f"getting page {page}", item_index=index)
        case "update":
            body = {"properties": _properties(params, index)}
            return client.request("PATCH", f"/v1/pages/{page}", f"updating page {page}", item_index=index, json=body)
        case "archive" | "restore":
            archive = params.operation == "archive"
            return client.request(
                "PATCH",
                f"/v1/pages/{page}",
                f"{'archiving' if archive else 'restoring'} page {page}",
                item_index=index,
                json={"archived": archive},
            )
    raise AssertionError(f"unhandled operation {params.operation!r}")
