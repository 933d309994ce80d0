"""AI Chat: one chat completion per item (system prompt, earlier turns, prompt), as text or JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.ai._chat import ChatParameters, annotated, chat, checked_schema, open_client, parse_json, schema_format
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, param

SCHEMA = {"response_format": ["json_schema"]}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "system"] = param("user", title="Role")
    content: str = param("", title="Content", widget="textarea")


class ChatModelParameters(ChatParameters):
    system_prompt: str = param(
        "",
        title="System prompt",
        description="How the model should behave; sent first.",
        widget="textarea",
        placeholder="You answer customers of Acme in two sentences.",
    )
    messages: list[ChatMessage] = param(
        default_factory=list,
        title="Earlier messages",
        description="Turns of the conversation so far, oldest first, sent before the prompt.",
        advanced=True,
    )
    prompt: str = param(
        "",
        title="Prompt",
        description="The user's message.",
        widget="textarea",
        placeholder="{{ $json.question }}",
    )
    response_format: Literal["text", "json_object", "json_schema"] = param(
        "text",
        title="Answer as",
        description="text; json_object: any JSON object (say so in the prompt); json_schema: JSON matching a schema.",
        no_expressions=True,
    )
    json_schema: dict[str, Any] | str | None = param(
        None, title="JSON schema", description="The answer's JSON Schema.", widget="json", show_if=SCHEMA
    )
    schema_name: str = param(
        "answer", title="Schema name", show_if=SCHEMA, advanced=True, pattern=r"^[A-Za-z0-9_-]{1,64}$"
    )
    strict: bool = param(
        False,
        title="Strict",
        description="Ask the server to enforce the schema exactly (it must list every property as required and "
        "set additionalProperties to false).",
        show_if=SCHEMA,
        advanced=True,
    )
    result_field: str = param(
        "response", title="Put the answer in", description="A field of the item; dots make nested fields.", min_length=1
    )
    include_details: bool = param(
        False,
        title="Include model and token counts",
        description="Also set <answer field>_details: model, finish_reason and token usage.",
        advanced=True,
    )

    @field_validator("json_schema")
    @classmethod
    def _schema(cls, value: Any) -> Any:
        return checked_schema(value) if value not in (None, "", {}) else None

    @model_validator(mode="after")
    def _needs(self) -> ChatModelParameters:
        if not self.prompt.strip() and not self.messages:
            raise ValueError("give a prompt (or earlier messages)")
        if self.response_format == "json_schema" and self.json_schema is None:
            raise ValueError("json_schema needs a JSON schema")
        return self


class ChatModelNode(Node):
    type = "ai.chat_model"
    display_name = "AI Chat"
    category = Category.AI
    description = "Sends each item's prompt to a chat model (OpenAI or compatible) and adds its answer, text or JSON."
    icon = "bot-message-square"
    Parameters = ChatModelParameters
    credentials = (CredentialRequirement("openai_api"),)
    subtitle = "model"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        client, fields = open_client(ctx, ctx.params(0))
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: ChatModelParameters = ctx.params(index)
            messages: list[dict[str, Any]] = []
            if params.system_prompt.strip():
                messages.append({"role": "system", "content": params.system_prompt})
            messages += [message.model_dump() for message in params.messages]
            if params.prompt.strip():
                messages.append({"role": "user", "content": params.prompt})
            response_format: dict[str, Any] | None = None
            if params.response_format == "json_object":
                response_format = {"type": "json_object"}
            elif params.response_format == "json_schema" and params.json_schema is not None:
                response_format = schema_format(params.schema_name, params.json_schema, strict=params.strict)
            action = "the chat completion"
            answer = chat(client, fields, params, messages, index=index, action=action, response_format=response_format)
            value: Any = answer.text
            if response_format is not None:
                value = parse_json(answer, index, action)
                if not isinstance(value, dict):
                    raise NodeError(
                        f"item {index}: {action} returned {type(value).__name__}, not a JSON object",
                        description="Ask for an object in the prompt.",
                        item_index=index,
                    )
            result = annotated(item, index, params.result_field, value)
            if params.include_details:
                result = annotated(result, index, f"{params.result_field}_details", answer.details())
            produced.append(result)
        return [produced]
