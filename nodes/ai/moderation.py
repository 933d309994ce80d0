"""AI Moderation: checks each item's text with a moderation model and routes it to 'passed' or 'flagged'."""

from __future__ import annotations

from typing import Any

from nodes.ai._chat import ModelParameters, annotated, open_client, required_text
from nodes.ai.credentials import call
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, param

DEFAULT_MODERATION_MODEL = "omni-moderation-latest"
BATCH_SIZE = 32


class ModerationParameters(ModelParameters):
    model: str = param(
        DEFAULT_MODERATION_MODEL,
        title="Model",
        description="A moderation model the credential's server offers.",
        min_length=1,
        no_expressions=True,
    )
    text: str = param(title="Text", placeholder="{{ $json.comment }}", widget="textarea")
    result_field: str = param(
        "moderation",
        title="Put the result in",
        description="flagged, the flagged categories, and every category's score.",
        min_length=1,
    )


def _result(entry: Any) -> dict[str, Any]:
    # Dumped by alias: the API's own category names ("self-harm/intent"), not the SDK's attribute names.
    categories = entry.categories.model_dump(by_alias=True)
    scores = entry.category_scores.model_dump(by_alias=True)
    return {
        "flagged": bool(entry.flagged),
        "categories": sorted(name for name, hit in categories.items() if hit),
        "scores": {name: score for name, score in scores.items() if score is not None},
    }


class ModerationNode(Node):
    type = "ai.moderation"
    display_name = "AI Moderation"
    category = Category.AI
    description = "Checks each item's text for harmful content and sends it to the passed or flagged output."
    icon = "shield-alert"
    outputs = ("passed", "flagged")
    Parameters = ModerationParameters
    credentials = (CredentialRequirement("openai_api"),)

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[], []]
        first: ModerationParameters = ctx.params(0)
        client, fields = open_client(ctx, first)
        texts: list[str] = []
        targets: list[str] = []
        for index in range(len(items)):
            params: ModerationParameters = ctx.params(index)
            texts.append(required_text(params.text, index))
            targets.append(params.result_field)
        passed: list[Item] = []
        flagged: list[Item] = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start : start + BATCH_SIZE]
            action = f"moderating items {start} to {start + len(batch) - 1}"
            response = call(
                fields, action, lambda batch=batch: client.moderations.create(model=first.model, input=batch)
            )
            if len(response.results) != len(batch):
                raise NodeError(
                    f"{action}: the server returned {len(response.results)} results for {len(batch)} texts",
                    description="The server does not follow the moderations API; check the base URL.",
                )
            for offset, entry in enumerate(response.results):
                index = start + offset
                result = _result(entry)
                target = flagged if result["flagged"] else passed
                target.append(annotated(items[index], index, targets[index], result))
        return [passed, flagged]
