"""Freshdesk Ticket: create, get, list, update, delete, reply to or add a note to Freshdesk tickets."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.freshdesk._client import FreshdeskClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete", "reply", "add_note"]
BY_ID = ("get", "update", "delete", "reply", "add_note")
WRITES = ("create", "update")
MESSAGES = ("reply", "add_note")
UNCHANGED = "unchanged"
PRIORITIES = {"low": 1, "medium": 2, "high": 3, "urgent": 4}
STATUSES = {"open": 2, "pending": 3, "resolved": 4, "closed": 5}
SOURCES = {"email": 1, "portal": 2, "phone": 3, "chat": 7, "feedback_widget": 9}
"""Freshdesk's numbers for each choice, as its API takes them."""


def _emails(value: Any) -> Any:
    """Addresses as a list, or as text separated by commas or spaces."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def _tags(value: Any) -> Any:
    """Tags as a list, or as text separated by commas (a tag may hold spaces)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


class FreshdeskTicketParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a ticket per item; get one; get_many: one item per ticket; update one; delete one (to "
        "the trash); reply to the requester; add_note: a private or public note.",
        no_expressions=True,
    )
    ticket_id: int = param(
        0,
        title="Ticket id",
        description="The number after # in Freshdesk.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    email: str = param(
        "",
        title="Requester email",
        description="Who asks; Freshdesk adds them as a contact when they are new.",
        placeholder="{{ $json.email }}",
        show_if={"operation": ["create"]},
    )
    requester_id: int = param(
        0,
        title="Requester id",
        description="An existing contact's id, instead of the email; 0: use the email.",
        show_if={"operation": ["create"]},
        ge=0,
    )
    requester_name: str = param(
        "",
        title="Requester name",
        description="The name a new contact gets.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    subject: str = param(
        "", title="Subject", description="update: empty keeps the current one.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="The ticket's first message, in HTML; update: empty keeps the current one.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    priority: Literal["unchanged", "low", "medium", "high", "urgent"] = param(
        UNCHANGED, title="Priority", description="create: unchanged means low.", show_if={"operation": WRITES}
    )
    status: Literal["unchanged", "open", "pending", "resolved", "closed"] = param(
        UNCHANGED, title="Status", description="create: unchanged means open.", show_if={"operation": WRITES}
    )
    source: Literal["portal", "email", "phone", "chat", "feedback_widget"] = param(
        "portal", title="Source", description="Where the ticket came from.", show_if={"operation": ["create"]}
    )
    ticket_type: str = param(
        "",
        title="Type",
        description="One of the helpdesk's ticket types (Admin → Ticket fields → Type): Question, Incident…",
        show_if={"operation": WRITES},
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="A list, or text separated by commas; update: replaces every tag (empty keeps them).",
        show_if={"operation": WRITES},
    )
    custom_fields: dict[str, Any] = param(
        default_factory=dict,
        title="Custom fields",
        description='The helpdesk\'s own ticket fields by API name, as JSON: {"cf_order_number": "1001"}.',
        widget="json",
        show_if={"operation": WRITES},
        advanced=True,
    )
    group_id: int = param(
        0, title="Group id", description="0: none (or unchanged).", show_if={"operation": WRITES}, advanced=True, ge=0
    )
    responder_id: int = param(
        0,
        title="Agent id",
        description="The agent to assign; 0: none (or unchanged).",
        show_if={"operation": WRITES},
        advanced=True,
        ge=0,
    )
    cc_emails: list[str] = param(
        default_factory=list,
        title="CC",
        description="Email addresses to copy, a list or text separated by commas.",
        show_if={"operation": ["create", "reply"]},
        advanced=True,
    )
    body: str = param(
        "",
        title="Message",
        description="In HTML.",
        widget="textarea",
        show_if={"operation": MESSAGES},
    )
    private: bool = param(
        True,
        title="Private note",
        description="On: only agents see the note; off: the requester sees it too.",
        show_if={"operation": ["add_note"]},
    )
    notify_emails: list[str] = param(
        default_factory=list,
        title="Notify agents",
        description="Agents' email addresses to tell about the note.",
        show_if={"operation": ["add_note"]},
        advanced=True,
    )
    list_filter: Literal["default", "new_and_my_open", "watching", "spam", "deleted"] = param(
        "default",
        title="Filter",
        description="default: tickets of the last 30 days, or those updated since the date below; the others are "
        "Freshdesk's predefined views.",
        show_if={"operation": ["get_many"]},
    )
    updated_since: str = param(
        "",
        title="Updated since",
        description="Only tickets updated at or after this moment (ISO 8601: 2026-01-31T09:00:00Z); it also "
        "reaches tickets older than 30 days.",
        show_if={"operation": ["get_many"], "list_filter": ["default"]},
    )
    order_by: Literal["created_at", "updated_at", "due_by", "status"] = param(
        "created_at", title="Sort by", show_if={"operation": ["get_many"]}, advanced=True
    )
    order_type: Literal["desc", "asc"] = param(
        "desc", title="Direction", show_if={"operation": ["get_many"]}, advanced=True
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

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return _tags(value)

    @field_validator("cc_emails", "notify_emails", mode="before")
    @classmethod
    def _email_list(cls, value: Any) -> Any:
        return _emails(value)

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            # Expressions and the JSON widget may hand the object over as text.
            try:
                return json.loads(value) if value.strip() else {}
            except ValueError as err:
                raise ValueError(f"the custom fields are not valid JSON ({err})") from err
        return value

    @field_validator("updated_since")
    @classmethod
    def _moment(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"'Updated since' is not an ISO 8601 date and time: {value!r}") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> FreshdeskTicketParameters:
        if self.operation in BY_ID and self.ticket_id < 1:
            raise ValueError(f"{self.operation} needs the ticket id")
        if self.operation == "create":
            if not self.email.strip() and not self.requester_id:
                raise ValueError("create needs the requester's email or id")
            if not self.subject.strip() or not self.description.strip():
                raise ValueError("create needs a subject and a description")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a field to change")
        if self.operation in MESSAGES and not self.body.strip():
            raise ValueError(f"{self.operation} needs the message")
        return self

    def changes(self) -> dict[str, Any]:
        """The ticket's fields to send, as Freshdesk names them; for create and update alike."""
        ticket: dict[str, Any] = {}
        if self.operation == "create":
            if self.requester_id:
                ticket["requester_id"] = self.requester_id
            else:
                ticket["email"] = self.email.strip()
            if self.requester_name.strip():
                ticket["name"] = self.requester_name.strip()
            ticket["source"] = SOURCES[self.source]
            # Freshdesk asks for a priority and a status on every new ticket.
            ticket["priority"] = PRIORITIES.get(self.priority, PRIORITIES["low"])
            ticket["status"] = STATUSES.get(self.status, STATUSES["open"])
            if self.cc_emails:
                ticket["cc_emails"] = self.cc_emails
        else:
            if self.priority != UNCHANGED:
                ticket["priority"] = PRIORITIES[self.priority]
            if self.status != UNCHANGED:
                ticket["status"] = STATUSES[self.status]
        if self.subject.strip():
            ticket["subject"] = self.subject.strip()
        if self.description.strip():
            ticket["description"] = self.description
        if self.ticket_type.strip():
            ticket["type"] = self.ticket_type.strip()
        if self.tags:
            ticket["tags"] = self.tags
        if self.custom_fields:
            ticket["custom_fields"] = self.custom_fields
        if self.group_id:
            ticket["group_id"] = self.group_id
        if self.responder_id:
            ticket["responder_id"] = self.responder_id
        return ticket

    def filters(self) -> dict[str, str]:
        """The list's query parameters: a predefined view, or the default list with an optional date."""
        query = {"order_by": self.order_by, "order_type": self.order_type}
        if self.list_filter != "default":
            query["filter"] = self.list_filter
        elif self.updated_since:
            query["updated_since"] = self.updated_since
        return query


class FreshdeskTicketNode(Node):
    type = "freshdesk.ticket"
    display_name = "Freshdesk Ticket"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, deletes, replies to or adds notes to Freshdesk tickets."
    icon = "life-buoy"
    Parameters = FreshdeskTicketParameters
    credentials = (CredentialRequirement("freshdesk_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with FreshdeskClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: FreshdeskTicketParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: FreshdeskClient, params: FreshdeskTicketParameters, index: int) -> list[dict[str, Any]]:
    number = params.ticket_id
    ticket = f"/tickets/{number}"
    match params.operation:
        case "create":
            return [client.request("POST", "/tickets", "creating a ticket", item_index=index, json=params.changes())]
        case "get":
            return [client.request("GET", ticket, f"getting ticket {number}", item_index=index)]
        case "get_many":
            return client.paginate(
                "/tickets",
                "listing tickets",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=params.filters(),
            )
        case "update":
            return [client.request("PUT", ticket, f"updating ticket {number}", item_index=index, json=params.changes())]
        case "delete":
            client.request("DELETE", ticket, f"deleting ticket {number}", item_index=index)
            return [{"id": number, "deleted": True}]
        case "reply":
            reply: dict[str, Any] = {"body": params.body}
            if params.cc_emails:
                reply["cc_emails"] = params.cc_emails
            return [
                client.request("POST", f"{ticket}/reply", f"replying to ticket {number}", item_index=index, json=reply)
            ]
        case "add_note":
            note: dict[str, Any] = {"body": params.body, "private": params.private}
            if params.notify_emails:
                note["notify_emails"] = params.notify_emails
            what = f"adding a note to ticket {number}"
            return [client.request("POST", f"{ticket}/notes", what, item_index=index, json=note)]
    raise AssertionError(f"unhandled operation {params.operation!r}")
