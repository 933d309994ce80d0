"""Intercom Contact: create, get, search, update, delete or tag the contacts (users and leads) of a workspace."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.intercom._client import IntercomClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "search", "update", "delete", "add_tag"]
Operator = Literal["=", "!=", "IN", "NIN", ">", "<", "~", "!~", "^", "$"]
BY_ID = ("get", "update", "delete", "add_tag")
WRITES = ("create", "update")
LISTS = ("IN", "NIN")
UNCHANGED = "unchanged"


class Condition(BaseModel):
    """One condition of a search: a contact field, how to compare, and the value."""

    model_config = ConfigDict(extra="forbid")

    field: str = param(
        title="Field",
        description="A contact field (email, role, name, external_id, created_at, last_seen_at, tag_id…) or "
        "custom_attributes.<name>.",
    )
    operator: Operator = param(
        "=",
        title="Operator",
        description="= and != compare; IN/NIN: one of a list; > and < for numbers and dates; ~ and !~: contains; "
        "^ starts with; $ ends with.",
    )
    value: Any = param(
        title="Value",
        description="Dates as seconds since 1970 (Unix time); IN/NIN: a list, or values separated by commas.",
    )

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        self.field = self.field.strip()
        if not self.field:
            raise ValueError("a search condition needs a field")
        if self.operator in LISTS and isinstance(self.value, str):
            self.value = [part.strip() for part in self.value.split(",") if part.strip()]
        if self.operator in LISTS and not isinstance(self.value, list):
            self.value = [self.value]
        return self

    def body(self) -> dict[str, Any]:
        """The condition as Intercom's search takes it."""
        return {"field": self.field, "operator": self.operator, "value": self.value}


def _from_json(value: Any, what: str) -> Any:
    """Expressions and the JSON widget may hand a list or an object over as text."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the {what} are not valid JSON ({err})") from err
    return value


class IntercomContactParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a user or lead per item; get one; search: one item per match; update one; delete one; "
        "add_tag: tag one (the tag is created when missing).",
        no_expressions=True,
    )
    contact_id: str = param(
        "",
        title="Contact id",
        description="Intercom's id of the contact (the last part of its address in Intercom; a Create or Search "
        "output's id).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    role: Literal["user", "lead"] = param(
        "user",
        title="Role",
        description="user: a signed-up customer, identified by email or external id; lead: a visitor who left "
        "contact details.",
        show_if={"operation": ["create"]},
    )
    email: str = param("", title="Email", placeholder="{{ $json.email }}", show_if={"operation": WRITES})
    external_id: str = param(
        "",
        title="External id",
        description="The contact's id in your own system (users only).",
        show_if={"operation": WRITES},
    )
    name: str = param("", title="Name", show_if={"operation": WRITES})
    phone: str = param("", title="Phone", show_if={"operation": WRITES})
    custom_attributes: dict[str, Any] = param(
        default_factory=dict,
        title="Custom attributes",
        description='Data attributes defined in Intercom (Settings → Data → People), as JSON: {"plan": "pro"}.',
        widget="json",
        show_if={"operation": WRITES},
    )
    unsubscribed_from_emails: Literal["unchanged", "subscribed", "unsubscribed"] = param(
        UNCHANGED,
        title="Email subscription",
        description="unsubscribed: Intercom sends the contact no more marketing emails.",
        show_if={"operation": WRITES},
        advanced=True,
    )
    conditions: list[Condition] = param(
        default_factory=list,
        title="Conditions",
        description='What to find; an expression may give [{"field": "email", "operator": "~", "value": "@acme"}].',
        show_if={"operation": ["search"]},
    )
    combine: Literal["AND", "OR"] = param(
        "AND",
        title="Match",
        description="AND: every condition; OR: any of them.",
        show_if={"operation": ["search"]},
    )
    tag_name: str = param(
        "",
        title="Tag",
        description="The tag's name; Intercom creates it when the workspace has none by that name.",
        show_if={"operation": ["add_tag"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' contacts.",
        show_if={"operation": ["search"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many contacts per item.",
        show_if={"operation": ["search"], "return_all": [False]},
        ge=1,
    )

    @field_validator("custom_attributes", mode="before")
    @classmethod
    def _attributes(cls, value: Any) -> Any:
        return _from_json(value, "custom attributes") or {}

    @field_validator("conditions", mode="before")
    @classmethod
    def _condition_list(cls, value: Any) -> Any:
        value = _from_json(value, "conditions")
        return [value] if isinstance(value, dict) else (value or [])

    @model_validator(mode="after")
    def _needs(self) -> IntercomContactParameters:
        self.contact_id = self.contact_id.strip()
        if self.operation in BY_ID and not self.contact_id:
            raise ValueError(f"{self.operation} needs the contact id")
        if self.operation == "create" and self.role == "user" and not (self.email.strip() or self.external_id.strip()):
            raise ValueError("create needs an email or an external id for a user")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a field to change")
        if self.operation == "search" and not self.conditions:
            raise ValueError("search needs at least one condition")
        if self.operation == "add_tag" and not self.tag_name.strip():
            raise ValueError("add_tag needs the tag's name")
        return self

    def changes(self) -> dict[str, Any]:
        """The contact's fields to send, as Intercom names them; for create and update alike."""
        contact: dict[str, Any] = {"role": self.role} if self.operation == "create" else {}
        for name in ("email", "external_id", "name", "phone"):
            value = str(getattr(self, name)).strip()
            if value:
                contact[name] = value
        if self.custom_attributes:
            contact["custom_attributes"] = self.custom_attributes
        if self.unsubscribed_from_emails != UNCHANGED:
            contact["unsubscribed_from_emails"] = self.unsubscribed_from_emails == "unsubscribed"
        return contact

    def query(self) -> dict[str, Any]:
        """The search query: one condition as is, several combined with AND or OR."""
        if len(self.conditions) == 1:
            return self.conditions[0].body()
        return {"operator": self.combine, "value": [condition.body() for condition in self.conditions]}


