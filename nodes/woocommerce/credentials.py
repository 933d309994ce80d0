"""The WooCommerce API credential: the store's address and a REST API consumer key and secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param


class WoocommerceApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_url: ApiUrl = param(
        title="Store URL",
        description="The WordPress site's address, https://shop.example.com; WooCommerce takes these keys "
        "over https only.",
        placeholder="https://shop.example.com",
        min_length=1,
    )
    consumer_key: ApiToken = param(
        title="Consumer key",
        description="WooCommerce → Settings → Advanced → REST API → Add key (Read/Write); starts with ck_.",
        widget="password",
        min_length=1,
    )
    consumer_secret: ApiToken = param(
        title="Consumer secret",
        description="Shown once beside the consumer key; starts with cs_.",
        widget="password",
        min_length=1,
    )

    @field_validator("store_url")
    @classmethod
    def _site(cls, value: str) -> str:
        # People paste the API's address as often as the site's.
        return value.split("/wp-json", 1)[0]


class WoocommerceApiCredential(CredentialType):
    id = "woocommerce_api"
    display_name = "WooCommerce API"
    description = "A WooCommerce store's address and a REST API consumer key and secret."
    Fields = WoocommerceApiFields
    secret_fields = frozenset({"consumer_key", "consumer_secret"})

    @classmethod
    def test_connection(cls, fields: WoocommerceApiFields | Mapping[str, Any]) -> str:
        """Read the store's currency, a small call that needs valid keys; returns ``Connected: the store sells in …``.

        Raises:
            NodeError: WooCommerce refuses the keys, or the address is not a WooCommerce store.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.woocommerce._client import WoocommerceClient

        with WoocommerceClient(cls.parse(fields)) as client:
            currency = client.request("GET", "/data/currencies/current", "checking the consumer key and secret")
        return f"Connected: the store sells in {currency.get('name') or 'its currency'} ({currency.get('code')})"
