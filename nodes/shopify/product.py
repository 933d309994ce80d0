"""Shopify Product: create, get, list, update or delete the products of a Shopify shop."""

from __future__ import annotations

import json
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
    number_as_text,
    param,
)
from nodes.shopify._client import ShopifyClient, names

Operation = Literal["create", "get", "get_many", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
UNCHANGED = "unchanged"


class Variant(BaseModel):
    """One variant of a new product: its price, stock keeping unit and option value."""

    model_config = ConfigDict(extra="forbid")

    price: str = param(title="Price", description="The unit price in the shop's currency: 19.99.")
    sku: str = param("", title="SKU", description="The stock keeping unit, unique in the shop.")
    option1: str = param(
        "", title="Option value", description="What tells this variant apart (Small, Red); empty: Default Title."
    )
    compare_at_price: str = param(
        "", title="Compare-at price", description="The former price, shown struck through; empty: none."
    )

    @field_validator("price", "compare_at_price", "sku", "option1", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return "" if value is None else number_as_text(value)

    @field_validator("price", "compare_at_price")
    @classmethod
    def _amount(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                Decimal(value)
            except InvalidOperation as err:
                raise ValueError(f"the price {value!r} is not a number such as 19.99") from err
        return value

    @model_validator(mode="after")
    def _priced(self) -> Variant:
        if not self.price:
            raise ValueError("a variant needs a price")
        return self

    def body(self) -> dict[str, str]:
        """The variant's given fields, as Shopify names them."""
        return {name: value.strip() for name, value in self.model_dump().items() if value.strip()}


class ShopifyProductParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a product per item; get one; get_many: one item per product; update one; delete one.",
        no_expressions=True,
    )
    product_id: int = param(
        0,
        title="Product id",
        description="The number at the end of the product's address in the Shopify admin.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    title: str = param(
        "", title="Title", description="update: empty keeps the current one.", show_if={"operation": WRITES}
    )
    body_html: str = param(
        "",
        title="Description (HTML)",
        description="The product's description, in HTML; update: empty keeps the current one.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    vendor: str = param("", title="Vendor", show_if={"operation": WRITES})
    product_type: str = param("", title="Product type", show_if={"operation": WRITES})
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="A list, or text separated by commas; update: replaces every tag (empty keeps them).",
        show_if={"operation": WRITES},
    )
    status: Literal["unchanged", "active", "draft", "archived"] = param(
        UNCHANGED,
        title="Status",
        description="create: unchanged means active (on sale in the shop's channels).",
        show_if={"operation": WRITES},
    )
    variants: list[Variant] = param(
        default_factory=list,
        title="Variants",
        description='Prices and SKUs; empty: one variant priced 0.00. An expression may give [{"price": "9.99", '
        '"sku": "MUG-1"}].',
        show_if={"operation": ["create"]},
    )
    title_filter: str = param(
        "", title="Title is", description="Only products with exactly this title.", show_if={"operation": ["get_many"]}
    )
    vendor_filter: str = param("", title="Vendor is", show_if={"operation": ["get_many"]})
    product_type_filter: str = param("", title="Product type is", show_if={"operation": ["get_many"]})
    status_filter: Literal["any", "active", "draft", "archived"] = param(
        "any", title="Status", show_if={"operation": ["get_many"]}
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' products.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many products per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return names(value)

    @field_validator("variants", mode="before")
    @classmethod
    def _variant_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            # Expressions and the JSON widget may hand the list over as text.
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError as err:
                raise ValueError(f"the variants are not valid JSON ({err})") from err
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _needs(self) -> ShopifyProductParameters:
        if self.operation in BY_ID and self.product_id < 1:
            raise ValueError(f"{self.operation} needs the product id")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs a title")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a field to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The product's fields to send, as Shopify names them; for create and update alike."""
        product: dict[str, Any] = {}
        for name in ("title", "vendor", "product_type"):
            value = str(getattr(self, name)).strip()
            if value:
                product[name] = value
        if self.body_html.strip():
            product["body_html"] = self.body_html
        if self.tags:
            product["tags"] = ", ".join(self.tags)
        if self.status != UNCHANGED:
            product["status"] = self.status
        if self.operation == "create" and self.variants:
            product["variants"] = [variant.body() for variant in self.variants]
        return product

    def filters(self) -> dict[str, str]:
        """The list's query parameters, leaving out those that filter nothing."""
        query = {
            "title": self.title_filter.strip(),
            "vendor": self.vendor_filter.strip(),
            "product_type": self.product_type_filter.strip(),
        }
        if self.status_filter != "any":
            query["status"] = self.status_filter
        return {name: value for name, value in query.items() if value}


class ShopifyProductNode(Node):
    type = "shopify.product"
    display_name = "Shopify Product"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates or deletes the products of a Shopify shop."
    icon = "package"
    Parameters = ShopifyProductParameters
    credentials = (CredentialRequirement("shopify_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with ShopifyClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: ShopifyProductParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: ShopifyClient, params: ShopifyProductParameters, index: int) -> list[dict[str, Any]]:
    number = params.product_id
    product = f"/products/{number}.json"
    match params.operation:
        case "create":
            answer = client.request(
                "POST", "/products.json", "creating a product", item_index=index, json={"product": params.changes()}
            )
            return [answer.get("product") or answer]
        case "get":
            return [client.request("GET", product, f"getting product {number}", item_index=index).get("product") or {}]
        case "get_many":
            return client.paginate(
                "/products.json",
                "products",
                "listing products",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=params.filters(),
            )
        case "update":
            body = {"product": {"id": number, **params.changes()}}
            answer = client.request("PUT", product, f"updating product {number}", item_index=index, json=body)
            return [answer.get("product") or answer]
        case "delete":
            client.request("DELETE", product, f"deleting product {number}", item_index=index)
            return [{"id": number, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
