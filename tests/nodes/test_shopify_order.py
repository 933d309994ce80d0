"""Shopify Order (shopify.order) and the shopify_api credential, through the engine against the fake Shopify."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.sdk import NodeError
from nodes.shopify.credentials import ShopifyApiCredential
from tests.fakes.shopify_server import TOKEN, FakeShopify, fake_shopify_server
from tests.nodes.integrations import failure, host_for, outputs, run_node

CLOSED = "2026-01-20T10:00:00+01:00"


@pytest.fixture
def shopify() -> Iterator[FakeShopify]:
    with fake_shopify_server() as server:
        yield server


def order(
    shopify: FakeShopify,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(shopify.credential(token))
    return run_node("shopify.order", parameters, items, credential_type="shopify_api", host=host, **settings)


def test_create_an_order_per_item_with_variants_and_custom_lines(shopify: FakeShopify) -> None:
    mug = shopify.add_product("Mug", variants=[{"price": "12.50", "sku": "MUG-1"}])
    variant = mug["variants"][0]["id"]
    parameters = {
        "line_items": [
            {"variant_id": "{{ $json.variant }}", "quantity": "{{ $json.count }}"},
            {"title": "Gift wrap", "price": 3, "quantity": 1},
        ],
        "email": "{{ $json.email }}",
        "first_name": "{{ $json.name }}",
        "tags": "web, {{ $json.channel }}",
        "note": "Order from {{ $json.channel }}",
    }
    items = [
        {"variant": variant, "count": 2, "email": "ada@example.com", "name": "Ada", "channel": "newsletter"},
        {"variant": variant, "count": 1, "email": "bob@example.com", "name": "Bob", "channel": "ads"},
    ]

    created = outputs(order(shopify, parameters, items))

    assert [entry["name"] for entry in created] == ["#1001", "#1002"]
    assert [entry["total_price"] for entry in created] == ["28.00", "15.50"]
    assert created[0]["line_items"][0]["sku"] == "MUG-1"
    assert created[0]["customer"]["first_name"] == "Ada" and created[1]["tags"] == "web, ads"
    first = shopify.received("POST", "/orders.json")[0]
    assert first.body == {
        "order": {
            "line_items": [
                {"variant_id": variant, "quantity": 2},
                {"title": "Gift wrap", "price": "3", "quantity": 1},
            ],
            "customer": {"first_name": "Ada", "email": "ada@example.com"},
            "send_receipt": False,
            "inventory_behaviour": "bypass",
            "email": "ada@example.com",
            "tags": "web, newsletter",
            "note": "Order from newsletter",
        }
    }
    assert first.headers["x-shopify-access-token"] == TOKEN
    assert first.path == "/admin/api/2025-01/orders.json"


def test_create_for_an_existing_customer_with_status_and_address_from_json(shopify: FakeShopify) -> None:
    parameters = {
        "line_items": '[{"title": "Poster", "price": "9.99", "quantity": 3}]',
        "customer_id": 7001,
        "financial_status": "pending",
        "shipping_address": "{{ $json.address }}",
        "send_receipt": True,
        "inventory_behaviour": "decrement_obeying_policy",
    }
    address = {"first_name": "Ada", "address1": "1 Main St", "city": "Berlin", "zip": 10115, "country": "DE"}

    (created,) = outputs(order(shopify, parameters, [{"address": address}]))

    assert created["customer"] == {"id": 7001} and created["financial_status"] == "pending"
    assert created["shipping_address"] == {**address, "zip": "10115"}
    assert shopify.received("POST", "/orders.json")[0].body["order"]["inventory_behaviour"] == (
        "decrement_obeying_policy"
    )


def test_get_reads_the_order_named_by_an_expression(shopify: FakeShopify) -> None:
    shopify.add_order(email="first@example.com")
    second = shopify.add_order(email="second@example.com")

    (found,) = outputs(order(shopify, {"operation": "get", "order_id": "{{ $json.id }}"}, [{"id": second["id"]}]))

    assert (found["id"], found["email"]) == (second["id"], "second@example.com")


def test_get_many_return_all_follows_page_info_links(shopify: FakeShopify) -> None:
    for _ in range(560):
        shopify.add_order()

    listed = outputs(order(shopify, {"operation": "get_many", "status_filter": "any", "return_all": True}))

    assert len(listed) == 560 and len({entry["id"] for entry in listed}) == 560
    pages = shopify.received("GET", "/orders.json")
    assert pages[0].query == {"status": "any", "limit": "250"}
    assert [sorted(request.query) for request in pages[1:]] == [["limit", "page_info"], ["limit", "page_info"]]


def test_get_many_filters_and_stops_at_the_limit(shopify: FakeShopify) -> None:
    for n in range(1, 41):
        shopify.add_order(
            financial_status="paid" if n % 2 else "pending",
            fulfillment_status="fulfilled" if n % 5 == 0 else None,
            created_at=f"2026-01-{n % 28 + 1:02d}T10:00:00+01:00",
            closed_at=CLOSED if n % 10 == 0 else None,
        )

    paid_unshipped = outputs(
        order(
            shopify,
            {
                "operation": "get_many",
                "financial_status_filter": "paid",
                "fulfillment_status_filter": "unshipped",
                "created_at_min": "2026-01-10T00:00:00+01:00",
                "return_all": True,
            },
        )
    )
    first_three = outputs(order(shopify, {"operation": "get_many", "limit": 3}))

    assert {entry["financial_status"] for entry in paid_unshipped} == {"paid"}
    assert all(entry["fulfillment_status"] is None and entry["closed_at"] is None for entry in paid_unshipped)
    assert all(entry["created_at"] >= "2026-01-10" for entry in paid_unshipped) and len(paid_unshipped) == 10
    assert shopify.received("GET", "/orders.json")[0].query == {
        "status": "open",
        "financial_status": "paid",
        "fulfillment_status": "unshipped",
        "created_at_min": "2026-01-10T00:00:00+01:00",
        "limit": "250",
    }
    assert len(first_three) == 3 and shopify.received("GET", "/orders.json")[-1].query["limit"] == "3"


def test_a_limit_over_one_page_reads_two_pages_and_stops(shopify: FakeShopify) -> None:
    for _ in range(400):
        shopify.add_order()

    listed = outputs(order(shopify, {"operation": "get_many", "limit": 300}))

    assert len(listed) == 300
    assert len(shopify.received("GET", "/orders.json")) == 2


def test_update_sends_only_the_fields_given(shopify: FakeShopify) -> None:
    made = shopify.add_order(email="old@example.com", note="keep", shipping_address={"city": "Paris", "zip": "75001"})

    (updated,) = outputs(
        order(
            shopify,
            {
                "operation": "update",
                "order_id": made["id"],
                "tags": ["vip", "rush"],
                "shipping_address": {"address1": "2 Rue Neuve", "city": "Lyon"},
            },
        )
    )

    assert shopify.received("PUT", f"/orders/{made['id']}.json")[0].body == {
        "order": {
            "id": made["id"],
            "tags": "vip, rush",
            "shipping_address": {"address1": "2 Rue Neuve", "city": "Lyon"},
        }
    }
    assert (updated["note"], updated["email"], updated["tags"]) == ("keep", "old@example.com", "vip, rush")
    assert updated["shipping_address"] == {"city": "Lyon", "zip": "75001", "address1": "2 Rue Neuve"}


def test_delete_answers_with_the_id_and_an_online_payment_is_refused(shopify: FakeShopify) -> None:
    manual = shopify.add_order()
    online = shopify.add_order(gateway="shopify_payments")

    (deleted,) = outputs(order(shopify, {"operation": "delete", "order_id": manual["id"]}))
    refused = failure(order(shopify, {"operation": "delete", "order_id": online["id"]}))

    assert deleted == {"id": manual["id"], "deleted": True}
    assert list(shopify.orders) == [online["id"]]
    assert refused["message"] == (
        f"item 0: Shopify refused deleting order {online['id']} (422): "
        "An order with online payment transactions can't be deleted"
    )


def test_a_wrong_token_says_so_without_showing_it(shopify: FakeShopify) -> None:
    error = failure(order(shopify, {"operation": "get", "order_id": 1}, token="shpat_wrong000"))

    assert error["message"] == (
        "item 0: Shopify refused getting order 1 (401): "
        "[API] Invalid API key or access token (unrecognized login or wrong password)"
    )
    assert "Admin API access token of the custom app" in error["description"]
    assert "shpat_wrong000" not in json.dumps(error)


def test_a_missing_order_names_the_item(shopify: FakeShopify) -> None:
    made = shopify.add_order()

    error = failure(order(shopify, {"operation": "get", "order_id": "{{ $json.id }}"}, [{"id": made["id"]}, {"id": 9}]))

    assert error["message"] == "item 1: Shopify refused getting order 9 (404): Not Found"
    assert error["item_index"] == 1
    assert "not the order name #1001" in error["description"]


def test_validation_errors_name_the_field(shopify: FakeShopify) -> None:
    made = shopify.add_order()

    bad_email = failure(order(shopify, {"operation": "update", "order_id": made["id"], "email": "ada@nowhere"}))
    unknown_variant = failure(order(shopify, {"line_items": [{"variant_id": 42}]}))

    assert bad_email["message"] == f"item 0: Shopify refused updating order {made['id']} (422): email is invalid"
    assert bad_email["description"] == "Change what Shopify named above, then retry."
    assert unknown_variant["message"] == (
        "item 0: Shopify refused creating an order (422): line_items Unable to find variant with id 42"
    )


def test_the_rate_limit_says_how_long_to_wait(shopify: FakeShopify) -> None:
    shopify.rate_limited = 1

    error = failure(order(shopify, {"line_items": [{"title": "Mug", "price": "5"}]}))

    assert error["message"] == (
        "item 0: Shopify is limiting requests and refused creating an order (429): Exceeded 2 calls per second "
        "for api client. Reduce request rates to resume uninterrupted service."
    )
    assert error["description"].startswith("Wait 2 seconds and retry the node")


def test_a_next_page_on_another_host_is_refused(shopify: FakeShopify) -> None:
    for _ in range(260):
        shopify.add_order()
    shopify.link_base = "http://elsewhere.example"

    error = failure(order(shopify, {"operation": "get_many", "return_all": True}))

    assert error["message"].startswith(
        "item 0: listing orders: Shopify's next page is outside the shop's address (http://elsewhere.example/"
    )
    assert len(shopify.received("GET", "/orders.json")) == 1


def test_continue_on_fail_turns_the_error_into_an_item(shopify: FakeShopify) -> None:
    (entry,) = outputs(order(shopify, {"operation": "delete", "order_id": 5}, on_error="continue"))

    assert entry["error"] == "item 0: Shopify refused deleting order 5 (404): Not Found"
    assert entry["error_details"]["item_index"] == 0


def test_parameters_are_checked_before_calling_shopify(shopify: FakeShopify) -> None:
    no_lines = failure(order(shopify, {"email": "ada@example.com"}))
    half_line = failure(order(shopify, {"line_items": [{"title": "Mug"}]}))
    bad_price = failure(order(shopify, {"line_items": [{"title": "Mug", "price": "cheap"}]}))
    no_id = failure(order(shopify, {"operation": "update", "note": "x"}))
    nothing = failure(order(shopify, {"operation": "update", "order_id": 3}))
    bad_date = failure(order(shopify, {"operation": "get_many", "created_at_min": "last week"}))

    assert "create needs at least one line item" in no_lines["message"]
    assert "a line item needs a variant id, or a title and a price" in half_line["message"]
    assert "the price 'cheap' of 'Mug' is not a number" in bad_price["message"]
    assert "update needs the order id" in no_id["message"]
    assert "update needs a note, tags, an email or a shipping address" in nothing["message"]
    assert "'Created after' is not an ISO 8601 date and time" in bad_date["message"]
    assert shopify.received() == []


def test_the_credential_test_names_the_shop_and_reads_a_subdomain(shopify: FakeShopify) -> None:
    assert ShopifyApiCredential.test_connection(shopify.credential()) == "Connected to Acme Goods (acme.myshopify.com)"
    fields = ShopifyApiCredential.parse({"shop": " Acme.myshopify.com ", "access_token": TOKEN})
    assert fields.base_url == "https://acme.myshopify.com"

    with pytest.raises(NodeError) as refused:
        ShopifyApiCredential.test_connection(shopify.credential("shpat_revoked"))
    with pytest.raises(NodeError) as bad_shop:
        ShopifyApiCredential.parse({"shop": "acme shop", "access_token": TOKEN})

    assert refused.value.message.startswith("Shopify refused checking the access token (401): [API] Invalid API key")
    assert "shop" in bad_shop.value.message
    assert shopify.received("GET", "/shop.json")[0].headers["x-shopify-access-token"] == TOKEN
