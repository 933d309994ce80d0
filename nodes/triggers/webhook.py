"""Webhook trigger: ``ANY /webhook/{path}`` starts a run with the request as its item."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from nodes.sdk import Category, Context, Item, NodeOutput, Parameters, TriggerKind, TriggerNode, param

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
ResponseMode = Literal["immediately", "last_node", "respond_node"]
WebhookAuth = Literal["none", "header", "hmac"]


class WebhookParameters(Parameters):
    path: str = param(
        title="Path",
        description="The URL is /webhook/<path>; segments like :id become path parameters.",
        placeholder="orders/:id",
        no_expressions=True,
        min_length=1,
        max_length=200,
    )
    method: HttpMethod = param("POST", title="HTTP method", no_expressions=True)
    response_mode: ResponseMode = param(
        "immediately",
        title="Respond",
        description="immediately: 202 with the execution id; last_node: the last node's items as JSON; "
        "respond_node: what a Respond to Webhook node sends.",
        no_expressions=True,
    )
    authentication: WebhookAuth = param(
        "none",
        title="Authentication",
        description="header: a header must equal a secret; hmac: X-Signature must be the HMAC-SHA256 of the body.",
        advanced=True,
        no_expressions=True,
    )
    header_name: str = param(
        "X-Webhook-Secret", title="Header name", show_if={"authentication": ["header"]}, no_expressions=True
    )
    secret: str = param(
        "", title="Secret", widget="password", show_if={"authentication": ["header", "hmac"]}, no_expressions=True
    )


def webhook_item(request: dict[str, Any]) -> dict[str, Any]:
    """The item a webhook run starts with: exactly ``{"headers", "params", "query", "body"}``."""
    return {
        "headers": dict(request.get("headers") or {}),
        "params": dict(request.get("params") or {}),
        "query": dict(request.get("query") or {}),
        "body": request.get("body"),
    }


class WebhookTrigger(TriggerNode):
    type = "trigger.webhook"
    display_name = "Webhook"
    category = Category.TRIGGER
    description = "Starts the workflow when an HTTP request reaches its URL; can answer with the workflow's result."
    icon = "webhook"
    Parameters = WebhookParameters
    trigger_kind: ClassVar[TriggerKind] = TriggerKind.WEBHOOK
    subtitle = "path"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        return [[Item(webhook_item(item.json), binary=item.binary) for item in items]]
