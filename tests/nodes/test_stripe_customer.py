"""Stripe Customer (stripe.customer) and the stripe_api credential, through the engine against the fake Stripe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.stripe.credentials import StripeApiCredential
from tests.fakes.stripe_server import SECRET_KEY, FakeStripe, fake_stripe_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with fake_stripe_server() as server:
        yield server


def customer(
    stripe: FakeStripe,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    secret_key: str = SECRET_KEY,
    **settings: Any,
) -> RunResult:
    host = host_for(stripe.credential(secret_key))
    return run_node("stripe.customer", parameters, items, credential_type="stripe_api", host=host, **settings)


def test_create_sends_a_form_with_nested_metadata_and_an_idempotency_key_per_item(stripe: FakeStripe) -> None:
    parameters = {
        "email": "{{ $json.email }}",
        "name": "{{ $json.name }}",
        "address": {"line1": "1 Main St", "city": "Berlin", "country": "de"},
        "metadata": [{"key": "plan", "value": "pro"}, {"key": "signup", "value": "{{ $json.signup }}"}],
    }
    people = [
        {"email": "ada@example.com", "name": "Ada", "signup": 7},
        {"email": "bob@example.com", "name": "Bob", "signup": 8},
    ]

    created = outputs(customer(stripe, parameters, people))

    assert [entry["email"] for entry in created] == ["ada@example.com", "bob@example.com"]
    assert created[0]["metadata"] == {"plan": "pro", "signup": "7"}
    assert stripe.customers[created[1]["id"]]["address"] == {"line1": "1 Main St", "city": "Berlin", "country": "DE"}
    first, second = stripe.received("POST", "/v1/customers")
    assert first.pairs == [
        ("email", "ada@example.com"),
        ("name", "Ada"),
        ("address[line1]", "1 Main St"),
        ("address[city]", "Berlin"),
        ("address[country]", "DE"),
        ("metadata[plan]", "pro"),
        ("metadata[signup]", "7"),
    ]
    assert first.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert first.headers["content-type"] == "application/x-www-form-urlencoded"
    assert first.headers["idempotency-key"].startswith("hitl-")
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_metadata_can_come_as_an_object_from_an_expression(stripe: FakeStripe) -> None:
    (created,) = outputs(
        customer(stripe, {"email": "a@example.com", "metadata": "{{ $json.meta }}"}, [{"meta": {"crm_id": 42}}])
    )

    assert created["metadata"] == {"crm_id": "42"}


def test_running_the_same_item_again_replays_instead_of_creating_twice(stripe: FakeStripe) -> None:
    parameters = {"email": "ada@example.com", "name": "Ada"}

    (first,) = outputs(customer(stripe, parameters))
    (again,) = outputs(customer(stripe, parameters))

    assert again == first
    assert len(stripe.customers) == 1
    keys = [request.headers["idempotency-key"] for request in stripe.received("POST", "/v1/customers")]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_a_key_of_ones_own_is_sent_as_given(stripe: FakeStripe) -> None:
    outputs(customer(stripe, {"email": "a@example.com", "idempotency_key": "signup-{{ $json.id }}"}, [{"id": 5}]))

    assert stripe.received("POST", "/v1/customers")[0].headers["idempotency-key"] == "signup-5"


def test_get_reads_the_customer_named_by_an_expression(stripe: FakeStripe) -> None:
    stripe.add_customer("first@example.com")
    wanted = stripe.add_customer("second@example.com", name="Second")

    (found,) = outputs(customer(stripe, {"operation": "get", "customer_id": "{{ $json.id }}"}, [{"id": wanted["id"]}]))

    assert (found["id"], found["email"], found["name"]) == (wanted["id"], "second@example.com", "Second")


def seed(stripe: FakeStripe, count: int) -> list[str]:
    return [stripe.add_customer(f"c{n}@example.com")["id"] for n in range(1, count + 1)]


def test_get_many_return_all_pages_with_starting_after(stripe: FakeStripe) -> None:
    ids = seed(stripe, 250)

    listed = outputs(customer(stripe, {"operation": "get_many", "return_all": True}))

    assert [entry["id"] for entry in listed] == list(reversed(ids))
    pages = stripe.received("GET", "/v1/customers")
    assert [request.query.get("starting_after") for request in pages] == [None, ids[150], ids[50]]
    assert [request.query["limit"] for request in pages] == ["100", "100", "100"]


def test_get_many_stops_at_the_limit(stripe: FakeStripe) -> None:
    ids = seed(stripe, 250)

    few = outputs(customer(stripe, {"operation": "get_many", "limit": 5}))
    more = outputs(customer(stripe, {"operation": "get_many", "limit": 130}))

    assert [entry["id"] for entry in few] == list(reversed(ids))[:5]
    assert len(more) == 130 and more[-1]["id"] == ids[250 - 130]
    assert [request.query["limit"] for request in stripe.received("GET", "/v1/customers")] == ["5", "100", "30"]


def test_get_many_filters_by_email(stripe: FakeStripe) -> None:
    seed(stripe, 3)
    wanted = stripe.add_customer("Ada@Example.com")

    found = outputs(customer(stripe, {"operation": "get_many", "filter_email": "Ada@Example.com", "return_all": True}))

    assert [entry["id"] for entry in found] == [wanted["id"]]
    assert stripe.received("GET", "/v1/customers")[0].query == {"email": "Ada@Example.com", "limit": "100"}


def test_update_sends_only_the_given_fields_and_an_empty_metadata_value_removes_its_key(stripe: FakeStripe) -> None:
    existing = stripe.add_customer("old@example.com", name="Keep", metadata={"plan": "free", "source": "ads"})

    (updated,) = outputs(
        customer(
            stripe,
            {
                "operation": "update",
                "customer_id": existing["id"],
                "email": "new@example.com",
                "metadata": [{"key": "plan", "value": "pro"}, {"key": "source", "value": ""}],
            },
        )
    )

    (request,) = stripe.received("POST", f"/v1/customers/{existing['id']}")
    assert request.pairs == [("email", "new@example.com"), ("metadata[plan]", "pro"), ("metadata[source]", "")]
    assert "idempotency-key" not in request.headers
    assert (updated["email"], updated["name"], updated["metadata"]) == ("new@example.com", "Keep", {"plan": "pro"})


def test_delete_answers_with_stripes_deleted_stub(stripe: FakeStripe) -> None:
    existing = stripe.add_customer("gone@example.com")

    (deleted,) = outputs(customer(stripe, {"operation": "delete", "customer_id": existing["id"]}))

    assert deleted == {"id": existing["id"], "object": "customer", "deleted": True}
    assert outputs(customer(stripe, {"operation": "get_many", "return_all": True})) == []


def test_a_wrong_key_says_so_without_showing_it(stripe: FakeStripe) -> None:
    error = failure(customer(stripe, {"operation": "get", "customer_id": "cus_1"}, secret_key="sk_test_wrongWRONG1234"))

    assert error["message"] == (
        "item 0: Stripe refused getting customer cus_1 (401 invalid_request_error): "
        "Invalid API Key provided: sk_test_****1234"
    )
    assert "copy the current secret key" in error["description"]
    assert "sk_test_wrongWRONG1234" not in json.dumps(error)


def test_a_missing_customer_names_the_item_and_what_to_check(stripe: FakeStripe) -> None:
    known = stripe.add_customer("a@example.com")

    error = failure(
        customer(stripe, {"operation": "get", "customer_id": "{{ $json.id }}"}, [{"id": known["id"]}, {"id": "cus_x"}])
    )

    assert error["message"] == (
        "item 1: Stripe refused getting customer cus_x (404 invalid_request_error, resource_missing): "
        "No such customer: 'cus_x' (parameter id)"
    )
    assert error["item_index"] == 1
    assert "same account and mode" in error["description"]


def test_a_validation_error_names_the_parameter(stripe: FakeStripe) -> None:
    error = failure(customer(stripe, {"email": "not-an-email"}))

    assert error["message"] == (
        "item 0: Stripe refused creating a customer (400 invalid_request_error, email_invalid): "
        "Invalid email address: not-an-email (parameter email)"
    )
    assert error["description"] == "Change what Stripe named above, then retry."
    assert stripe.customers == {}


def test_the_rate_limit_is_explained(stripe: FakeStripe) -> None:
    stripe.rate_limited = 1

    error = failure(customer(stripe, {"operation": "get_many"}))

    assert error["message"].startswith(
        "item 0: Stripe is limiting requests and refused listing customers (429 invalid_request_error, rate_limit)"
    )
    assert "slow the workflow down" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(stripe: FakeStripe) -> None:
    (entry,) = outputs(customer(stripe, {"operation": "delete", "customer_id": "cus_gone"}, on_error="continue"))

    assert entry["error"].startswith("item 0: Stripe refused deleting customer cus_gone (404 ")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_stripe(stripe: FakeStripe) -> None:
    no_id = failure(customer(stripe, {"operation": "get"}))
    nothing_to_change = failure(customer(stripe, {"operation": "update", "customer_id": "cus_1"}))
    bracket = failure(customer(stripe, {"metadata": [{"key": "a[b]", "value": "x"}]}))
    twice = failure(customer(stripe, {"metadata": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}))
    country = failure(customer(stripe, {"address": {"country": "Germany"}}))

    assert "get needs the customer id (cus_…)" in no_id["message"]
    assert "update needs at least one field to change" in nothing_to_change["message"]
    assert "contains square brackets" in bracket["message"]
    assert "the metadata key 'a' is given twice" in twice["message"]
    assert "two-letter ISO code" in country["message"]
    assert stripe.received() == []


def test_the_credential_test_reports_the_mode_and_refuses_a_wrong_key(stripe: FakeStripe) -> None:
    assert StripeApiCredential.test_connection(stripe.credential()) == "Connected to Stripe in test mode"
    assert stripe.received("GET", "/v1/balance")[0].headers["authorization"] == f"Bearer {SECRET_KEY}"

    with pytest.raises(NodeError) as refused:
        StripeApiCredential.test_connection(stripe.credential("sk_test_revoked0000"))
    with pytest.raises(NodeError) as publishable:
        StripeApiCredential.parse({"secret_key": "pk_test_123", "api_url": stripe.api_url})

    assert refused.value.message.startswith("Stripe refused checking the key (401 invalid_request_error)")
    assert "publishable key" in publishable.value.message
