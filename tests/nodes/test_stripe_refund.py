"""Stripe Refund (stripe.refund) through the engine against the fake Stripe: full, partial and refused refunds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.stripe_server import FakeStripe, fake_stripe_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with fake_stripe_server() as server:
        yield server


def refund(
    stripe: FakeStripe, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **settings: Any
) -> RunResult:
    host = host_for(stripe.credential())
    return run_node("stripe.refund", parameters, items, credential_type="stripe_api", host=host, **settings)


def test_a_partial_refund_with_a_reason_then_the_rest(stripe: FakeStripe) -> None:
    paid = stripe.add_charge(5000)

    (part,) = outputs(
        refund(
            stripe,
            {
                "charge_id": paid["id"],
                "amount": 1500,
                "reason": "requested_by_customer",
                "metadata": [{"key": "return", "value": "R-1"}],
            },
        )
    )
    (rest,) = outputs(refund(stripe, {"charge_id": paid["id"]}))

    assert (part["amount"], part["reason"], part["metadata"], part["status"]) == (
        1500,
        "requested_by_customer",
        {"return": "R-1"},
        "succeeded",
    )
    assert (rest["amount"], rest["reason"]) == (3500, None)
    first, second = stripe.received("POST", "/v1/refunds")
    assert first.pairs == [
        ("charge", paid["id"]),
        ("amount", "1500"),
        ("reason", "requested_by_customer"),
        ("metadata[return]", "R-1"),
    ]
    assert second.pairs == [("charge", paid["id"])]
    assert first.headers["idempotency-key"].startswith("hitl-")
    assert stripe.charges[paid["id"]]["refunded"] is True


def test_an_empty_amount_from_an_expression_refunds_everything(stripe: FakeStripe) -> None:
    paid = stripe.add_charge(800)

    (full,) = outputs(
        refund(
            stripe,
            {"charge_id": "{{ $json.charge }}", "amount": "{{ $json.partial }}"},
            [{"charge": paid["id"], "partial": ""}],
        )
    )

    assert full["amount"] == 800


def test_refund_a_payment_intent(stripe: FakeStripe) -> None:
    intent = stripe.add_payment_intent(2000)

    (made,) = outputs(refund(stripe, {"payment_intent_id": intent["id"], "amount": 500, "reason": "duplicate"}))

    assert (made["payment_intent"], made["charge"], made["amount"]) == (intent["id"], intent["latest_charge"], 500)
    assert stripe.received("POST", "/v1/refunds")[0].pairs[0] == ("payment_intent", intent["id"])


def test_refunding_too_much_or_twice_is_refused_with_stripes_code(stripe: FakeStripe) -> None:
    paid = stripe.add_charge(1000)

    too_much = failure(refund(stripe, {"charge_id": paid["id"], "amount": 1500}))
    outputs(refund(stripe, {"charge_id": paid["id"]}))
    twice = failure(refund(stripe, {"charge_id": paid["id"], "amount": 100}))

    assert too_much["message"] == (
        f"item 0: Stripe refused refunding {paid['id']} by 1500 (400 invalid_request_error, amount_too_large): "
        "Refund amount (1500) is greater than unrefunded amount on charge (1000) (parameter amount)"
    )
    assert twice["message"].startswith(
        f"item 0: Stripe refused refunding {paid['id']} by 100 (400 invalid_request_error, charge_already_refunded)"
    )
    assert len(stripe.refunds) == 1


def test_get_and_list_refunds_of_a_charge_across_pages(stripe: FakeStripe) -> None:
    paid = stripe.add_charge(100_000)
    other = stripe.add_charge(5000)
    made = [stripe.add_refund(paid["id"], 100) for _ in range(120)]
    stripe.add_refund(other["id"], 5000)

    (found,) = outputs(refund(stripe, {"operation": "get", "refund_id": made[3]["id"]}))
    listed = outputs(refund(stripe, {"operation": "get_many", "charge_id": paid["id"], "return_all": True}))
    limited = outputs(refund(stripe, {"operation": "get_many", "limit": 3}))

    assert found == made[3]
    assert [entry["id"] for entry in listed] == [entry["id"] for entry in reversed(made)]
    pages = stripe.received("GET", "/v1/refunds")[:2]
    assert [request.query.get("starting_after") for request in pages] == [None, made[20]["id"]]
    assert all(request.query["charge"] == paid["id"] for request in pages)
    assert [entry["charge"] for entry in limited] == [other["id"], paid["id"], paid["id"]]


def test_a_missing_refund_or_charge_says_what_to_check(stripe: FakeStripe) -> None:
    no_refund = failure(refund(stripe, {"operation": "get", "refund_id": "re_missing"}))
    no_charge = failure(refund(stripe, {"charge_id": "ch_missing"}))

    assert no_refund["message"] == (
        "item 0: Stripe refused getting refund re_missing (404 invalid_request_error, resource_missing): "
        "No such refund: 're_missing' (parameter id)"
    )
    assert "(cus_…, ch_…, pi_…, re_…)" in no_refund["description"]
    assert no_charge["message"].endswith("No such charge: 'ch_missing' (parameter charge)")


def test_parameters_are_checked_before_calling_stripe(stripe: FakeStripe) -> None:
    neither = failure(refund(stripe, {}))
    both = failure(refund(stripe, {"charge_id": "ch_1", "payment_intent_id": "pi_1"}))
    no_id = failure(refund(stripe, {"operation": "get"}))
    negative = failure(refund(stripe, {"charge_id": "ch_1", "amount": -5}))

    assert "create needs either a charge id or a payment intent id" in neither["message"]
    assert "create needs either a charge id or a payment intent id" in both["message"]
    assert "get needs the refund id (re_…)" in no_id["message"]
    assert "parameter 'amount', item 0" in negative["message"]
    assert stripe.received() == []
