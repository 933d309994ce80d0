"""Form: pause the run until someone fills in a form built from a JSON Schema.

When a run reaches the node it pauses (no worker held) and the studio makes a
secret, single-use form link (``/form/<run id>/<token>``), shown with the
waiting run (``GET /api/v1/executions/{id}``, ``waiting_for.resume_url``). The
page shows ``title``, ``description`` and one control per property of
``form_schema``; what is submitted is checked against the schema (a wrong
answer is shown again with each problem next to its field, the link still
unused). A valid submission resumes the run on the workflow version it
started on: each paused item comes out with the submitted fields merged in and
``form: {"submitted_at"}``. Without a submission within ``timeout_seconds``
(when set) the run fails, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import field_validator

from hitl_studio.approvals.forms import schema_problem
from nodes.sdk import Category, Context, Item, Node, Parameters, Wait, param


class FormParameters(Parameters):
    title: str = param(title="Title", placeholder="Tell us about order {{ $json.order }}", min_length=1)
    description: str = param("", title="Description", widget="textarea")
    form_schema: dict[str, Any] = param(
        default_factory=dict,
        title="Fields (JSON Schema)",
        description='An object schema ("type": "object"); each property becomes a field.',
        widget="json",
    )
    submit_label: str = param("Submit", title="Button label", min_length=1)
    timeout_seconds: int | None = param(
        None,
        title="Deadline (seconds)",
        description="Fail the run when nobody submits in time; empty waits as long as it takes.",
        ge=1,
    )

    @field_validator("form_schema")
    @classmethod
    def _usable_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        problem = schema_problem(schema)
        if problem:
            raise ValueError(f"not a usable form schema: {problem}")
        return schema


class FormNode(Node):
    type = "human.form"
    display_name = "Form"
    category = Category.HUMAN
    description = "Pauses the run until someone submits a form built from a JSON Schema, then continues with it."
    icon = "clipboard-list"
    Parameters = FormParameters
    subtitle = "title"

    def execute(self, ctx: Context, items: list[Item]) -> Wait:
        params: FormParameters = ctx.params(0)
        return Wait(kind="form", data=params.model_dump(mode="json"), passthrough=list(items))


def resume_items(inputs: list[Item], fields: Mapping[str, Any], submitted_at: str) -> list[Item]:
    """The node's items on resume: each paused item with the submitted fields and ``form.submitted_at``."""
    return [
        Item({**item.json, **dict(fields), "form": {"submitted_at": submitted_at}}, item.binary, item.paired_item)
        for item in inputs
    ]
