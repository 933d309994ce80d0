"""Shopify Product (shopify.product), through the engine against the fake Shopify."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.shopify_server import TOKEN, FakeShopify, fake_shopify_server
from tests.nodes.integrations import failure, host_for, outputs, run_node


@pytest.fixture
def shopify() -> Iterator[FakeShopify]:
    with fake_shopify_server() as server:
        yield server


def product(
    shopify: FakeShopify,
    parameters: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    token: str = TOKEN,
    **settings: Any,
) -> RunResult:
    host = host_for(shopify.credential(token))
    return run_node("shopify.product", parameters, items, credential_type="shopify_api", host=host, **settings)


def test_create_a_product_per_item_with_variants(shopify: FakeShopify) -> None:
    parameters = {
        "title": "{{ $json.name }} mug",
        "body_html": "<p>Holds {{ $json.ml }} ml.</p>",
        "vendor": "Acme",
        "product_type": "Mugs",
        "tags": ["kitchen", "{{ $json.colour }}"],
        "status": "draft",
        "variants": [
            {"price": "{{ $json.price }}", "sku": "MUG-{{ $json.colour }}-S", "option1": "Small"},
            {"price": 14, "sku": "MUG-{{ $json.colour }}-L", "option1": "Large", "compare_at_price": "16.00"},
        ],
    }
    items = [
        {"name": "Red", "ml": 300, "colour": "red", "price": 12.5},
        {"name": "Blue", "ml": 350, "colour": "blue", "price": 13},
    ]

    created = outputs(product(shopify, parameters, items))

    assert [entry["title"] for entry in created] == ["Red mug", "Blue mug"]
    assert [entry["status"] for entry in created] == ["draft", "draft"]
    assert [variant["sku"] for variant in created[1]["variants"]] == ["MUG-blue-S", "MUG-blue-L"]
    assert shopify.received("POST", "/products.json")[0].body == {
        "product": {
            "title": "Red mug",
            "vendor": "Acme",
            "product_type": "Mugs",
            "body_html": "<p>Holds 300 ml.</p>",
            "tags": "kitchen, red",
            "status": "draft",
            "variants": [
                {"price": "12.5", "sku": "MUG-red-S", "option1": "Small"},
                {"price": "14", "sku": "MUG-red-L", "option1": "Large", "compare_at_price": "16.00"},
            ],
        }
    }


def test_get_update_and_delete_a_product(shopify: FakeShopify) -> None:
    made = shopify.add_product("Poster", vendor="Acme", tags="wall")

    (found,) = outputs(product(shopify, {"operation": "get", "product_id": "{{ $json.id }}"}, [{"id": made["id"]}]))
    (updated,) = outputs(
        product(shopify, {"operation": "update", "product_id": made["id"], "status": "archived", "tags": "sale, wall"})
    )
    (deleted,) = outputs(product(shopify, {"operation": "delete", "product_id": made["id"]}))

    assert found["title"] == "Poster" and found["variants"][0]["title"] == "Default Title"
    assert shopify.received("PUT", f"/products/{made['id']}.json")[0].body == {
        "product": {"id": made["id"], "tags": "sale, wall", "status": "archived"}
    }
    assert (updated["title"], updated["status"], updated["tags"]) == ("Poster", "archived", "sale, wall")
    assert deleted == {"id": made["id"], "deleted": True}
    assert shopify.products == {}


def test_get_many_filters_and_pages(shopify: FakeShopify) -> None:
    for n in range(1, 301):
        shopify.add_product(
            f"Item {n}", vendor="Acme" if n % 2 else "Other", status="draft" if n % 3 == 0 else "active"
        )

    drafts_by_acme = outputs(
        product(
            shopify,
            {"operation": "get_many", "vendor_filter": "Acme", "status_filter": "draft", "return_all": True},
        )
    )
    everything = outputs(product(shopify, {"operation": "get_many", "return_all": True}))
    two = outputs(product(shopify, {"operation": "get_many", "limit": 2, "title_filter": "Item 7"}))

    assert [entry["title"] for entry in drafts_by_acme][:3] == ["Item 3", "Item 9", "Item 15"]
    assert len(drafts_by_acme) == 50
    assert len(everything) == 300
    assert [entry["title"] for entry in two] == ["Item 7"]
    requests = shopify.received("GET", "/products.json")
    assert requests[0].query == {"vendor": "Acme", "status": "draft", "limit": "250"}
    assert [sorted(request.query) for request in requests[1:4]] == [
        ["limit"],
        ["limit", "page_info"],
        ["limit", "title"],
    ]


def test_shopify_refusals_are_explained(shopify: FakeShopify) -> None:
    twins = failure(product(shopify, {"title": "Tee", "variants": [{"price": "9"}, {"price": "10"}]}))
    missing = failure(product(shopify, {"operation": "update", "product_id": 77, "title": "New"}))
    wrong_token = failure(product(shopify, {"title": "Tee"}, token="shpat_wrong"))

    assert (
        twins["message"]
        == "item 0: Shopify refused creating a product (422): The variant 'Default Title' already exists."
    )
    assert missing["message"] == "item 0: Shopify refused updating product 77 (404): Not Found"
    assert wrong_token["message"].startswith("item 0: Shopify refused creating a product (401): [API] Invalid API key")
    assert shopify.products == {}


def test_continue_on_fail_keeps_going_and_parameters_are_checked_first(shopify: FakeShopify) -> None:
    (entry,) = outputs(product(shopify, {"operation": "get", "product_id": 4}, on_error="continue"))
    no_title = failure(product(shopify, {"vendor": "Acme"}))
    no_price = failure(product(shopify, {"title": "Tee", "variants": '[{"sku": "T-1"}]'}))
    nothing = failure(product(shopify, {"operation": "update", "product_id": 4}))

    assert entry["error"] == "item 0: Shopify refused getting product 4 (404): Not Found"
    assert "create needs a title" in no_title["message"]
    assert "price" in no_price["message"]
    assert "update needs a field to change" in nothing["message"]
    assert len(shopify.received()) == 1
