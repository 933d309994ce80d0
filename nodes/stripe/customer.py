"""Stripe Customer: create, get, list, update or delete the customers of a Stripe account."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.stripe._client import StripeClient, form, idempotency_key, path
from nodes.stripe._fields import Metadata, metadata_form

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
TEXT_FIELDS = ("email", "name", "phone", "description")


class StripeAddress(BaseModel):
    """A customer's postal address; empty parts are left out (on update, they keep their current value)."""

    model_config = ConfigDict(extra="forbid")

    line1: str = param("", title="Line 1", description="Street, PO box or company name.")
    line2: str = param("", title="Line 2", description="Apartment, suite, unit or building.")
    city: str = param("", title="City")
    state: str = param("", title="State, county or province")
    postal_code: str = param("", title="Postal code")
    country: str = param("", title="Country", description="Two-letter ISO code, e.g. US, DE.")

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        value = value.strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise ValueError("the country is a two-letter ISO code, such as US or DE")
        return value

    def fields(self) -> dict[str, str]:
        """The parts that were given, as Stripe's ``address[...]`` fields."""
        return {name: value.strip() for name, value in self.model_dump().items() if value.strip()}


class StripeCustomerParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a customer per item; get one by id; get_many: one item per customer, newest first; "
        "update one (only the fields given); delete one.",
        no_expressions=True,
    )
    customer_id: str = param(
        "",
        title="Customer id",
        description="The customer's id, cus_…",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    email: str = param(
        "", title="Email", description="update: empty keeps the current email.", show_if={"operation": WRITES}
    )
    name: str = param(
        "",
        title="Name",
        description="The customer's full name or business name; update: empty keeps the current one.",
        show_if={"operation": WRITES},
    )
    phone: str = param("", title="Phone", show_if={"operation": WRITES})
    description: str = param(
        "",
        title="Description",
        description="An internal note, shown in the Dashboard beside the customer.",
        show_if={"operation": WRITES},
    )
    address: StripeAddress = param(
        default_factory=StripeAddress, title="Address", show_if={"operation": WRITES}, advanced=True
    )
    metadata: Metadata = param(
        default_factory=list,
        title="Metadata",
        description="Keys and values to store on the customer (up to 50); update: given keys change, "
        "an empty value removes its key, other keys stay.",
        show_if={"operation": WRITES},
    )
    filter_email: str = param(
        "",
        title="Email is",
        description="Only customers with exactly this email (Stripe compares it case-sensitively); empty: all.",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' customers.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many customers per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    idempotency_key: str = param(
        "",
        title="Idempotency key",
        description="Stripe creates one customer per key, whatever repeats; empty: a key derived from the "
        "execution and the item, which makes retries of this run safe. Set one of your own (a sign-up id) "
        "to be safe across executions too.",
        show_if={"operation": ["create"]},
        advanced=True,
        max_length=255,
    )

    @model_validator(mode="after")
    def _needs(self) -> StripeCustomerParameters:
        if self.operation in BY_ID and not self.customer_id.strip():
            raise ValueError(f"{self.operation} needs the customer id (cus_…)")
        if self.operation == "update" and not _changes(self):
            raise ValueError("update needs at least one field to change")
        return self


def _changes(params: StripeCustomerParameters) -> dict[str, Any]:
    """The customer's fields that were given, as Stripe takes them."""
    given = {name: getattr(params, name).strip() for name in TEXT_FIELDS}
    body: dict[str, Any] = {name: value for name, value in given.items() if value}
    address = params.address.fields()
    if address:
        body["address"] = address
    metadata = metadata_form(params.metadata)
    if metadata:
        body["metadata"] = metadata
    return body


class StripeCustomerNode(Node):
    type = "stripe.customer"
    display_name = "Stripe Customer"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes Stripe customers."
    icon = "user-round"
    Parameters = StripeCustomerParameters
    credentials = (CredentialRequirement("stripe_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with StripeClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: StripeCustomerParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(ctx, client, params, index))
        return [produced]


def _run(ctx: Context, client: StripeClient, params: StripeCustomerParameters, index: int) -> list[dict[str, Any]]:
    customer_id = params.customer_id.strip()
    customer = path("customers", customer_id) if customer_id else ""
    match params.operation:
        case "create":
            body = form(_changes(params))
            key = idempotency_key(ctx, index, "POST /v1/customers", body, params.idempotency_key)
            return [
                client.request(
                    "POST", path("customers"), "creating a customer", item_index=index, body=body, idempotency_key=key
                )
            ]
        case "get":
            return [client.request("GET", customer, f"getting customer {customer_id}", item_index=index)]
        case "get_many":
            query = {"email": params.filter_email.strip()} if params.filter_email.strip() else {}
            return client.list_all(
                path("customers"),
                "listing customers",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            body = form(_changes(params))
            return [client.request("POST", customer, f"updating customer {customer_id}", item_index=index, body=body)]
        case "delete":
            return [client.request("DELETE", customer, f"deleting customer {customer_id}", item_index=index)]
    raise AssertionError(f"unhandled operation {params.operation!r}")
