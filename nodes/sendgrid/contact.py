"""SendGrid Contact: create or update, get, search by email, list or delete Marketing Campaigns contacts."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.email.credentials import parse_addresses
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.sendgrid._client import SendgridClient

CONTACTS = "/v3/marketing/contacts"
BY_ID = ("get", "delete")
MAX_SEARCH_EMAILS = 100
"""SendGrid looks up at most 100 addresses per search."""
RESERVED_FIELDS = frozenset(
    {
        "address_line_1",
        "address_line_2",
        "alternate_emails",
        "city",
        "country",
        "postal_code",
        "state_province_region",
        "phone_number",
        "whatsapp",
        "line",
        "facebook",
        "unique_name",
        "external_id",
        "anonymous_id",
    }
)
"""The contact fields SendGrid defines besides email and names; anything else is a custom field."""


class SendgridContactParameters(Parameters):
    operation: Literal["upsert", "get", "search_by_email", "get_many", "delete"] = param(
        "upsert",
        title="Operation",
        description="upsert: create the contact, or update the one with this email (SendGrid applies it a few "
        "seconds later and answers with a job id); get one by id; search_by_email: one item per contact found; "
        "get_many: one item per contact; delete one by id.",
        no_expressions=True,
    )
    email: str = param("", title="Email", placeholder="ada@example.com", show_if={"operation": ["upsert"]})
    first_name: str = param("", title="First name", show_if={"operation": ["upsert"]})
    last_name: str = param("", title="Last name", show_if={"operation": ["upsert"]})
    list_ids: list[str] = param(
        default_factory=list,
        title="List ids",
        description="Add the contact to these lists (Marketing → Contacts → the list's id), separated by commas.",
        show_if={"operation": ["upsert"]},
    )
    custom_fields: dict[str, Any] | str | None = param(
        None,
        title="Custom fields",
        description='Custom field ids and values as JSON: {"e1_T": "Gold"} (Marketing → Custom Fields shows the ids).',
        widget="json",
        show_if={"operation": ["upsert"]},
    )
    more_fields: dict[str, Any] | str | None = param(
        None,
        title="More fields",
        description='SendGrid\'s other contact fields as JSON: {"city": "Paris", "country": "France", '
        '"phone_number": "+33..."}.',
        widget="json",
        show_if={"operation": ["upsert"]},
        advanced=True,
    )
    contact_id: str = param(
        "",
        title="Contact id",
        description="The contact's id (a UUID), from get_many or search_by_email.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    emails: str = param(
        "",
        title="Emails",
        description="Up to 100 comma-separated addresses; addresses SendGrid does not know are skipped.",
        show_if={"operation": ["search_by_email"]},
    )
    query: str = param(
        "",
        title="Query",
        description="Only contacts matching this SGQL condition, e.g. email LIKE '%@example.com' AND "
        "first_name = 'Ada'; SendGrid answers a search with one page of matches. Empty: the contacts SendGrid "
        "lists, most recent first.",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' contacts.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many contacts per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("list_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [str(entry).strip() for entry in value if str(entry).strip()]
        return value

    @model_validator(mode="after")
    def _needs(self) -> SendgridContactParameters:
        self.custom_fields = _object(self.custom_fields, "custom fields")
        self.more_fields = _object(self.more_fields, "more fields")
        unknown = sorted(set(self.more_fields or {}) - RESERVED_FIELDS)
        if unknown:
            raise ValueError(
                f"more fields: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not SendGrid contact "
                f"fields (put custom fields under Custom fields); SendGrid's are {', '.join(sorted(RESERVED_FIELDS))}"
            )
        if self.operation == "upsert" and not self.email.strip():
            raise ValueError("upsert needs the contact's email")
        if self.operation in BY_ID and not self.contact_id.strip():
            raise ValueError(f"{self.operation} needs the contact id")
        if self.operation == "search_by_email":
            found = _emails(self.emails)
            if not found:
                raise ValueError("search_by_email needs at least one email address")
            if len(found) > MAX_SEARCH_EMAILS:
                raise ValueError(f"search_by_email takes at most {MAX_SEARCH_EMAILS} addresses, not {len(found)}")
        return self


def _object(value: dict[str, Any] | str | None, label: str) -> dict[str, Any] | None:
    """Expressions and the JSON widget may hand an object over as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the {label} are not valid JSON ({err})") from err
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"the {label} must be a JSON object")
    return value or None


def _emails(text: str) -> list[str]:
    """The bare addresses of a comma-separated list (names dropped); raises ValueError naming a bad entry."""
    return [address.lower() for _, address in parse_addresses(text)]


class SendgridContactNode(Node):
    type = "sendgrid.contact"
    display_name = "SendGrid Contact"
    category = Category.INTEGRATION
    description = "Creates or updates, gets, searches, lists or deletes SendGrid Marketing Campaigns contacts."
    icon = "contact"
    Parameters = SendgridContactParameters
    credentials = (CredentialRequirement("sendgrid_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with SendgridClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: SendgridContactParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: SendgridClient, params: SendgridContactParameters, index: int) -> list[dict[str, Any]]:
    contact_id = params.contact_id.strip()
    match params.operation:
        case "upsert":
            email = params.email.strip()
            contact: dict[str, Any] = {"email": email, **(params.more_fields or {})}
            for key, value in (("first_name", params.first_name), ("last_name", params.last_name)):
                if value.strip():
                    contact[key] = value.strip()
            if params.custom_fields:
                contact["custom_fields"] = params.custom_fields
            body: dict[str, Any] = {"contacts": [contact]}
            if params.list_ids:
                body["list_ids"] = params.list_ids
            answer = client.request("PUT", CONTACTS, f"saving the contact {email}", item_index=index, json=body)
            return [{"job_id": answer.get("job_id"), "email": email}]
        case "get":
            path = f"{CONTACTS}/{quote(contact_id, safe='')}"
            return [client.request("GET", path, f"getting contact {contact_id}", item_index=index)]
        case "search_by_email":
            emails = _emails(params.emails)
            answer = client.request(
                "POST",
                f"{CONTACTS}/search/emails",
                f"searching contacts by email ({', '.join(emails)})",
                item_index=index,
                json={"emails": emails},
                # SendGrid answers 404 when none of the addresses is a contact: nothing found.
                tolerate=(404,),
            )
            found = (answer or {}).get("result") or {}
            return [found[email]["contact"] for email in emails if "contact" in (found.get(email) or {})]
        case "get_many":
            limit = None if params.return_all else params.limit
            if params.query.strip():
                answer = client.request(
                    "POST",
                    f"{CONTACTS}/search",
                    "searching contacts",
                    item_index=index,
                    json={"query": params.query.strip()},
                )
                found = answer.get("result") or []
                return found if limit is None else found[:limit]
            return client.paginate(CONTACTS, "listing contacts", limit=limit, item_index=index)
        case "delete":
            answer = client.request(
                "DELETE", CONTACTS, f"deleting contact {contact_id}", item_index=index, params={"ids": contact_id}
            )
            return [{"job_id": answer.get("job_id"), "id": contact_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
