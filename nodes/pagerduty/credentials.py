"""The PagerDuty credentials: a REST API token with the From email writes need, and an Events API routing key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import ApiToken, ApiUrl, CredentialType, NodeError, param

PAGERDUTY_API_URL = "https://api.pagerduty.com"
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PagerdutyApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_token: ApiToken = param(
        title="API token",
        description="A REST API key (Integrations → API Access Keys; not read-only to create or change incidents) "
        "or a user's API token (My Profile → User Settings).",
        widget="password",
        min_length=1,
    )
    from_email: str = param(
        title="From email",
        description="The email address of a user in the account: PagerDuty records incidents, changes and notes "
        "made through the API as this user's, and refuses them without it.",
        placeholder="oncall@acme.com",
        min_length=3,
    )
    api_url: ApiUrl = param(
        PAGERDUTY_API_URL,
        title="API URL",
        description="PagerDuty's REST API; change it only for a proxy or a test server.",
        advanced=True,
    )

    @field_validator("from_email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if not EMAIL.match(value):
            raise ValueError("the email address of a PagerDuty user, such as oncall@acme.com")
        return value


class PagerdutyApiCredential(CredentialType):
    id = "pagerduty_api"
    display_name = "PagerDuty API"
    description = "A PagerDuty REST API token and the email of the user the workflow acts as."
    Fields = PagerdutyApiFields
    secret_fields = frozenset({"api_token"})

    @classmethod
    def test_connection(cls, fields: PagerdutyApiFields | Mapping[str, Any]) -> str:
        """Check the token by looking the From email up among the account's users.

        One call checks both halves: PagerDuty refuses a bad token, and a From email that matches no user would
        make every write fail later.

        Raises:
            NodeError: PagerDuty refuses the token, cannot be reached, or has no user with the From email.
        """
        # Imported here: the client module imports this one for the fields model.
        from nodes.pagerduty._client import PagerdutyClient

        parsed = cls.parse(fields)
        with PagerdutyClient(parsed) as client:
            answer = client.request("GET", "/users", "checking the token", params={"query": parsed.from_email})
        wanted = parsed.from_email.casefold()
        user = next(
            (u for u in answer.get("users") or [] if str(u.get("email") or "").casefold() == wanted),
            None,
        )
        if user is None:
            raise NodeError(
                f"PagerDuty accepted the token, but no user in the account has the email {parsed.from_email}",
                description="Set the From email to the address of a PagerDuty user (People → Users).",
            )
        return f"Connected; changes are made as {user.get('name') or user.get('email')}"


class PagerdutyEventsFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: str = param(
        "",
        title="Integration key",
        description="The Events API v2 integration key of a service (Service → Integrations) or a global ruleset; "
        "empty when each node gives its own.",
        widget="password",
    )
    events_url: ApiUrl = param(
        PAGERDUTY_EVENTS_URL,
        title="Events API URL",
        description="PagerDuty's Events API; change it only for a proxy or a test server.",
        advanced=True,
    )

    @field_validator("routing_key")
    @classmethod
    def _bare(cls, value: str) -> str:
        value = value.strip()
        if any(char.isspace() for char in value):
            raise ValueError("paste the integration key alone, without spaces")
        return value


class PagerdutyEventsCredential(CredentialType):
    id = "pagerduty_events"
    display_name = "PagerDuty Events API"
    description = "A PagerDuty Events API v2 integration (routing) key."
    Fields = PagerdutyEventsFields
    secret_fields = frozenset({"routing_key"})
