"""Stripe Charge (stripe.charge) through the engine against the fake Stripe: charging, idempotent retries, errors."""

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


def charge(
    stripe: FakeStripe, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **settings: Any
) -> RunResult:
    host = host_for(stripe.credential())
    return run_node("stripe.charge", parameters, items, credential_type="stripe_api", host=host, **settings)


def test_create_charges_a_customers_default_card_per_item(stripe: FakeStripe) -> None:
    buyer = stripe.add_customer("ada@example.com")
    parameters = {
        "amount": "{{ $json.cents }}",
        "currency": "EUR",
        "customer_id": buyer["id"],
        "description": "Order {{ $json.order }}",
        "metadata": [{"key": "order", "value": "{{ $json.order }}"}],
    }

    created = outputs(charge(stripe, parameters, [{"cents": 1050, "order": 7}, {"cents": 990, "order": 8}]))

    assert [(entry["amount"], entry["currency"], entry["status"]) for entry in created] == [
        (1050, "eur", "succeeded"),
        (990, "eur", "succeeded"),
    ]
    assert created[0]["source"]["id"] == buyer["default_source"]
    first, second = stripe.received("POST", "/v1/charges")
    assert first.pairs == [
        ("amount", "1050"),
        ("currency", "eur"),
        ("customer", buyer["id"]),
        ("description", "Order 7"),
        ("metadata[order]", "7"),
    ]
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_create_with_a_card_token_can_authorize_without_capturing(stripe: FakeStripe) -> None:
    (held,) = outputs(
        charge(stripe, {"amount": 5000, "source": "tok_visa", "capture": False, "receipt_email": "a@example.com"})
    )

    assert (held["captured"], held["amount_captured"], held["receipt_email"]) == (False, 0, "a@example.com")
    assert ("capture", "false") in stripe.received("POST", "/v1/charges")[0].pairs


def test_a_lost_answer_retried_by_the_engine_charges_once(stripe: FakeStripe) -> None:
    """Stripe charged, the answer never arrived, the node retried: the same key makes Stripe replay the charge."""
    stripe.lose_answers = 1

    (created,) = outputs(
        charge(
            stripe,
            {"amount": 2500, "source": "tok_visa"},
            retry_on_fail=True,
            max_tries=2,
            wait_between_tries=0,
        )
    )

    assert list(stripe.charges) == [created["id"]]
    first, retry = stripe.received("POST", "/v1/charges")
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"]


def test_without_retries_a_lost_answer_says_that_retrying_is_safe(stripe: FakeStripe) -> None:
    stripe.lose_answers = 1

    error = failure(charge(stripe, {"amount": 2500, "source": "tok_visa"}))

    assert error["message"].startswith("item 0: creating a charge of 2500 usd failed: Stripe could not be reached (")
    assert "Retrying is safe" in error["description"]
    assert len(stripe.charges) == 1


def test_reusing_ones_own_key_for_another_charge_is_refused(stripe: FakeStripe) -> None:
    outputs(charge(stripe, {"amount": 1000, "source": "tok_visa", "idempotency_key": "order-7"}))

    error = failure(charge(stripe, {"amount": 1200, "source": "tok_visa", "idempotency_key": "order-7"}))

    assert error["message"].startswith("item 0: Stripe refused creating a charge of 1200 usd (400 idempotency_error): ")
    assert "Keys for idempotent requests can only be used with the same parameters" in error["message"]
    assert "leave 'Idempotency key' empty" in error["description"]
    assert len(stripe.charges) == 1


def test_a_declined_card_carries_the_decline_code(stripe: FakeStripe) -> None:
    error = failure(charge(stripe, {"amount": 1000, "source": "tok_chargeDeclined"}))

    assert error["message"] == (
        "item 0: Stripe refused creating a charge of 1000 usd (402 card_error, card_declined (generic_decline)): "
        "Your card was declined."
    )
    assert "another payment method" in error["description"]
    (failed,) = stripe.charges.values()
    assert failed["status"] == "failed"


def test_a_too_small_amount_and_a_stranger_source_name_the_parameter(stripe: FakeStripe) -> None:
    buyer = stripe.add_customer("ada@example.com")

    too_small = failure(charge(stripe, {"amount": 20, "source": "tok_visa"}))
    not_theirs = failure(charge(stripe, {"amount": 1000, "customer_id": buyer["id"], "source": "card_other"}))

    assert too_small["message"] == (
        "item 0: Stripe refused creating a charge of 20 usd (400 invalid_request_error, amount_too_small): "
        "Amount must be at least 50 usd (parameter amount)"
    )
    assert not_theirs["message"].endswith(
        f"Customer {buyer['id']} does not have a linked source with ID card_other. (parameter source)"
    )
    assert stripe.charges == {}


def test_get_update_and_list_a_customers_charges(stripe: FakeStripe) -> None:
    buyer = stripe.add_customer("ada@example.com")
    mine = [stripe.add_charge(1000 + n, customer=buyer["id"]) for n in range(3)]
    stripe.add_charge(700)

    (found,) = outputs(charge(stripe, {"operation": "get", "charge_id": mine[0]["id"]}))
    (updated,) = outputs(
        charge(
            stripe,
            {
                "operation": "update",
                "charge_id": "{{ $json.id }}",
                "description": "Refund pending",
                "metadata": {"ticket": "T-9"},
            },
            [{"id": mine[1]["id"]}],
        )
    )
    listed = outputs(charge(stripe, {"operation": "get_many", "customer_id": buyer["id"], "limit": 2}))
    everything = outputs(charge(stripe, {"operation": "get_many", "return_all": True}))

    assert found["amount"] == 1000
    assert (updated["description"], updated["metadata"]) == ("Refund pending", {"ticket": "T-9"})
    assert stripe.received("POST", f"/v1/charges/{mine[1]['id']}")[0].pairs == [
        ("description", "Refund pending"),
        ("metadata[ticket]", "T-9"),
    ]
    assert [entry["id"] for entry in listed] == [mine[2]["id"], mine[1]["id"]]
    assert stripe.received("GET", "/v1/charges")[0].query == {"customer": buyer["id"], "limit": "2"}
    assert len(everything) == 4


def test_a_missing_charge_names_the_item(stripe: FakeStripe) -> None:
    error = failure(charge(stripe, {"operation": "get", "charge_id": "ch_missing"}))

    assert error["message"] == (
        "item 0: Stripe refused getting charge ch_missing (404 invalid_request_error, resource_missing): "
        "No such charge: 'ch_missing' (parameter id)"
    )
    assert error["item_index"] == 0


def test_parameters_are_checked_before_calling_stripe(stripe: FakeStripe) -> None:
    no_payer = failure(charge(stripe, {"amount": 1000}))
    no_amount = failure(charge(stripe, {"source": "tok_visa"}))
    bad_currency = failure(charge(stripe, {"amount": 1000, "source": "tok_visa", "currency": "euro"}))
    nothing_to_change = failure(charge(stripe, {"operation": "update", "charge_id": "ch_1"}))

    assert "create needs a customer id or a source to charge" in no_payer["message"]
    assert "create needs an amount of at least 1" in no_amount["message"]
    assert "three-letter ISO code" in bad_currency["message"]
    assert "update needs a description, a receipt email or metadata to change" in nothing_to_change["message"]
    assert stripe.received() == []
