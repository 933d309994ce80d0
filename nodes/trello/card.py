"""Trello Card: create, get, list, update, delete or comment on the cards of Trello lists."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.trello._client import TrelloClient, card_path

Operation = Literal["create", "get", "get_many", "update", "delete", "add_comment"]
BY_ID = ("get", "update", "delete", "add_comment")
WRITES = ("create", "update")


class TrelloCardParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a card per item; get one; get_many: one item per open card of a list; update one "
        "(rename, move, archive...); delete one for good; add_comment to one.",
        no_expressions=True,
    )
    card_id: str = param(
        "",
        title="Card id",
        description="The card's id, or the short id in its link (trello.com/c/<short id>).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    list_id: str = param(
        "",
        title="List id",
        description="create and get_many: the list (required); update: move the card to this list, empty keeps it.",
        show_if={"operation": ["create", "get_many", "update"]},
    )
    name: str = param(
        "", title="Name", description="update: empty keeps the current name.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="In Markdown; update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    due: str = param(
        "",
        title="Due",
        description="The due date and time, ISO 8601 (2026-12-31T17:00:00Z); update: empty keeps the current one.",
        placeholder="2026-12-31T17:00:00Z",
        show_if={"operation": WRITES},
    )
    due_complete: Literal["unchanged", "complete", "incomplete"] = param(
        "unchanged",
        title="Due date done",
        description="Mark the due date complete or not.",
        show_if={"operation": WRITES},
    )
    label_ids: list[str] = param(
        default_factory=list,
        title="Label ids",
        description="Ids of the board's labels (a list, or text separated by commas); update: empty keeps the "
        "current labels, otherwise they replace them.",
        show_if={"operation": WRITES},
    )
    position: str = param(
        "",
        title="Position",
        description="top, bottom, or a positive number; empty: bottom on create, unchanged on update.",
        placeholder="top",
        show_if={"operation": WRITES},
    )
    archive: Literal["unchanged", "archive", "unarchive"] = param(
        "unchanged",
        title="Archive",
        description="Archive the card (closed), or bring it back.",
        show_if={"operation": ["update"]},
    )
    comment: str = param(
        "",
        title="Comment",
        description="In Markdown.",
        widget="textarea",
        show_if={"operation": ["add_comment"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Every open card of the list; otherwise the first 'Limit' cards, top to bottom.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many cards per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("label_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("position")
    @classmethod
    def _position(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("", "top", "bottom"):
            return value
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if number <= 0:
            raise ValueError("the position is top, bottom or a positive number")
        return value

    @model_validator(mode="after")
    def _needs(self) -> TrelloCardParameters:
        if self.operation in BY_ID and not self.card_id.strip():
            raise ValueError(f"{self.operation} needs the card id")
        if self.operation in ("create", "get_many") and not self.list_id.strip():
            raise ValueError(f"{self.operation} needs the list id")
        if self.operation == "create" and not self.name.strip():
            raise ValueError("create needs a name")
        if self.operation == "update" and not _fields(self):
            raise ValueError("update needs at least one field to change")
        if self.operation == "add_comment" and not self.comment.strip():
            raise ValueError("add_comment needs the comment's text")
        return self


class TrelloCardNode(Node):
    type = "trello.card"
    display_name = "Trello Card"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, deletes or comments on Trello cards."
    icon = "square-kanban"
    Parameters = TrelloCardParameters
    credentials = (CredentialRequirement("trello_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with TrelloClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: TrelloCardParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _fields(params: TrelloCardParameters) -> dict[str, Any]:
    """The card fields given, by Trello's names; empty ones are left out so an update keeps them."""
    fields: dict[str, Any] = {}
    if params.name.strip():
        fields["name"] = params.name.strip()
    if params.description.strip():
        fields["desc"] = params.description
    if params.due.strip():
        fields["due"] = params.due.strip()
    if params.due_complete != "unchanged":
        fields["dueComplete"] = params.due_complete == "complete"
    if params.label_ids:
        fields["idLabels"] = ",".join(params.label_ids)
    if params.position:
        fields["pos"] = params.position
    if params.operation == "update":
        if params.list_id.strip():
            fields["idList"] = params.list_id.strip()
        if params.archive != "unchanged":
            fields["closed"] = params.archive == "archive"
    return fields


def _run(client: TrelloClient, params: TrelloCardParameters, index: int) -> list[dict[str, Any]]:
    card_id = params.card_id.strip()
    list_id = params.list_id.strip()
    match params.operation:
        case "create":
            body = {"idList": list_id, **_fields(params)}
            action = f"creating a card in list {list_id}"
            return [client.request("POST", "/1/cards", action, item_index=index, json=body)]
        case "get":
            return [client.request("GET", card_path(card_id), f"getting card {card_id}", item_index=index)]
        case "get_many":
            # Trello answers a list's open cards in one response, top to bottom: there is no page to follow.
            cards = client.request(
                "GET",
                f"/1/lists/{quote(list_id, safe='')}/cards",
                f"listing the cards of list {list_id}",
                item_index=index,
            )
            return cards if params.return_all else cards[: params.limit]
        case "update":
            action = f"updating card {card_id}"
            return [client.request("PUT", card_path(card_id), action, item_index=index, json=_fields(params))]
        case "delete":
            client.request("DELETE", card_path(card_id), f"deleting card {card_id}", item_index=index)
            return [{"id": card_id, "deleted": True}]
        case "add_comment":
            return [
                client.request(
                    "POST",
                    card_path(card_id, "actions", "comments"),
                    f"commenting on card {card_id}",
                    item_index=index,
                    json={"text": params.comment},
                )
            ]
    raise AssertionError(f"unhandled operation {params.operation!r}")
