"""Slack User: a workspace member's profile, by user id or by email address."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.slack.credentials import call, client_for


class SlackUserParameters(Parameters):
    operation: Literal["info", "lookup_by_email"] = param(
        "info",
        title="Operation",
        description="info: by user id (needs users:read); lookup_by_email: by address (also needs users:read.email).",
        no_expressions=True,
    )
    user: str = param("", title="User id", placeholder="U0123456789", show_if={"operation": ["info"]})
    email: str = param("", title="Email", placeholder="ada@example.com", show_if={"operation": ["lookup_by_email"]})

    @model_validator(mode="after")
    def _needs(self) -> SlackUserParameters:
        if self.operation == "info" and not self.user.strip():
            raise ValueError("info needs a user id")
        if self.operation == "lookup_by_email" and "@" not in self.email:
            raise ValueError("lookup_by_email needs an email address")
        return self


class SlackUserNode(Node):
    type = "slack.user"
    display_name = "Slack User"
    category = Category.INTEGRATION
    description = "Outputs a Slack member's profile, found by user id or by email address, per item."
    icon = "user-round"
    Parameters = SlackUserParameters
    credentials = (CredentialRequirement("slack_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        client = client_for(ctx)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SlackUserParameters = ctx.params(index)
            if params.operation == "info":
                user = params.user.strip()
                answer = call(client, "users_info", f"the profile of {user}", item_index=index, user=user)
            else:
                email = params.email.strip()
                answer = call(client, "users_lookupByEmail", f"looking up {email}", item_index=index, email=email)
            produced.append(Item(dict(answer.get("user") or {}), paired_item=index))
        return [produced]
