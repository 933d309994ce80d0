"""HubSpot Contact: create or update a contact by email, get, list, search or delete contacts."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.hubspot._client import HubspotClient, object_path
from nodes.hubspot._properties import OtherProperties, PropertyNames, properties_body
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeOutput,
    Parameters,
    number_as_text,
    param,
)

Operation = Literal["upsert", "get", "get_many", "search", "delete"]
FilterOperator = Literal[
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
]
NO_VALUE = ("HAS_PROPERTY", "NOT_HAS_PROPERTY")
WITH_VALUE = tuple(op for op in get_args(FilterOperator) if op not in NO_VALUE)
CONTACTS = "contacts"
BY_ID = ("get", "delete")
READS = ("get", "get_many", "search")
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
"""HubSpot's limits on one search's filters."""


class SearchFilter(BaseModel):
    """One condition on a property."""

    model_config = ConfigDict(extra="forbid")

    property: str = param(title="Property", description="The property's internal name, e.g. email, lifecyclestage.")
    operator: FilterOperator = param(
        "EQ",
        title="Operator",
        description="EQ equals, NEQ differs, LT/LTE/GT/GTE compare, BETWEEN is inclusive, IN/NOT_IN take values "
        "separated by commas, HAS_PROPERTY/NOT_HAS_PROPERTY test for a value, CONTAINS_TOKEN matches a word "
        "(* as wildcard).",
    )
    value: str = param(
        "",
        title="Value",
        description="Dates as milliseconds since 1970 or YYYY-MM-DD; IN/NOT_IN: values separated by commas.",
        show_if={"operator": WITH_VALUE},
    )
    high_value: str = param("", title="Up to", show_if={"operator": ["BETWEEN"]})

    @field_validator("value", "high_value", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return number_as_text(value)

    @model_validator(mode="after")
    def _complete(self) -> SearchFilter:
        self.property = self.property.strip()
        if not self.property:
            raise ValueError("a search filter needs the property's internal name")
        if self.operator not in NO_VALUE and not self.value.strip():
            raise ValueError(f"the filter on {self.property!r} ({self.operator}) needs a value")
        if self.operator == "BETWEEN" and not self.high_value.strip():
            raise ValueError(f"the BETWEEN filter on {self.property!r} needs the upper value too")
        return self

    def body(self) -> dict[str, Any]:
        """The filter as HubSpot's search takes it."""
        condition: dict[str, Any] = {"propertyName": self.property, "operator": self.operator}
        if self.operator in ("IN", "NOT_IN"):
            condition["values"] = [part.strip() for part in self.value.split(",") if part.strip()]
        elif self.operator not in NO_VALUE:
            condition["value"] = self.value.strip()
        if self.operator == "BETWEEN":
            condition["highValue"] = self.high_value.strip()
        return condition


class SearchFilterGroup(BaseModel):
    """Filters that must all match; a contact matching any one group is found."""

    model_config = ConfigDict(extra="forbid")

    filters: list[SearchFilter] = param(
        default_factory=list, title="Filters", description="Every one must match.", min_length=1
    )


