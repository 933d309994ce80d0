"""Wait for Webhook: pause the run until someone calls its resume URL.

When a run reaches the node it pauses (no worker held) and the studio makes a
secret, single-use resume URL (``/resume/<run id>/<token>``), shown with the
waiting run (``GET /api/v1/executions/{id}``, ``waiting_for.resume_url``).
Calling it with the chosen HTTP method resumes the run on the workflow version
it started on: each paused item comes out with the request merged in as
``webhook`` (``headers``, ``query``, ``body``). Without a call within
``timeout_seconds`` (when set) the run fails, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from nodes.sdk import Category, Context, Item, Node, Parameters, Wait, param


class WaitForWebhookParameters(Parameters):
    http_method: Literal["GET", "POST"] = param(
        "POST", title="HTTP method", description="The method the resume URL accepts.", no_expressions=True
    )
    timeout_seconds: int | None = param(
        None,
        title="Deadline (seconds)",
        description="Fail the run when nobody calls the URL in time; empty waits as long as it takes.",
        ge=1,
    )
    response: str = param(
        "",
        title="Response message",
        description="Text returned to whoever calls the resume URL (in the JSON answer's 'message').",
        widget="textarea",
    )


class WaitForWebhookNode(Node):
    type = "human.wait_for_webhook"
    display_name = "Wait for Webhook"
    category = Category.HUMAN
    description = "Pauses the run until its secret resume URL is called, then continues with the request's data."
    icon = "webhook"
    Parameters = WaitForWebhookParameters
    subtitle = "http_method"

    def execute(self, ctx: Context, items: list[Item]) -> Wait:
        params: WaitForWebhookParameters = ctx.params(0)
        data = {"method": params.http_method, "timeout_seconds": params.timeout_seconds, "response": params.response}
        return Wait(kind="webhook", data=data, passthrough=list(items))


def resume_items(
    inputs: list[Item], request: Mapping[str, Any], binary: Mapping[str, dict[str, Any]] | None = None
) -> list[Item]:
    """The node's items on resume: each paused item with ``webhook`` = the call's headers, query and body."""
    call = {"headers": dict(request.get("headers") or {}), "query": dict(request.get("query") or {})}
    call["body"] = request.get("body")
    return [
        Item({**item.json, "webhook": call}, {**item.binary, **dict(binary or {})}, item.paired_item) for item in inputs
    ]
