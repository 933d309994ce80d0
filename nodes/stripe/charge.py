"""Stripe Charge: charge a customer or a card, get or list charges, or update a charge's description and metadata."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.stripe._client import StripeClient, form, idempotency_key, path
from nodes.stripe._fields import Metadata, metadata_form

Operation = Literal["create", "get", "get_many", "update"]
BY_ID = ("get", "update")
WRITES = ("create", "update")
CURRENCY = re.compile(r"^[a-z]{3}$")


class StripeChargeParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a charge per item; get one by id; get_many: one item per charge, newest first; "
        "update a charge's description, receipt email or metadata.",
        no_expressions=True,
    )
    charge_id: str = param(
        "",
        title="Charge id",
        description="The charge's id, ch_… (or py_…).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    amount: int = param(
        0,
        title="Amount",
        description="In the currency's smallest unit: 1050 charges 10.50 USD, 500 charges ¥500 (JPY has no cents).",
        placeholder="{{ $json.total_cents }}",
        show_if={"operation": ["create"]},
        ge=0,
    )
    currency: str = param(
        "usd",
        title="Currency",
        description="The three-letter ISO code, such as usd or eur; the account must support it.",
        show_if={"operation": ["create"]},
    )
    customer_id: str = param(
        "",
        title="Customer id",
        description="create: the customer to charge (cus_…), with their default card unless 'Source' names "
        "another of theirs; get_many: only this customer's charges, empty: all.",
        show_if={"operation": ["create", "get_many"]},
    )
    source: str = param(
        "",
        title="Source",
        description="A card token, card or source id (tok_…, card_…, src_…) to charge; with a customer, "
        "one of theirs. Empty: the customer's default.",
        show_if={"operation": ["create"]},
    )
    description: str = param(
        "",
        title="Description",
        description="Shown in the Dashboard and on the receipt; update: empty keeps the current one.",
        show_if={"operation": WRITES},
    )
    receipt_email: str = param(
        "",
        title="Receipt email",
        description="Stripe emails a receipt here (in live mode); update: empty keeps the current one.",
        show_if={"operation": WRITES},
        advanced=True,
    )
    capture: bool = param(
        True,
        title="Capture",
        description="Off: only authorize the amount now and capture it from the Dashboard within 7 days.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    metadata: Metadata = param(
        default_factory=list,
        title="Metadata",
        description="Keys and values to store on the charge (up to 50), such as the order id; update: given "
        "keys change, an empty value removes its key, other keys stay.",
        show_if={"operation": WRITES},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' charges.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many charges per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    idempotency_key: str = param(
        "",
        title="Idempotency key",
        description="Stripe charges once per key, whatever repeats; empty: a key derived from the execution and "
        "the item, which makes retries of this run safe. Set one of your own (the order id) so that a "
        "webhook delivered twice does not charge twice either.",
        placeholder="order-{{ $json.order_id }}",
        show_if={"operation": ["create"]},
        advanced=True,
        max_length=255,
    )

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        value = value.strip().lower()
        if not CURRENCY.match(value):
            raise ValueError("the currency is a three-letter ISO code, such as usd or eur")
        return value

    @model_validator(mode="after")
    def _needs(self) -> StripeChargeParameters:
        if self.operation in BY_ID and not self.charge_id.strip():
            raise ValueError(f"{self.operation} needs the charge id (ch_…)")
        if self.operation == "create":
            if self.amount < 1:
                raise ValueError("create needs an amount of at least 1 (in the currency's smallest unit)")
            if not self.customer_id.strip() and not self.source.strip():
                raise ValueError("create needs a customer id or a source to charge")
        if self.operation == "update" and not _changes(self):
            raise ValueError("update needs a description, a receipt email or metadata to change")
        return self


def _changes(params: StripeChargeParameters) -> dict[str, Any]:
    """The fields both create and update send, when given."""
    body: dict[str, Any] = {}
    if params.description.strip():
        body["description"] = params.description.strip()
    if params.receipt_email.strip():
        body["receipt_email"] = params.receipt_email.strip()
    metadata = metadata_form(params.metadata)
    if metadata:
        body["metadata"] = metadata
    return body


class StripeChargeNode(Node):
    type = "stripe.charge"
    display_name = "Stripe Charge"
    category = Category.INTEGRATION
    description = "Charges a Stripe customer or card, gets or lists charges, or updates a charge."
    icon = "credit-card"
    Parameters = StripeChargeParameters
    credentials = (CredentialRequirement("stripe_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with StripeClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: StripeChargeParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(ctx, client, params, index))
        return [produced]


def _run(ctx: Context, client: StripeClient, params: StripeChargeParameters, index: int) -> list[dict[str, Any]]:
    charge_id = params.charge_id.strip()
    match params.operation:
        case "create":
            fields: dict[str, Any] = {"amount": params.amount, "currency": params.currency}
            if params.customer_id.strip():
                fields["customer"] = params.customer_id.strip()
            if params.source.strip():
                fields["source"] = params.source.strip()
            if not params.capture:
                fields["capture"] = False
            body = form({**fields, **_changes(params)})
            key = idempotency_key(ctx, index, "POST /v1/charges", body, params.idempotency_key)
            action = f"creating a charge of {params.amount} {params.currency}"
            return [client.request("POST", path("charges"), action, item_index=index, body=body, idempotency_key=key)]
        case "get":
            return [client.request("GET", path("charges", charge_id), f"getting charge {charge_id}", item_index=index)]
        case "get_many":
            customer = params.customer_id.strip()
            return client.list_all(
                path("charges"),
                f"listing the charges of customer {customer}" if customer else "listing charges",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params={"customer": customer} if customer else None,
            )
        case "update":
            return [
                client.request(
                    "POST",
                    path("charges", charge_id),
                    f"updating charge {charge_id}",
                    item_index=index,
                    body=form(_changes(params)),
                )
            ]
    raise AssertionError(f"unhandled operation {params.operation!r}")
