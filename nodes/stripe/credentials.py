"""The Stripe API credential: a secret or restricted key and the API's URL, with a connection test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, param

STRIPE_API_URL = "https://api.stripe.com"


class StripeApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret_key: ApiToken = param(
        title="Secret key",
        description="A secret key (sk_live_… or sk_test_…) or a restricted key (rk_…) from Developers → API keys; "
        "a test-mode key sees only test data.",
        widget="password",
        min_length=1,
    )
    api_url: ApiUrl = param(
        STRIPE_API_URL,
        title="API URL",
        description="Stripe's API; change it only for a proxy or a test server.",
        advanced=True,
    )

    @field_validator("secret_key")
    @classmethod
    def _not_publishable(cls, value: str) -> str:
        # A publishable key authenticates nothing these nodes call: say so before Stripe answers a vaguer 401.
        if value.startswith("pk_"):
            raise ValueError("this is the publishable key (pk_…): paste the secret key (sk_…) or a restricted key")
        return value


class StripeApiCredential(CredentialType):
    id = "stripe_api"
    display_name = "Stripe API"
    description = "A Stripe secret or restricted key, for the live or the test mode of an account."
    Fields = StripeApiFields
    secret_fields = frozenset({"secret_key"})

    @classmethod
    def test_connection(cls, fields: StripeApiFields | Mapping[str, Any]) -> str:
        """Read the account's balance, the cheapest call every key may make; returns the mode it connected in.

        Raises:
            NodeError: Stripe refuses the key or cannot be reached.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.stripe._client import StripeClient

        with StripeClient(cls.parse(fields)) as client:
            balance = client.request("GET", "/v1/balance", "checking the key")
        return f"Connected to Stripe in {'live' if balance.get('livemode') else 'test'} mode"
