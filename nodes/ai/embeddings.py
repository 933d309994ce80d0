"""AI Embeddings: a vector per item's text, many items per request."""

from __future__ import annotations

from typing import Any

from nodes.ai._chat import ModelParameters, annotated, open_client, required_text
from nodes.ai.credentials import call
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, param

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"


class EmbeddingsParameters(ModelParameters):
    model: str = param(
        DEFAULT_EMBEDDING_MODEL,
        title="Model",
        description="An embedding model the credential's server offers.",
        min_length=1,
        no_expressions=True,
    )
    text: str = param(title="Text", placeholder="{{ $json.text }}", widget="textarea")
    dimensions: int | None = param(
        None,
        title="Dimensions",
        description="Shorter vectors (text-embedding-3 models only). Empty: the model's size.",
        advanced=True,
        ge=1,
        le=8192,
        no_expressions=True,
    )
    batch_size: int = param(
        100,
        title="Items per request",
        description="Texts sent together; the API takes up to 2048.",
        advanced=True,
        ge=1,
        le=2048,
        no_expressions=True,
    )
    result_field: str = param("embedding", title="Put the vector in", min_length=1)


class EmbeddingsNode(Node):
    type = "ai.embeddings"
    display_name = "AI Embeddings"
    category = Category.AI
    description = "Adds an embedding vector of each item's text, for search, clustering or deduplication."
    icon = "scatter-chart"
    Parameters = EmbeddingsParameters
    credentials = (CredentialRequirement("openai_api"),)
    subtitle = "model"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        # Model, dimensions and batch size take no expressions, so every item shares one request shape.
        first: EmbeddingsParameters = ctx.params(0)
        client, fields = open_client(ctx, first)
        texts: list[str] = []
        targets: list[str] = []
        for index in range(len(items)):
            params: EmbeddingsParameters = ctx.params(index)
            texts.append(required_text(params.text, index))
            targets.append(params.result_field)
        options: dict[str, Any] = {"model": first.model}
        if first.dimensions:
            options["dimensions"] = first.dimensions
        produced: list[Item] = []
        for start in range(0, len(texts), first.batch_size):
            batch = texts[start : start + first.batch_size]
            last = start + len(batch) - 1
            action = (
                f"the embeddings of items {start} to {last}" if len(batch) > 1 else f"the embedding of item {start}"
            )
            response = call(fields, action, lambda batch=batch: client.embeddings.create(input=batch, **options))
            vectors = {entry.index: list(entry.embedding) for entry in response.data}
            if sorted(vectors) != list(range(len(batch))):
                raise NodeError(
                    f"{action}: the server returned {len(vectors)} vectors for {len(batch)} texts",
                    description="The server does not follow the embeddings API; check the base URL.",
                )
            for offset in range(len(batch)):
                index = start + offset
                produced.append(annotated(items[index], index, targets[index], vectors[offset]))
        return [produced]
