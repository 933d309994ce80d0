"""Send and Wait: send people a message and pause until one answers (approve/reject, or a text reply).

A lighter Approval: one output, and every answer continues on it. Each item
carries ``approval`` (``status`` approved / rejected / timeout, who answered
and when) and, for a text reply, the ``reply``. Built on the same approval
requests, so it reaches people on the same channels (studio inbox, Slack,
email, SMS).
"""

from __future__ import annotations

from typing import Any, Literal

from nodes.sdk import Category, Context, Item, Node, Parameters, Wait, param

Channel = Literal["studio", "slack", "email", "sms"]

REPLY_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {"reply": {"type": "string", "title": "Your reply", "minLength": 1, "x-widget": "textarea"}},
    "required": ["reply"],
}


class SendAndWaitParameters(Parameters):
    to: list[str] = param(title="Send to", description="Emails of users, or group:<name>.", min_length=1)
    channel: Channel = param("email", title="Channel", description="The studio inbox is always included.")
    subject: str = param(title="Subject", placeholder="Can you ship order {{ $json.order }} today?", min_length=1)
    message: str = param("", title="Message", widget="textarea")
    response_type: Literal["approval", "free_text"] = param(
        "approval",
        title="Response",
        description="approval: approve or reject buttons; free_text: the person types a reply.",
        no_expressions=True,
    )
    timeout_seconds: int | None = param(None, title="Stop waiting after (seconds)", ge=1)


class SendAndWaitNode(Node):
    type = "human.send_and_wait"
    display_name = "Send and Wait"
    category = Category.HUMAN
    description = "Sends a message on a channel and pauses until someone answers, then continues with the answer."
    icon = "message-square-reply"
    Parameters = SendAndWaitParameters
    subtitle = "subject"

    def execute(self, ctx: Context, items: list[Item]) -> Wait:
        params: SendAndWaitParameters = ctx.params(0)
        request = {
            "title": params.subject,
            "description": params.message,
            "approvers": params.to,
            "channels": [params.channel],
            "ui_schema": REPLY_FORM if params.response_type == "free_text" else {},
            "timeout_seconds": params.timeout_seconds,
            "timeout_action": "reject",
            "action_data": {"items": [item.json for item in items], "response_type": params.response_type},
        }
        return Wait(kind="approval", data=request, passthrough=list(items))
