"""Approval: pause the run until people approve or reject (or the deadline passes).

The node asks for one approval request for all its items. The run waits
without holding a worker; on the decision it resumes on the ``approved``,
``rejected`` or ``timeout`` output, each item carrying ``approval`` (who
decided, when, the feedback) and, when the approver edited the form, the
edited fields merged into the item.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from nodes.sdk import Category, Context, Item, Node, Parameters, Wait, param

Channel = Literal["studio", "slack", "email", "sms"]


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approvers: list[str] = param(title="Approvers", description="Emails of users, or group:<name>.", min_length=1)
    timeout_seconds: int = param(3600, title="Time to decide (seconds)", ge=1)


class ApprovalParameters(Parameters):
    title: str = param(title="Title", placeholder="Refund {{ $json.amount }} € to {{ $json.customer }}?", min_length=1)
    description: str = param("", title="Description", widget="textarea")
    approvers: list[str] = param(
        title="Approvers", description="Emails of users, or group:<name>.", min_length=1, placeholder="ana@example.com"
    )
    channels: list[Channel] = param(
        default_factory=lambda: ["studio"], title="Reach them on", description="The studio inbox is always included."
    )
    ui_schema: dict[str, Any] = param(
        default_factory=dict,
        title="Form (JSON Schema)",
        description="Fields the approver can review and edit; the edited values go into the items.",
        widget="json",
    )
    timeout_seconds: int | None = param(None, title="Deadline (seconds)", ge=1)
    timeout_action: Literal["reject", "approve", "escalate"] = param(
        "reject",
        title="When nobody decides in time",
        description="reject: continue on 'timeout'; approve: continue on 'approved'; escalate: ask the next tier.",
        no_expressions=True,
    )
    escalation: list[Tier] = param(
        default_factory=list, title="Escalation tiers", show_if={"timeout_action": ["escalate"]}
    )
    quorum: int = param(1, title="Approvals needed", description="Any single reject still vetoes.", ge=1)


class ApprovalNode(Node):
    type = "human.approval"
    display_name = "Approval"
    category = Category.HUMAN
    description = "Pauses the run until the approvers approve or reject, in the studio, on Slack, by email or SMS."
    icon = "user-check"
    outputs = ("approved", "rejected", "timeout")
    Parameters = ApprovalParameters
    subtitle = "title"

    def execute(self, ctx: Context, items: list[Item]) -> Wait:
        params: ApprovalParameters = ctx.params(0)
        request = params.model_dump(mode="json")
        request["action_data"] = {"items": [item.json for item in items]}
        return Wait(kind="approval", data=request, passthrough=list(items))
