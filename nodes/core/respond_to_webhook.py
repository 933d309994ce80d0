"""Respond to Webhook: choose the HTTP answer of a webhook run (response mode ``respond_node``)."""

from __future__ import annotations

from typing import Any, Literal

from nodes.sdk import Category, Context, Item, Node, NodeOutput, Parameters, param


class RespondParameters(Parameters):
    respond_with: Literal["first_item", "all_items", "text", "json", "no_data"] = param(
        "first_item", title="Respond with", no_expressions=True
    )
    body: Any = param(
        None, title="Response body", show_if={"respond_with": ["text", "json"]}, placeholder='{"ok": true}'
    )
    status_code: int = param(200, title="Status code", ge=100, le=599)
    headers: dict[str, str] = param(default_factory=dict, title="Headers", widget="json", advanced=True)


def response_from(params: RespondParameters, items: list[Item]) -> dict[str, Any]:
    """The HTTP response this node asks for: ``{"status", "headers", "body"}`` (body is JSON-able or text)."""
    match params.respond_with:
        case "first_item":
            body: Any = items[0].json if items else {}
        case "all_items":
            body = [item.json for item in items]
        case "no_data":
            body = None
        case _:
            body = params.body
    return {"status": params.status_code, "headers": dict(params.headers), "body": body}


class RespondToWebhookNode(Node):
    type = "core.respond_to_webhook"
    display_name = "Respond to Webhook"
    category = Category.FLOW
    description = "Sets the status, headers and body the webhook caller receives; the run goes on after it."
    icon = "reply"
    Parameters = RespondParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        response = response_from(ctx.params(0), items)
        # The engine hands the first response of a run to the waiting webhook caller as soon as this
        # node succeeds (response mode respond_node), then the run goes on; it is kept in the run state.
        ctx.state["response"] = response
        return [items]
