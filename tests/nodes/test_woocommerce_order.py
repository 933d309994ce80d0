"""WooCommerce Order (woocommerce.order) and the woocommerce_api credential, through the engine against a fake store."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.woocommerce.credentials import WoocommerceApiCredential
from tests.fakes.woocommerce_server import CONSUMER_KEY, CONSUMER_SECRET, FakeWoocommerce, fake_woocommerce_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def store() -> Iterator[FakeWoocommerce]:
    with fake_woocommerce_server() as server:
        yield server


def order(
    store: FakeWoocommerce,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    credential: dict[str, Any] | None = None,
    **settings: Any,
) -> RunResult:
    host = host_for(credential or store.credential())
    return run_node("woocommerce.order", parameters, items, credential_type="woocommerce_api", host=host, **settings)


def test_create_an_order_per_item_paid_with_addresses(store: FakeWoocommerce) -> None:
    parameters = {
        "line_items": [
            {"product_id": 93, "quantity": "{{ $json.mugs }}"},
            {"product_id": 22, "variation_id": 23, "quantity": 1},
        ],
        "customer_id": "{{ $json.customer }}",
        "billing": {"first_name": "{{ $json.name }}", "email": "{{ $json.email }}", "country": "US"},
        "shipping": '{"first_name": "Ada", "city": "Boston", "postcode": "02110"}',
        "set_paid": True,
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "customer_note": "Leave at the door",
    }
    items = [
        {"mugs": 2, "customer": 12, "name": "Ada", "email": "ada@example.com"},
        {"mugs": 1, "customer": 0, "name": "Bob", "email": "bob@example.com"},
    ]

    created = outputs(order(store, parameters, items))

    assert [(entry["status"], entry["total"], entry["customer_id"]) for entry in created] == [
        ("processing", "44.00", 12),
        ("processing", "32.00", 0),
    ]
    assert created[1]["billing"] == {"first_name": "Bob", "email": "bob@example.com", "country": "US"}
    (first, second) = store.received("POST", "/orders")
    assert first.body == {
        "line_items": [{"product_id": 93, "quantity": 2}, {"product_id": 22, "quantity": 1, "variation_id": 23}],
        "set_paid": True,
        "customer_id": 12,
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "billing": {"first_name": "Ada", "country": "US", "email": "ada@example.com"},
        "shipping": {"first_name": "Ada", "city": "Boston", "postcode": "02110"},
        "customer_note": "Leave at the door",
    }
    assert "customer_id" not in second.body
    expected = base64.b64encode(f"{CONSUMER_KEY}:{CONSUMER_SECRET}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {expected}"


def test_get_reads_the_order_named_by_an_expression(store: FakeWoocommerce) -> None:
    store.add_order()
    second = store.add_order(status="on-hold")

    (found,) = outputs(order(store, {"operation": "get", "order_id": "{{ $json.id }}"}, [{"id": second["id"]}]))

    assert (found["id"], found["status"]) == (second["id"], "on-hold")


def test_get_many_return_all_reads_every_page_newest_first(store: FakeWoocommerce) -> None:
    for _ in range(230):
        store.add_order()

    listed = outputs(order(store, {"operation": "get_many", "return_all": True}))

    assert len(listed) == 230
    assert [entry["id"] for entry in listed] == sorted(store.orders, reverse=True)
    pages = store.received("GET", "/orders")
    assert [(request.query["page"], request.query["per_page"]) for request in pages] == [
        ("1", "100"),
        ("2", "100"),
        ("3", "100"),
    ]


def test_get_many_filters_and_stops_at_the_limit(store: FakeWoocommerce) -> None:
    for n in range(30):
        store.add_order(customer_id=5 if n % 2 else 6, status="completed" if n % 3 else "processing")
    cutoff = sorted(entry["date_created"] for entry in store.orders.values())[14]

    theirs = outputs(
        order(
            store,
            {
                "operation": "get_many",
                "status_filter": "completed",
                "customer_filter": 5,
                "after": cutoff,
                "return_all": True,
            },
        )
    )
    newest = outputs(order(store, {"operation": "get_many", "limit": 4}))

    expected = [
        entry["id"]
        for entry in store.orders.values()
        if entry["customer_id"] == 5 and entry["status"] == "completed" and entry["date_created"] > cutoff
    ]
    assert [entry["id"] for entry in theirs] == sorted(expected, reverse=True) and expected
    assert store.received("GET", "/orders")[0].query == {
        "status": "completed",
        "customer": "5",
        "after": cutoff,
        "page": "1",
        "per_page": "100",
    }
    assert [entry["id"] for entry in newest] == sorted(store.orders, reverse=True)[:4]
    assert store.received("GET", "/orders")[-1].query == {"page": "1", "per_page": "4"}


def test_update_changes_fields_and_adds_a_note_for_the_customer(store: FakeWoocommerce) -> None:
    made = store.add_order(billing={"first_name": "Ada", "city": "Paris"})

    (updated,) = outputs(
        order(
            store,
            {
                "operation": "update",
                "order_id": made["id"],
                "status": "completed",
                "billing": {"city": "Lyon"},
                "note": "Shipped with tracking {{ $json.tracking }}",
                "note_to_customer": True,
            },
            [{"tracking": "1Z999"}],
        )
    )

    assert store.received("PUT", f"/orders/{made['id']}")[0].body == {
        "status": "completed",
        "billing": {"city": "Lyon"},
    }
    assert store.received("POST", f"/orders/{made['id']}/notes")[0].body == {
        "note": "Shipped with tracking 1Z999",
        "customer_note": True,
    }
    assert updated["status"] == "completed" and updated["billing"] == {"first_name": "Ada", "city": "Lyon"}
    assert updated["added_note"] == store.notes[made["id"]][0]
    assert updated["added_note"]["customer_note"] is True


def test_update_with_only_a_private_note_outputs_the_order(store: FakeWoocommerce) -> None:
    made = store.add_order()

    (updated,) = outputs(order(store, {"operation": "update", "order_id": made["id"], "note": "Called the customer"}))

    assert updated["id"] == made["id"] and updated["added_note"]["note"] == "Called the customer"
    assert store.notes[made["id"]][0]["customer_note"] is False
    assert store.received("PUT") == []
    assert [request.method for request in store.received(path=f"/orders/{made['id']}")] == ["GET"]


def test_delete_permanently_or_into_the_bin(store: FakeWoocommerce) -> None:
    gone = store.add_order()
    binned = store.add_order()

    (deleted,) = outputs(order(store, {"operation": "delete", "order_id": gone["id"]}))
    (trashed,) = outputs(order(store, {"operation": "delete", "order_id": binned["id"], "force": False}))
    again = failure(order(store, {"operation": "delete", "order_id": binned["id"], "force": False}))

    assert deleted["id"] == gone["id"] and gone["id"] not in store.orders
    assert trashed["status"] == "trash" and store.orders[binned["id"]]["status"] == "trash"
    assert [request.query for request in store.received("DELETE")] == [
        {"force": "true"},
        {"force": "false"},
        {"force": "false"},
    ]
    assert again["message"] == (
        f"item 0: WooCommerce refused deleting order {binned['id']} (410 woocommerce_rest_already_trashed): "
        "The order has already been deleted."
    )
    assert "'Delete permanently' on" in again["description"]


def test_a_wrong_secret_says_so_without_showing_it(store: FakeWoocommerce) -> None:
    error = failure(order(store, {"operation": "get", "order_id": 1}, credential=store.credential("cs_wrong0001")))

    assert error["message"] == (
        "item 0: WooCommerce refused getting order 1 (401 woocommerce_rest_authentication_error): "
        "Consumer secret is invalid."
    )
    assert "Check the consumer key and secret" in error["description"]
    assert "cs_wrong0001" not in json.dumps(error)


def test_a_missing_order_names_the_item(store: FakeWoocommerce) -> None:
    made = store.add_order()

    error = failure(order(store, {"operation": "get", "order_id": "{{ $json.id }}"}, [{"id": made["id"]}, {"id": 5}]))

    assert error["message"] == (
        "item 1: WooCommerce refused getting order 5 (404 woocommerce_rest_shop_order_invalid_id): Invalid ID."
    )
    assert error["item_index"] == 1
    assert "Check the order id" in error["description"]


def test_validation_errors_name_the_parameter(store: FakeWoocommerce) -> None:
    bad_email = failure(order(store, {"line_items": [{"product_id": 93}], "billing": {"email": "ada@nowhere"}}))
    bad_product = failure(order(store, {"line_items": [{"product_id": 404}]}))

    assert bad_email["message"] == (
        "item 0: WooCommerce refused creating an order (400 rest_invalid_param): "
        "Invalid parameter(s): billing (Invalid email address.)"
    )
    assert bad_email["description"] == "Change what WooCommerce named above, then retry."
    assert bad_product["message"] == (
        "item 0: WooCommerce refused creating an order (400 woocommerce_rest_invalid_product_id): "
        "Product ID provided is invalid."
    )
    assert store.orders == {}


def test_a_site_without_the_api_says_to_check_the_address(store: FakeWoocommerce) -> None:
    wrong = {**store.credential(), "store_url": f"{store.store_url}/blog"}

    error = failure(order(store, {"operation": "get", "order_id": 1}, credential=wrong))

    assert error["message"] == (
        "item 0: WooCommerce refused getting order 1 (404 rest_no_route): "
        "No route was found matching the URL and request method."
    )
    assert "permalinks must not be 'Plain'" in error["description"]


def test_continue_on_fail_turns_the_error_into_an_item(store: FakeWoocommerce) -> None:
    (entry,) = outputs(order(store, {"operation": "delete", "order_id": 3}, on_error="continue"))

    assert entry["error"].startswith("item 0: WooCommerce refused deleting order 3 (404 ")
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_the_store(store: FakeWoocommerce) -> None:
    no_lines = failure(order(store, {"billing": {"email": "ada@example.com"}}))
    no_id = failure(order(store, {"operation": "update", "status": "completed"}))
    nothing = failure(order(store, {"operation": "update", "order_id": 3}))
    bad_date = failure(order(store, {"operation": "get_many", "after": "yesterday"}))
    bad_lines = failure(order(store, {"line_items": "[{"}))

    assert "create needs at least one line item" in no_lines["message"]
    assert "update needs the order id" in no_id["message"]
    assert "update needs a field to change or a note to add" in nothing["message"]
    assert "'Created after' is not an ISO 8601 date and time" in bad_date["message"]
    assert "the line items are not valid JSON" in bad_lines["message"]
    assert store.received() == []


def test_the_credential_test_reads_the_currency_and_refuses_a_wrong_key(store: FakeWoocommerce) -> None:
    pasted_api_url = {**store.credential(), "store_url": f"{store.store_url}/wp-json/wc/v3/"}

    message = WoocommerceApiCredential.test_connection(pasted_api_url)
    with pytest.raises(NodeError) as refused:
        WoocommerceApiCredential.test_connection(store.credential(consumer_key="ck_unknown"))

    assert message == "Connected: the store sells in United States (US) dollar (USD)"
    assert refused.value.message == (
        "WooCommerce refused checking the consumer key and secret (401 woocommerce_rest_authentication_error): "
        "Consumer key is invalid."
    )
    assert store.received("GET", "/data/currencies/current")[0].headers["authorization"].startswith("Basic ")
