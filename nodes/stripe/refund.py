"""Stripe Refund: refund a charge or payment intent in full or in part, or get or list refunds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.stripe._client import StripeClient, form, idempotency_key, path
from nodes.stripe._fields import Metadata, metadata_form

Operation = Literal["create", "get", "get_many"]
TARGETS = ("create", "get_many")


class StripeRefundParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a refund per item; get one by id; get_many: one item per refund, newest first.",
        no_expressions=True,
    )
    refund_id: str = param(
        "",
        title="Refund id",
        description="The refund's id, re_…",
        placeholder="{{ $json.id }}",
        show_if={"operation": ["get"]},
    )
    charge_id: str = param(
        "",
        title="Charge id",
        description="create: the charge to refund (ch_…), or use 'Payment intent id'; get_many: only this "
        "charge's refunds, empty: all.",
        show_if={"operation": TARGETS},
    )
    payment_intent_id: str = param(
        "",
        title="Payment intent id",
        description="create: the payment intent to refund (pi_…), instead of a charge id; get_many: only its "
        "refunds, empty: all.",
        show_if={"operation": TARGETS},
    )
    amount: int | None = param(
        None,
        title="Amount",
        description="In the currency's smallest unit (1050 refunds 10.50 USD); empty: all that is not refunded yet.",
        show_if={"operation": ["create"]},
        ge=1,
    )
    reason: Literal["unspecified", "duplicate", "fraudulent", "requested_by_customer"] = param(
        "unspecified",
        title="Reason",
        description="fraudulent also helps Stripe block similar payments.",
        show_if={"operation": ["create"]},
    )
    metadata: Metadata = param(
        default_factory=list,
        title="Metadata",
        description="Keys and values to store on the refund (up to 50), such as the return's id.",
        show_if={"operation": ["create"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' refunds.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many refunds per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    idempotency_key: str = param(
        "",
        title="Idempotency key",
        description="Stripe refunds once per key, whatever repeats; empty: a key derived from the execution and "
        "the item, which makes retries of this run safe. Set one of your own (the return's id) to be safe "
        "across executions too.",
        show_if={"operation": ["create"]},
        advanced=True,
        max_length=255,
    )

    @field_validator("amount", mode="before")
    @classmethod
    def _blank_is_full(cls, value: Any) -> Any:
        # An expression over a missing field gives "": that means the full amount, as an empty field does.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _needs(self) -> StripeRefundParameters:
        if self.operation == "get" and not self.refund_id.strip():
            raise ValueError("get needs the refund id (re_…)")
        if self.operation == "create":
            given = [name for name in (self.charge_id, self.payment_intent_id) if name.strip()]
            if len(given) != 1:
                raise ValueError("create needs either a charge id or a payment intent id (one of them)")
        return self


class StripeRefundNode(Node):
    type = "stripe.refund"
    display_name = "Stripe Refund"
    category = Category.INTEGRATION
    description = "Refunds a Stripe charge or payment intent in full or in part, or gets or lists refunds."
    icon = "undo-2"
    Parameters = StripeRefundParameters
    credentials = (CredentialRequirement("stripe_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with StripeClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: StripeRefundParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(ctx, client, params, index))
        return [produced]


def _targets(params: StripeRefundParameters) -> dict[str, str]:
    """The charge and payment intent that were given, as Stripe's field names."""
    given = {"charge": params.charge_id.strip(), "payment_intent": params.payment_intent_id.strip()}
    return {name: value for name, value in given.items() if value}


def _run(ctx: Context, client: StripeClient, params: StripeRefundParameters, index: int) -> list[dict[str, Any]]:
    match params.operation:
        case "create":
            fields: dict[str, Any] = _targets(params)
            if params.amount is not None:
                fields["amount"] = params.amount
            if params.reason != "unspecified":
                fields["reason"] = params.reason
            fields["metadata"] = metadata_form(params.metadata)
            body = form(fields)
            key = idempotency_key(ctx, index, "POST /v1/refunds", body, params.idempotency_key)
            (target,) = _targets(params).values()
            how_much = "in full" if params.amount is None else f"by {params.amount}"
            return [
                client.request(
                    "POST",
                    path("refunds"),
                    f"refunding {target} {how_much}",
                    item_index=index,
                    body=body,
                    idempotency_key=key,
                )
            ]
        case "get":
            refund_id = params.refund_id.strip()
            return [client.request("GET", path("refunds", refund_id), f"getting refund {refund_id}", item_index=index)]
        case "get_many":
            targets = _targets(params)
            return client.list_all(
                path("refunds"),
                "listing the refunds of " + " and ".join(targets.values()) if targets else "listing refunds",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=targets,
            )
    raise AssertionError(f"unhandled operation {params.operation!r}")
