"""Zendesk Ticket: create, get, list, update (and comment on) or delete Zendesk Support tickets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.zendesk._client import ZendeskClient

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
UNCHANGED = "unchanged"


class CustomField(BaseModel):
    """A value of a ticket field of the account's own (Admin Center → Objects and rules → Tickets → Fields)."""

    model_config = ConfigDict(extra="forbid")

    id: int = param(title="Field id", description="The field's id, shown in its settings.", ge=1)
    value: Any = param(
        "",
        title="Value",
        description="Text, a number, true/false, a drop-down option's tag, or a list of tags for a multi-select.",
    )


def _names(value: Any) -> Any:
    """Tags as a list, or as text separated by commas or spaces (Zendesk tags hold neither)."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


class ZendeskTicketParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a ticket per item; get one; get_many: one item per ticket; update one, optionally "
        "adding a public reply or an internal note; delete one.",
        no_expressions=True,
    )
    ticket_id: int = param(
        0,
        title="Ticket id",
        description="The number after # in Zendesk.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    subject: str = param(
        "", title="Subject", description="update: empty keeps the current one.", show_if={"operation": WRITES}
    )
    comment: str = param(
        "",
        title="Comment",
        description="create: the ticket's first comment, its description; update: a comment to add (empty: none).",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    public_comment: bool = param(
        True,
        title="Public comment",
        description="On: the requester sees the comment (a public reply); off: an internal note for agents only.",
        show_if={"operation": WRITES},
    )
    requester_email: str = param(
        "",
        title="Requester email",
        description="Who asks; Zendesk adds them as an end user when they are new. Empty: the credential's agent.",
        placeholder="{{ $json.email }}",
        show_if={"operation": ["create"]},
    )
    requester_name: str = param(
        "",
        title="Requester name",
        description="The name a new end user gets; empty: the part of the email before the @.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    status: Literal["unchanged", "new", "open", "pending", "hold", "solved"] = param(
        UNCHANGED,
        title="Status",
        description="create: unchanged means new (open once an agent is assigned).",
        show_if={"operation": WRITES},
    )
    priority: Literal["unchanged", "low", "normal", "high", "urgent"] = param(
        UNCHANGED, title="Priority", show_if={"operation": WRITES}
    )
    ticket_type: Literal["unchanged", "question", "incident", "problem", "task"] = param(
        UNCHANGED, title="Type", show_if={"operation": WRITES}
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="A list, or text separated by commas; update: replaces every tag (empty keeps them).",
        show_if={"operation": WRITES},
    )
    add_tags: list[str] = param(
        default_factory=list,
        title="Add tags",
        description="Tags to add, keeping the others.",
        show_if={"operation": ["update"]},
        advanced=True,
    )
    remove_tags: list[str] = param(
        default_factory=list,
        title="Remove tags",
        description="Tags to take off, keeping the others.",
        show_if={"operation": ["update"]},
        advanced=True,
    )
    custom_fields: list[CustomField] = param(
        default_factory=list,
        title="Custom fields",
        description='Values of the account\'s own ticket fields; an expression may give {"<field id>": value}.',
        show_if={"operation": WRITES},
        advanced=True,
    )
    status_filter: Literal["any", "new", "open", "pending", "hold", "solved", "closed"] = param(
        "any",
        title="Status is",
        description="any: every ticket, oldest first. A status searches instead, which finds new tickets only "
        "a minute or two after they are made.",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' tickets.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many tickets per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("tags", "add_tags", "remove_tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _fields_from_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError as err:
                raise ValueError(f"the custom fields are not valid JSON ({err})") from err
        if isinstance(value, Mapping):
            return [{"id": field_id, "value": inner} for field_id, inner in value.items()]
        return value

    @model_validator(mode="after")
    def _needs(self) -> ZendeskTicketParameters:
        if self.operation in BY_ID and self.ticket_id < 1:
            raise ValueError(f"{self.operation} needs the ticket id")
        if self.operation == "create" and not self.comment.strip():
            raise ValueError("create needs a comment: it becomes the ticket's description")
        if self.operation == "create" and self.requester_email.strip() and "@" not in self.requester_email:
            raise ValueError("the requester email is not an email address")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a field to change or a comment to add")
        return self

    def changes(self) -> dict[str, Any]:
        """The ticket's fields to send, as Zendesk names them; for create and update alike."""
        ticket: dict[str, Any] = {}
        if self.subject.strip():
            ticket["subject"] = self.subject.strip()
        if self.comment.strip():
            ticket["comment"] = {"body": self.comment, "public": self.public_comment}
        for name, value in (("status", self.status), ("priority", self.priority), ("type", self.ticket_type)):
            if value != UNCHANGED:
                ticket[name] = value
        if self.tags:
            ticket["tags"] = self.tags
        if self.operation == "update" and self.add_tags:
            ticket["additional_tags"] = self.add_tags
        if self.operation == "update" and self.remove_tags:
            ticket["remove_tags"] = self.remove_tags
        if self.custom_fields:
            ticket["custom_fields"] = [{"id": entry.id, "value": entry.value} for entry in self.custom_fields]
        if self.operation == "create" and self.requester_email.strip():
            email = self.requester_email.strip()
            ticket["requester"] = {"email": email, "name": self.requester_name.strip() or email.split("@")[0]}
        return ticket


class ZendeskTicketNode(Node):
    type = "zendesk.ticket"
    display_name = "Zendesk Ticket"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, comments on or deletes Zendesk Support tickets."
    icon = "ticket"
    Parameters = ZendeskTicketParameters
    credentials = (CredentialRequirement("zendesk_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with ZendeskClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: ZendeskTicketParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: ZendeskClient, params: ZendeskTicketParameters, index: int) -> list[dict[str, Any]]:
    number = params.ticket_id
    ticket = f"/tickets/{number}.json"
    limit = None if params.return_all else params.limit
    match params.operation:
        case "create":
            answer = client.request(
                "POST", "/tickets.json", "creating a ticket", item_index=index, json={"ticket": params.changes()}
            )
            return [answer.get("ticket") or answer]
        case "get":
            answer = client.request("GET", ticket, f"getting ticket {number}", item_index=index)
            return [answer.get("ticket") or answer]
        case "get_many":
            if params.status_filter == "any":
                return client.paginate("/tickets.json", "tickets", "listing tickets", limit=limit, item_index=index)
            # The tickets list has no status filter; the search export does, with the same cursor paging.
            return client.paginate(
                "/search/export.json",
                "results",
                f"listing {params.status_filter} tickets",
                limit=limit,
                item_index=index,
                params={"query": f"status:{params.status_filter}", "filter[type]": "ticket"},
            )
        case "update":
            answer = client.request(
                "PUT", ticket, f"updating ticket {number}", item_index=index, json={"ticket": params.changes()}
            )
            return [answer.get("ticket") or answer]
        case "delete":
            client.request("DELETE", ticket, f"deleting ticket {number}", item_index=index)
            return [{"id": number, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
