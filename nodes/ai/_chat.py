"""What the AI nodes share: model parameters, one chat completion, a structured (JSON Schema) answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema
import openai

from nodes.ai.credentials import DEFAULT_TIMEOUT_SECONDS, OpenAiApiFields, call, client_for
from nodes.core.set import set_path
from nodes.sdk import Context, Item, NodeError, Parameters, param

DEFAULT_CHAT_MODEL = "gpt-4o-mini"


class ModelParameters(Parameters):
    model: str = param(
        DEFAULT_CHAT_MODEL,
        title="Model",
        description="A model id the credential's server offers (its Test lists them).",
        min_length=1,
    )
    max_retries: int = param(
        2,
        title="Max retries",
        description="Send again on rate limits (429) and server errors, waiting as the server's Retry-After says.",
        advanced=True,
        ge=0,
        le=10,
        no_expressions=True,
    )
    timeout: float = param(
        DEFAULT_TIMEOUT_SECONDS,
        title="Timeout (seconds)",
        description="Per request; the node's own timeout, when shorter, wins.",
        advanced=True,
        gt=0,
        le=600,
        no_expressions=True,
    )


class ChatParameters(ModelParameters):
    temperature: float | None = param(
        None,
        title="Temperature",
        description="0: the most likely answer; up to 2: more varied. Empty: the model's default.",
        advanced=True,
        ge=0,
        le=2,
    )
    max_tokens: int | None = param(
        None,
        title="Max tokens",
        description="The longest answer, in tokens (sent as max_completion_tokens). Empty: the model's limit.",
        advanced=True,
        ge=1,
    )


@dataclass(frozen=True)
class Answer:
    """The model's reply to one chat completion."""

    text: str
    finish_reason: str | None
    model: str
    usage: dict[str, int]

    def details(self) -> dict[str, Any]:
        return {"model": self.model, "finish_reason": self.finish_reason, **self.usage}


def open_client(ctx: Context, params: ModelParameters) -> tuple[openai.OpenAI, OpenAiApiFields]:
    return client_for(ctx, max_retries=params.max_retries, timeout=params.timeout)


def required_text(value: Any, index: int, label: str = "Text") -> str:
    """The item's input text; an empty one fails the item, since models cannot work on nothing."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) if value is not None else ""
    if not text.strip():
        raise NodeError(
            f"item {index}: {label} is empty",
            description=f"Set {label} to the text to work on, e.g. {{{{ $json.text }}}}.",
            item_index=index,
        )
    return text


def chat(
    client: openai.OpenAI,
    fields: OpenAiApiFields,
    params: ChatParameters,
    messages: list[dict[str, Any]],
    *,
    index: int,
    action: str,
    response_format: dict[str, Any] | None = None,
) -> Answer:
    """One chat completion.

    Raises:
        NodeError: The API refused, or the model refused to answer; names the item.
    """
    options: dict[str, Any] = {}
    if params.temperature is not None:
        options["temperature"] = params.temperature
    if params.max_tokens is not None:
        options["max_completion_tokens"] = params.max_tokens
    if response_format is not None:
        options["response_format"] = response_format
    completion = call(
        fields,
        action,
        lambda: client.chat.completions.create(model=params.model, messages=messages, **options),  # type: ignore[arg-type]
        item_index=index,
    )
    if not completion.choices:
        raise NodeError(f"item {index}: {action} returned no answer", item_index=index)
    choice = completion.choices[0]
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise NodeError(
            f"item {index}: the model refused {action}: {refusal}",
            description="Rephrase the prompt or the input.",
            item_index=index,
        )
    usage = completion.usage
    counts = (
        {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
        if usage is not None
        else {}
    )
    return Answer(choice.message.content or "", choice.finish_reason, completion.model or params.model, counts)


def parse_json(answer: Answer, index: int, action: str) -> Any:
    """The answer as JSON.

    Raises:
        NodeError: The answer is not JSON, saying so when it was cut at the token limit.
    """
    try:
        return json.loads(answer.text)
    except ValueError as err:
        if answer.finish_reason == "length":
            raise NodeError(
                f"item {index}: {action} was cut at the token limit before its JSON was complete",
                description="Raise Max tokens (or leave it empty).",
                item_index=index,
            ) from err
        raise NodeError(
            f"item {index}: {action} did not return JSON ({err}): {answer.text[:200]!r}",
            description="Use a model that supports JSON output, or say in the prompt that the answer must be JSON.",
            item_index=index,
        ) from err


def schema_format(name: str, schema: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """``response_format`` asking for JSON matching ``schema`` (OpenAI's structured outputs)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}


def structured(
    client: openai.OpenAI,
    fields: OpenAiApiFields,
    params: ChatParameters,
    *,
    system: str,
    text: str,
    schema: dict[str, Any],
    name: str,
    strict: bool,
    index: int,
    action: str,
) -> dict[str, Any]:
    """Ask for JSON matching ``schema`` about ``text`` and check the answer against it.

    Instructions go in the system message and the input alone in the user
    message, so input text can never pose as instructions.

    Raises:
        NodeError: The API refused, or the answer is not JSON matching the schema; names the item.
    """
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    answer = chat(
        client,
        fields,
        params,
        messages,
        index=index,
        action=action,
        response_format=schema_format(name, schema, strict=strict),
    )
    data = parse_json(answer, index, action)
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as err:
        where = "/".join(str(part) for part in err.absolute_path) or "the answer"
        raise NodeError(
            f"item {index}: {action} does not match the schema at {where}: {err.message}",
            description="Use a model that supports structured outputs, simplify the schema, or turn on Strict.",
            item_index=index,
        ) from err
    if not isinstance(data, dict):
        raise NodeError(f"item {index}: {action} returned {type(data).__name__}, not an object", item_index=index)
    return data


def checked_schema(schema: Any) -> dict[str, Any]:
    """Validator body for a JSON Schema parameter (an object, or JSON text of one)."""
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as err:
            raise ValueError(f"the schema is not valid JSON ({err})") from err
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValueError('the schema must be a JSON Schema object with "type": "object"')
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        raise ValueError(f"the schema is not valid JSON Schema: {err.message}") from err
    return schema


def annotated(item: Item, index: int, field: str, value: Any) -> Item:
    """The item with ``value`` set at the dotted ``field``; its other fields and files pass through."""
    data = dict(item.json)
    set_path(data, field, value)
    return Item(data, binary=item.binary, paired_item=index)