class HubspotContactParameters(Parameters):
    operation: Operation = param(
        "upsert",
        title="Operation",
        description="upsert: update the contact with this email, or create it; get one by id or email; get_many: "
        "one item per contact; search with filters; delete one.",
        no_expressions=True,
    )
    contact_id: str = param(
        "",
        title="Contact id or email",
        description="The contact's id, or their email address (anything with an @ is looked up by email).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    email: str = param(
        "",
        title="Email",
        description="Finds the contact to update; a new contact gets it.",
        placeholder="{{ $json.email }}",
        show_if={"operation": ["upsert"]},
    )
    first_name: str = param("", title="First name", show_if={"operation": ["upsert"]})
    last_name: str = param("", title="Last name", show_if={"operation": ["upsert"]})
    phone: str = param("", title="Phone", show_if={"operation": ["upsert"]})
    company: str = param("", title="Company name", show_if={"operation": ["upsert"]})
    website: str = param("", title="Website", show_if={"operation": ["upsert"]}, advanced=True)
    job_title: str = param("", title="Job title", show_if={"operation": ["upsert"]}, advanced=True)
    lifecycle_stage: str = param(
        "",
        title="Lifecycle stage",
        description="An internal value: subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, "
        "customer, evangelist, other (or a custom stage's id). HubSpot only moves a stage forward.",
        show_if={"operation": ["upsert"]},
        advanced=True,
    )
    other_properties: OtherProperties = param(
        default_factory=list,
        title="Other properties",
        description="More properties by internal name, including custom ones; empty fields above are left "
        "unchanged, an empty value here clears its property.",
        show_if={"operation": ["upsert"]},
    )
    filter_groups: list[SearchFilterGroup] = param(
        default_factory=list,
        title="Filter groups",
        description="A contact is found when it matches every filter of at least one group (up to 5 groups, 6 "
        "filters each, 18 in all); none: every contact.",
        show_if={"operation": ["search"]},
    )
    query: str = param(
        "",
        title="Search text",
        description="Also match this text in the default searchable properties (name, email, phone, company).",
        show_if={"operation": ["search"]},
    )
    sort_property: str = param(
        "",
        title="Sort by",
        description="A property's internal name; empty: HubSpot's order.",
        show_if={"operation": ["search"]},
    )
    sort_direction: Literal["ASCENDING", "DESCENDING"] = param(
        "ASCENDING", title="Sort direction", show_if={"operation": ["search"]}
    )
    output_properties: PropertyNames = param(
        default_factory=list,
        title="Properties to return",
        description="Internal names (a list, or text separated by commas); empty: HubSpot's defaults "
        "(firstname, lastname, email, createdate, lastmodifieddate).",
        show_if={"operation": READS},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' contacts. A search returns at most 10,000.",
        show_if={"operation": ["get_many", "search"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many contacts per item.",
        show_if={"operation": ["get_many", "search"], "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> HubspotContactParameters:
        if self.operation in BY_ID and not self.contact_id.strip():
            raise ValueError(f"{self.operation} needs the contact's id or email")
        if self.operation == "upsert":
            if "@" not in self.email:
                raise ValueError("upsert needs the contact's email address")
            self.properties()
        if len(self.filter_groups) > MAX_FILTER_GROUPS:
            raise ValueError(f"HubSpot takes at most {MAX_FILTER_GROUPS} filter groups, not {len(self.filter_groups)}")
        if any(len(group.filters) > MAX_FILTERS_PER_GROUP for group in self.filter_groups):
            raise ValueError(f"HubSpot takes at most {MAX_FILTERS_PER_GROUP} filters in one group")
        if sum(len(group.filters) for group in self.filter_groups) > MAX_FILTERS:
            raise ValueError(f"HubSpot takes at most {MAX_FILTERS} filters in one search")
        return self

    def properties(self) -> dict[str, str]:
        """The contact's properties an upsert sends: the fields given, then the other properties."""
        named = {
            "email": self.email,
            "firstname": self.first_name,
            "lastname": self.last_name,
            "phone": self.phone,
            "company": self.company,
            "website": self.website,
            "jobtitle": self.job_title,
            "lifecyclestage": self.lifecycle_stage,
        }
        return properties_body(named, self.other_properties)


class HubspotContactNode(Node):
    type = "hubspot.contact"
    display_name = "HubSpot Contact"
    category = Category.INTEGRATION
    description = "Creates or updates HubSpot contacts by email, or gets, lists, searches or deletes them."
    icon = "contact"
    Parameters = HubspotContactParameters
    credentials = (CredentialRequirement("hubspot_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with HubspotClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: HubspotContactParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _lookup(contact: str) -> dict[str, str]:
    """The query that makes HubSpot read the path's id as an email when it is one."""
    return {"idProperty": "email"} if "@" in contact else {}


def _run(client: HubspotClient, params: HubspotContactParameters, index: int) -> list[dict[str, Any]]:
    contact = params.contact_id.strip()
    returned = {"properties": ",".join(params.output_properties)} if params.output_properties else {}
    match params.operation:
        case "upsert":
            return [_upsert(client, params, index)]
        case "get":
            return [
                client.request(
                    "GET",
                    object_path(CONTACTS, contact),
                    f"getting contact {contact}",
                    item_index=index,
                    params={**returned, **_lookup(contact)},
                )
            ]
        case "get_many":
            return client.list_all(
                object_path(CONTACTS),
                "listing contacts",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=returned,
            )
        case "search":
            body: dict[str, Any] = {
                "filterGroups": [{"filters": [f.body() for f in group.filters]} for group in params.filter_groups]
            }
            if params.query.strip():
                body["query"] = params.query.strip()
            if params.sort_property.strip():
                body["sorts"] = [{"propertyName": params.sort_property.strip(), "direction": params.sort_direction}]
            if params.output_properties:
                body["properties"] = params.output_properties
            return client.search(
                object_path(CONTACTS, "search"),
                body,
                "searching contacts",
                limit=None if params.return_all else params.limit,
                item_index=index,
            )
        case "delete":
            contact_id = contact
            if "@" in contact:
                # HubSpot deletes by id only: find the id behind the email first.
                found = client.request(
                    "GET",
                    object_path(CONTACTS, contact),
                    f"finding contact {contact}",
                    item_index=index,
                    params={"idProperty": "email", "properties": "email"},
                )
                contact_id = str(found["id"])
            client.request("DELETE", object_path(CONTACTS, contact_id), f"deleting contact {contact}", item_index=index)
            return [{"id": contact_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _upsert(client: HubspotClient, params: HubspotContactParameters, index: int) -> dict[str, Any]:
    """Update the contact with this email, or create it: HubSpot's v3 API has no single call for one contact.

    A PATCH by email (``idProperty=email``) answers 404 when nobody has the email yet; then the node
    creates the contact. Should another client create it in between, HubSpot answers the create with
    409 and the node updates the contact after all.
    """
    email = params.email.strip()
    properties = params.properties()
    by_email = object_path(CONTACTS, email)
    update = {"properties": properties}
    updated = client.request(
        "PATCH",
        by_email,
        f"updating contact {email}",
        item_index=index,
        params={"idProperty": "email"},
        json=update,
        tolerate=(404,),
    )
    if updated is not None:
        return updated
    created = client.request(
        "POST",
        object_path(CONTACTS),
        f"creating contact {email}",
        item_index=index,
        json={"properties": properties},
        tolerate=(409,),
    )
    if created is not None:
        return created
    return client.request(
        "PATCH", by_email, f"updating contact {email}", item_index=index, params={"idProperty": "email"}, json=update
    )