class IntercomContactNode(Node):
    type = "intercom.contact"
    display_name = "Intercom Contact"
    category = Category.INTEGRATION
    description = "Creates, gets, searches, updates, tags or deletes Intercom contacts (users and leads)."
    icon = "contact"
    Parameters = IntercomContactParameters
    credentials = (CredentialRequirement("intercom_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with IntercomClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: IntercomContactParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: IntercomClient, params: IntercomContactParameters, index: int) -> list[dict[str, Any]]:
    contact_id = params.contact_id
    contact = f"/contacts/{quote(contact_id, safe='')}"
    match params.operation:
        case "create":
            what = f"creating a {params.role}"
            return [client.request("POST", "/contacts", what, item_index=index, json=params.changes())]
        case "get":
            return [client.request("GET", contact, f"getting contact {contact_id}", item_index=index)]
        case "search":
            return client.search(
                "/contacts/search",
                params.query(),
                "searching contacts",
                limit=None if params.return_all else params.limit,
                item_index=index,
            )
        case "update":
            what = f"updating contact {contact_id}"
            return [client.request("PUT", contact, what, item_index=index, json=params.changes())]
        case "delete":
            return [client.request("DELETE", contact, f"deleting contact {contact_id}", item_index=index)]
        case "add_tag":
            name = params.tag_name.strip()
            # Creating a tag that exists returns the existing one: one call finds or makes its id.
            tag = client.request(
                "POST", "/tags", f"finding or creating the tag {name!r}", item_index=index, json={"name": name}
            )
            attached = client.request(
                "POST",
                f"{contact}/tags",
                f"tagging contact {contact_id} with {name!r}",
                item_index=index,
                json={"id": str(tag.get("id"))},
            )
            return [{"contact_id": contact_id, "tag": attached}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
