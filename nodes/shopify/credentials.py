"""The Shopify Admin API credential: the shop's address and a custom app's Admin API access token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, CredentialType, param

SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ShopifyApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: str = param(
        title="Shop",
        description="The shop's subdomain: acme for acme.myshopify.com; or a full https:// address "
        "(a proxy or a test server).",
        placeholder="acme",
        min_length=1,
    )
    access_token: ApiToken = param(
        title="Admin API access token",
        description="The token of a custom app (Settings → Apps and sales channels → Develop apps → the app → "
        "API credentials), starting with shpat_; the app needs the read and write scopes for orders and products.",
        widget="password",
        min_length=1,
    )

    @field_validator("shop")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.startswith(("https://", "http://")):
            return value.split("/admin", 1)[0]
        value = value.lower().removesuffix(".myshopify.com")
        if not SHOP.match(value):
            raise ValueError("give the shop's subdomain (acme for acme.myshopify.com) or a full https:// address")
        return value

    @property
    def base_url(self) -> str:
        """The shop's address, without ``/admin``."""
        if "://" in self.shop:
            return self.shop
        return f"https://{self.shop}.myshopify.com"


class ShopifyApiCredential(CredentialType):
    id = "shopify_api"
    display_name = "Shopify Admin API"
    description = "A Shopify shop and the Admin API access token of one of its custom apps."
    Fields = ShopifyApiFields
    secret_fields = frozenset({"access_token"})

    @classmethod
    def test_connection(cls, fields: ShopifyApiFields | Mapping[str, Any]) -> str:
        """Ask Shopify which shop the token opens; returns ``Connected to <shop name> (<domain>)``.

        Raises:
            NodeError: Shopify refuses the token or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.shopify._client import ShopifyClient

        with ShopifyClient(cls.parse(fields)) as client:
            shop = client.request("GET", "/shop.json", "checking the access token").get("shop") or {}
        return f"Connected to {shop.get('name') or 'the shop'} ({shop.get('myshopify_domain') or shop.get('domain')})"
