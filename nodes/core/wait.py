"""Wait: pause the run for a time or until a date, without holding a worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, Wait, param

Unit = Literal["seconds", "minutes", "hours", "days"]


class WaitParameters(Parameters):
    resume: Literal["interval", "until"] = param("interval", title="Resume", no_expressions=True)
    amount: float = param(1, title="Wait for", ge=0, show_if={"resume": ["interval"]})
    unit: Unit = param("minutes", title="Unit", show_if={"resume": ["interval"]}, no_expressions=True)
    until: str = param(
        "",
        title="Until (date and time)",
        description="ISO 8601, e.g. 2026-12-24T09:00:00+01:00; a time without zone is taken as UTC.",
        widget="datetime",
        show_if={"resume": ["until"]},
    )


class WaitNode(Node):
    type = "core.wait"
    display_name = "Wait"
    category = Category.FLOW
    description = "Pauses the run for a while or until a date; the run resumes on its own, even after a restart."
    icon = "hourglass"
    Parameters = WaitParameters

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput | Wait:
        params = ctx.params()
        if params.resume == "interval":
            resume_at = datetime.now(UTC) + timedelta(**{params.unit: params.amount})
        else:
            try:
                resume_at = datetime.fromisoformat(params.until)
            except ValueError as err:
                raise NodeError(
                    f"'until' is not a date: {params.until!r}", description="Use ISO 8601.", item_index=0
                ) from err
            if resume_at.tzinfo is None:
                resume_at = resume_at.replace(tzinfo=UTC)
        if resume_at <= datetime.now(UTC):
            return [items]
        return Wait(kind="time", resume_at=resume_at.astimezone(UTC), passthrough=list(items))
