"""Notion Block: append text blocks to a page or block, or list a block's children."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.notion._client import PAGE_SIZE, NotionClient, notion_id
from nodes.notion._properties import plain_text, rich_text
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

BlockType = Literal[
    "paragraph", "heading_1", "heading_2", "heading_3", "to_do", "bulleted_list_item", "numbered_list_item"
]


class TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: BlockType = param("paragraph", title="Type")
    text: str = param("", title="Text", widget="textarea")
    checked: bool = param(False, title="Checked", description="For to_do blocks.", show_if={"type": ["to_do"]})

    def to_notion(self) -> dict[str, Any]:
        content: dict[str, Any] = {"rich_text": rich_text(self.text)}
        if self.type == "to_do":
            content["checked"] = self.checked
        return {"object": "block", "type": self.type, self.type: content}


class NotionBlockParameters(Parameters):
    operation: Literal["append", "list"] = param(
        "append",
        title="Operation",
        description="append blocks to a page or block; list: one item per child block.",
        no_expressions=True,
    )
    block_id: str = param(
        title="Page or block",
        description="The id or notion.so link of the page (or block) to append to or list.",
        placeholder="{{ $json.id }}",
        min_length=1,
    )
    blocks: list[TextBlock] = param(
        default_factory=list,
        title="Blocks",
        description="Appended in this order.",
        show_if={"operation": ["append"]},
    )
    after: str = param(
        "",
        title="After block",
        description="Insert after this child block (its id); empty: at the end.",
        show_if={"operation": ["append"]},
        advanced=True,
    )
    return_all: bool = param(
        True,
        title="Return all",
        description="Follow every page of children; otherwise stop after 'Limit' blocks.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many blocks per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )
    simplify: bool = param(
        False,
        title="Simplify",
        description="Output each block as its id, type, text, checked and has_children.",
        show_if={"operation": ["list"]},
    )

    @field_validator("block_id")
    @classmethod
    def _id(cls, value: str) -> str:
        return notion_id(value)

    @model_validator(mode="after")
    def _needs(self) -> NotionBlockParameters:
        if self.operation == "append" and not self.blocks:
            raise ValueError("append needs at least one block")
        if self.after.strip():
            self.after = notion_id(self.after)
        return self


def simplify_block(block: dict[str, Any]) -> dict[str, Any]:
    """A block as the fields people use: its text as plain text."""
    kind = str(block.get("type") or "")
    content = block.get(kind) if isinstance(block.get(kind), dict) else {}
    simple = {
        "id": block.get("id"),
        "type": kind,
        "text": plain_text(content.get("rich_text")),
        "has_children": bool(block.get("has_children")),
    }
    if "checked" in content:
        simple["checked"] = content["checked"]
    return simple


class NotionBlockNode(Node):
    type = "notion.block"
    display_name = "Notion Block"
    category = Category.INTEGRATION
    description = "Appends text blocks to a Notion page or block, or lists a block's children, per item."
    icon = "blocks"
    Parameters = NotionBlockParameters
    credentials = (CredentialRequirement("notion_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with NotionClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: NotionBlockParameters = ctx.params(index)
                if params.operation == "append":
                    found = _append(client, params, index)
                else:
                    found = client.paginate(
                        "GET",
                        f"/v1/blocks/{params.block_id}/children",
                        f"listing the children of {params.block_id}",
                        limit=None if params.return_all else params.limit,
                        item_index=index,
                    )
                    if params.simplify:
                        found = [simplify_block(block) for block in found]
                produced.extend(Item(block, paired_item=index) for block in found)
        return [produced]


def _append(client: NotionClient, params: NotionBlockParameters, index: int) -> list[dict[str, Any]]:
    """Append in requests of at most 100 blocks (Notion's limit), each batch after the one before."""
    created: list[dict[str, Any]] = []
    after = params.after
    blocks = [block.to_notion() for block in params.blocks]
    for start in range(0, len(blocks), PAGE_SIZE):
        body: dict[str, Any] = {"children": blocks[start : start + PAGE_SIZE]}
        if after:
            body["after"] = after
        answer = client.request(
            "PATCH",
            f"/v1/blocks/{params.block_id}/children",
            f"appending {len(body['children'])} block{'s' if len(body['children']) != 1 else ''} to {params.block_id}",
            item_index=index,
            json=body,
        )
        results = list(answer.get("results") or [])
        created.extend(results)
        if after and results:
            after = str(results[-1].get("id") or after)
    return created
