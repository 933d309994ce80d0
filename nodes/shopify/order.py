"""Shopify Order: create, get, list, update or delete the orders of a Shopify shop."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeOutput,
    Parameters,
    TextFields,
    number_as_text,
    param,
)
from nodes.shopify._client import ShopifyClient, names

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")


def _from_json(value: Any, what: str) -> Any:
    """Expressions and the JSON widget may hand a list or an object over as text."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the {what} are not valid JSON ({err})") from err
    return value


class LineItem(BaseModel):
    """One line of a new order: a variant of the shop's products, or a custom item with a title and a price."""

    model_config = ConfigDict(extra="forbid")

    variant_id: int = param(
        0,
        title="Variant id",
        description="A product variant's id (a product's variants list it); 0: a custom item with the title and "
        "price below.",
        ge=0,
    )
    title: str = param("", title="Title", description="A custom item's name.")
    price: str = param("", title="Price", description="A custom item's unit price in the shop's currency: 19.99.")
    quantity: int = param(1, title="Quantity", ge=1)

    @field_validator("price", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return number_as_text(value)

    @model_validator(mode="after")
    def _variant_or_custom(self) -> LineItem:
        if self.variant_id:
            return self
        if not self.title.strip() or not self.price.strip():
            raise ValueError("a line item needs a variant id, or a title and a price for a custom item")
        try:
            Decimal(self.price.strip())
        except InvalidOperation as err:
            raise ValueError(f"the price {self.price!r} of {self.title!r} is not a number such as 19.99") from err
        return self

    def body(self) -> dict[str, Any]:
        """The line item as Shopify takes it."""
        if self.variant_id:
            return {"variant_id": self.variant_id, "quantity": self.quantity}
        return {"title": self.title.strip(), "price": self.price.strip(), "quantity": self.quantity}


class Address(TextFields):
    """A shipping address; empty fields are left out (on update: left as they are)."""

    first_name: str = param("", title="First name")
    last_name: str = param("", title="Last name")
    company: str = param("", title="Company")
    address1: str = param("", title="Street address")
    address2: str = param("", title="Address line 2")
    city: str = param("", title="City")
    province: str = param("", title="State or province")
    zip: str = param("", title="Postal code")
    country: str = param("", title="Country", description="The country's name or its ISO code: DE, United States.")
    phone: str = param("", title="Phone")


class ShopifyOrderParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an order per item; get one; get_many: one item per order; update one's note, tags, "
        "email or shipping address; delete one (Shopify keeps orders paid through an online gateway).",
        no_expressions=True,
    )
    order_id: int = param(
        0,
        title="Order id",
        description="The number at the end of the order's address in the Shopify admin (not its name, #1001).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    line_items: list[LineItem] = param(
        default_factory=list,
        title="Line items",
        description='What the order holds; an expression may give [{"variant_id": 123, "quantity": 2}].',
        show_if={"operation": ["create"]},
    )
    email: str = param(
        "",
        title="Email",
        description="The customer's email address, for the receipt; update: empty keeps the current one.",
        placeholder="{{ $json.email }}",
        show_if={"operation": WRITES},
    )
    customer_id: int = param(
        0,
        title="Customer id",
        description="An existing customer; 0: Shopify finds the customer by the email, or creates one with the "
        "names below.",
        show_if={"operation": ["create"]},
        ge=0,
    )
    first_name: str = param("", title="Customer first name", show_if={"operation": ["create"]}, advanced=True)
    last_name: str = param("", title="Customer last name", show_if={"operation": ["create"]}, advanced=True)
    financial_status: Literal[
        "default", "pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided"
    ] = param(
        "default",
        title="Financial status",
        description="default: send none and let Shopify set it.",
        show_if={"operation": ["create"]},
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="A list, or text separated by commas; update: replaces every tag (empty keeps them).",
        show_if={"operation": WRITES},
    )
    note: str = param(
        "",
        title="Note",
        description="A note for the shop's staff; update: empty keeps the current one.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    shipping_address: Address | None = param(
        None,
        title="Shipping address",
        description="Where the order goes; update: only the fields given change.",
        show_if={"operation": WRITES},
    )
    send_receipt: bool = param(
        False,
        title="Send receipt",
        description="Email the customer an order confirmation.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    inventory_behaviour: Literal["bypass", "decrement_ignoring_policy", "decrement_obeying_policy"] = param(
        "bypass",
        title="Inventory",
        description="bypass: leave stock as it is; decrement_ignoring_policy: take the items off stock; "
        "decrement_obeying_policy: take them off, and refuse the order when the product may not be oversold.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    status_filter: Literal["open", "closed", "cancelled", "any"] = param(
        "open", title="Status", show_if={"operation": ["get_many"]}
    )
    financial_status_filter: Literal[
        "any", "authorized", "pending", "paid", "partially_paid", "refunded", "voided", "partially_refunded", "unpaid"
    ] = param("any", title="Financial status", show_if={"operation": ["get_many"]})
    fulfillment_status_filter: Literal["any", "shipped", "partial", "unshipped", "unfulfilled"] = param(
        "any",
        title="Fulfillment status",
        description="unfulfilled: not yet shipped at all or only in part.",
        show_if={"operation": ["get_many"]},
    )
    created_at_min: str = param(
        "",
        title="Created after",
        description="Only orders created at or after this moment (ISO 8601: 2026-01-31T09:00:00+01:00).",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' orders.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many orders per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return names(value)

    @field_validator("line_items", mode="before")
    @classmethod
    def _line_items(cls, value: Any) -> Any:
        value = _from_json(value, "line items")
        return [value] if isinstance(value, dict) else (value or [])

    @field_validator("shipping_address", mode="before")
    @classmethod
    def _address(cls, value: Any) -> Any:
        return _from_json(value, "shipping address fields")

    @field_validator("created_at_min")
    @classmethod
    def _moment(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"'Created after' is not an ISO 8601 date and time: {value!r}") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> ShopifyOrderParameters:
        if self.operation in BY_ID and self.order_id < 1:
            raise ValueError(f"{self.operation} needs the order id")
        if self.operation == "create" and not self.line_items:
            raise ValueError("create needs at least one line item")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a note, tags, an email or a shipping address to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The order's fields to send, as Shopify names them; for create and update alike."""
        order: dict[str, Any] = {}
        if self.operation == "create":
            order["line_items"] = [line.body() for line in self.line_items]
            customer = self._customer()
            if customer:
                order["customer"] = customer
            if self.financial_status != "default":
                order["financial_status"] = self.financial_status
            order["send_receipt"] = self.send_receipt
            order["inventory_behaviour"] = self.inventory_behaviour
        if self.email.strip():
            order["email"] = self.email.strip()
        if self.tags:
            order["tags"] = ", ".join(self.tags)
        if self.note.strip():
            order["note"] = self.note
        address = self.shipping_address.given() if self.shipping_address else {}
        if address:
            order["shipping_address"] = address
        return order

    def _customer(self) -> dict[str, Any]:
        if self.customer_id:
            return {"id": self.customer_id}
        customer = {"first_name": self.first_name.strip(), "last_name": self.last_name.strip()}
        if self.email.strip():
            customer["email"] = self.email.strip()
        return {name: value for name, value in customer.items() if value}

    def filters(self) -> dict[str, str]:
        """The list's query parameters, leaving out those that filter nothing."""
        query = {"status": self.status_filter}
        if self.financial_status_filter != "any":
            query["financial_status"] = self.financial_status_filter
        if self.fulfillment_status_filter != "any":
            query["fulfillment_status"] = self.fulfillment_status_filter
        if self.created_at_min:
            query["created_at_min"] = self.created_at_min
        return query


class ShopifyOrderNode(Node):
    type = "shopify.order"
    display_name = "Shopify Order"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes the orders of a Shopify shop."
    icon = "shopping-cart"
    Parameters = ShopifyOrderParameters
    credentials = (CredentialRequirement("shopify_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with ShopifyClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: ShopifyOrderParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: ShopifyClient, params: ShopifyOrderParameters, index: int) -> list[dict[str, Any]]:
    number = params.order_id
    order = f"/orders/{number}.json"
    match params.operation:
        case "create":
            answer = client.request(
                "POST", "/orders.json", "creating an order", item_index=index, json={"order": params.changes()}
            )
            return [answer.get("order") or answer]
        case "get":
            return [client.request("GET", order, f"getting order {number}", item_index=index).get("order") or {}]
        case "get_many":
            return client.paginate(
                "/orders.json",
                "orders",
                "listing orders",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=params.filters(),
            )
        case "update":
            body = {"order": {"id": number, **params.changes()}}
            answer = client.request("PUT", order, f"updating order {number}", item_index=index, json=body)
            return [answer.get("order") or answer]
        case "delete":
            client.request("DELETE", order, f"deleting order {number}", item_index=index)
            return [{"id": number, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
