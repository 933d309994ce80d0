"""WooCommerce Order: create, get, list, update (and add a note to) or delete the orders of a WooCommerce store."""

from __future__ import annotations

import json
from datetime import datetime
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
    param,
)
from nodes.woocommerce._client import WoocommerceClient

Operation = Literal["create", "get", "get_many", "update", "delete"]
Status = Literal["pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
UNCHANGED = "unchanged"


def _from_json(value: Any, what: str) -> Any:
    """Expressions and the JSON widget may hand a list or an object over as text."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the {what} are not valid JSON ({err})") from err
    return value


class LineItem(BaseModel):
    """One product of a new order, at the store's price."""

    model_config = ConfigDict(extra="forbid")

    product_id: int = param(title="Product id", description="Products → hover the product: ID.", ge=1)
    variation_id: int = param(
        0, title="Variation id", description="For a variable product, the variation's id; 0: none.", ge=0
    )
    quantity: int = param(1, title="Quantity", ge=1)

    def body(self) -> dict[str, int]:
        """The line as WooCommerce takes it."""
        line = {"product_id": self.product_id, "quantity": self.quantity}
        if self.variation_id:
            line["variation_id"] = self.variation_id
        return line


class ShippingAddress(TextFields):
    """An address; empty fields are left out (on update: left as they are)."""

    first_name: str = param("", title="First name")
    last_name: str = param("", title="Last name")
    company: str = param("", title="Company")
    address_1: str = param("", title="Street address")
    address_2: str = param("", title="Address line 2")
    city: str = param("", title="City")
    state: str = param("", title="State", description="The state's code: CA, or a county's name.")
    postcode: str = param("", title="Postcode")
    country: str = param("", title="Country", description="The ISO code: US, DE.")
    phone: str = param("", title="Phone")


class BillingAddress(ShippingAddress):
    """The billing address, which also holds the email address WooCommerce sends the order's emails to."""

    email: str = param("", title="Email")


class WoocommerceOrderParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an order per item; get one; get_many: one item per order, newest first; update one "
        "(and optionally add a note to it); delete one.",
        no_expressions=True,
    )
    order_id: int = param(
        0,
        title="Order id",
        description="The number after # in WooCommerce → Orders.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    status: Literal["unchanged", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"] = (
        param(
            UNCHANGED,
            title="Status",
            description="create: unchanged means pending payment. Changing the status sends the emails "
            "WooCommerce sends for it.",
            show_if={"operation": WRITES},
        )
    )
    line_items: list[LineItem] = param(
        default_factory=list,
        title="Line items",
        description='The products ordered; an expression may give [{"product_id": 93, "quantity": 2}].',
        show_if={"operation": ["create"]},
    )
    customer_id: int = param(
        0,
        title="Customer id",
        description="A registered customer's user id; 0: a guest order.",
        show_if={"operation": ["create"]},
        ge=0,
    )
    billing: BillingAddress | None = param(
        None,
        title="Billing address",
        description="update: only the fields given change.",
        show_if={"operation": WRITES},
    )
    shipping: ShippingAddress | None = param(
        None,
        title="Shipping address",
        description="update: only the fields given change.",
        show_if={"operation": WRITES},
    )
    set_paid: bool = param(
        False,
        title="Mark as paid",
        description="Record the payment now: the order becomes processing and stock is reduced.",
        show_if={"operation": ["create"]},
    )
    payment_method: str = param(
        "",
        title="Payment method id",
        description="The gateway's id: bacs, cheque, cod, stripe…",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    payment_method_title: str = param(
        "",
        title="Payment method title",
        description="What the customer sees: Direct bank transfer.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    customer_note: str = param(
        "",
        title="Customer's note",
        description="The note the customer left with the order; update: empty keeps the current one.",
        widget="textarea",
        show_if={"operation": WRITES},
        advanced=True,
    )
    note: str = param(
        "",
        title="Add a note",
        description="An order note to add (POST /orders/<id>/notes); empty: none. Output under added_note.",
        widget="textarea",
        show_if={"operation": ["update"]},
    )
    note_to_customer: bool = param(
        False,
        title="Note to customer",
        description="On: WooCommerce emails the note to the customer; off: a private note for the shop's staff.",
        show_if={"operation": ["update"]},
    )
    status_filter: Literal[
        "any", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"
    ] = param("any", title="Status is", show_if={"operation": ["get_many"]})
    customer_filter: int = param(
        0,
        title="Customer id is",
        description="Only this customer's orders; 0: everyone's.",
        show_if={"operation": ["get_many"]},
        ge=0,
    )
    after: str = param(
        "",
        title="Created after",
        description="Only orders created after this moment (ISO 8601: 2026-01-31T09:00:00), in the store's time zone.",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Read every page; otherwise stop after 'Limit' orders.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many orders per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    force: bool = param(
        True,
        title="Delete permanently",
        description="On: delete the order for good; off: move it to the bin, where it can be restored.",
        show_if={"operation": ["delete"]},
    )

    @field_validator("line_items", mode="before")
    @classmethod
    def _line_items(cls, value: Any) -> Any:
        value = _from_json(value, "line items")
        return [value] if isinstance(value, dict) else (value or [])

    @field_validator("billing", "shipping", mode="before")
    @classmethod
    def _address(cls, value: Any) -> Any:
        return _from_json(value, "address fields")

    @field_validator("after")
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
    def _needs(self) -> WoocommerceOrderParameters:
        if self.operation in BY_ID and self.order_id < 1:
            raise ValueError(f"{self.operation} needs the order id")
        if self.operation == "create" and not self.line_items:
            raise ValueError("create needs at least one line item")
        if self.operation == "update" and not self.changes() and not self.note.strip():
            raise ValueError("update needs a field to change or a note to add")
        return self

    def changes(self) -> dict[str, Any]:
        """The order's fields to send, as WooCommerce names them; for create and update alike."""
        order: dict[str, Any] = {}
        if self.status != UNCHANGED:
            order["status"] = self.status
        if self.operation == "create":
            order["line_items"] = [line.body() for line in self.line_items]
            order["set_paid"] = self.set_paid
            if self.customer_id:
                order["customer_id"] = self.customer_id
            if self.payment_method.strip():
                order["payment_method"] = self.payment_method.strip()
            if self.payment_method_title.strip():
                order["payment_method_title"] = self.payment_method_title.strip()
        for name, address in (("billing", self.billing), ("shipping", self.shipping)):
            fields = address.given() if address else {}
            if fields:
                order[name] = fields
        if self.customer_note.strip():
            order["customer_note"] = self.customer_note
        return order

    def filters(self) -> dict[str, Any]:
        """The list's query parameters, leaving out those that filter nothing."""
        query: dict[str, Any] = {}
        if self.status_filter != "any":
            query["status"] = self.status_filter
        if self.customer_filter:
            query["customer"] = self.customer_filter
        if self.after:
            query["after"] = self.after
        return query


class WoocommerceOrderNode(Node):
    type = "woocommerce.order"
    display_name = "WooCommerce Order"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, adds notes to or deletes the orders of a WooCommerce store."
    icon = "shopping-bag"
    Parameters = WoocommerceOrderParameters
    credentials = (CredentialRequirement("woocommerce_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with WoocommerceClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: WoocommerceOrderParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: WoocommerceClient, params: WoocommerceOrderParameters, index: int) -> list[dict[str, Any]]:
    number = params.order_id
    order = f"/orders/{number}"
    match params.operation:
        case "create":
            return [client.request("POST", "/orders", "creating an order", item_index=index, json=params.changes())]
        case "get":
            return [client.request("GET", order, f"getting order {number}", item_index=index)]
        case "get_many":
            return client.paginate(
                "/orders",
                "listing orders",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=params.filters(),
            )
        case "update":
            return [_update(client, params, index)]
        case "delete":
            answer = client.request(
                "DELETE",
                order,
                f"deleting order {number}",
                item_index=index,
                params={"force": "true" if params.force else "false"},
            )
            return [answer]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _update(client: WoocommerceClient, params: WoocommerceOrderParameters, index: int) -> dict[str, Any]:
    """Add the note, then change the order's fields (or read it): the output is the order as it now is."""
    number = params.order_id
    path = f"/orders/{number}"
    note = None
    if params.note.strip():
        body = {"note": params.note, "customer_note": params.note_to_customer}
        note = client.request("POST", f"{path}/notes", f"adding a note to order {number}", item_index=index, json=body)
    changes = params.changes()
    if changes:
        order = client.request("PUT", path, f"updating order {number}", item_index=index, json=changes)
    else:
        order = client.request("GET", path, f"getting order {number}", item_index=index)
    return order if note is None else {**order, "added_note": note}
