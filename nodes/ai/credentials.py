"""The OpenAI API credential (OpenAI, or any server speaking its API), the client, and its errors as NodeErrors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ConfigDict, field_validator

from nodes.sdk import Context, CredentialType, NodeError, param

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_SECONDS = 60.0
T = TypeVar("T")


class OpenAiApiFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = param(title="API key", description="Starts with sk-; from the API keys page.", widget="password")
    base_url: str = param(
        OPENAI_URL,
        title="Base URL",
        description="Change it for an OpenAI-compatible server (Azure OpenAI, Ollama, vLLM, LM Studio...).",
    )
    organization: str = param(
        "", title="Organization id", description="Only for keys that belong to several organizations.", advanced=True
    )

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: str) -> str:
        value = value.strip()
        if not value or any(char.isspace() for char in value):
            raise ValueError("the API key is one word without spaces")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("the base URL must start with https:// (or http:// for a local server)")
        return value


class OpenAiApiCredential(CredentialType):
    id = "openai_api"
    display_name = "OpenAI API"
    description = "An API key for OpenAI or an OpenAI-compatible server, and its base URL."
    Fields = OpenAiApiFields
    secret_fields = frozenset({"api_key"})

    @classmethod
    def test_connection(cls, fields: OpenAiApiFields | Mapping[str, Any]) -> str:
        """List the models; returns ``Connected to <base URL>: N models``.

        Raises:
            NodeError: The key is refused or the server cannot be reached.
        """
        checked = cls.parse(fields)
        client = openai_client(checked, max_retries=0, timeout=DEFAULT_TIMEOUT_SECONDS)
        models = call(checked, "listing the models", lambda: list(client.models.list()))
        return f"Connected to {checked.base_url}: {len(models)} models"


def openai_client(fields: OpenAiApiFields, *, max_retries: int, timeout: float) -> openai.OpenAI:
    """A client for the credential's server.

    The SDK retries 408, 409, 429 and 5xx answers and dropped connections
    ``max_retries`` times, waiting as the server's Retry-After says (else
    backing off exponentially).
    """
    return openai.OpenAI(
        api_key=fields.api_key,
        base_url=fields.base_url,
        organization=fields.organization or None,
        max_retries=max_retries,
        timeout=timeout,
    )


def client_for(ctx: Context, *, max_retries: int, timeout: float) -> tuple[openai.OpenAI, OpenAiApiFields]:
    """The client for the ``openai_api`` credential selected on the running node, and the credential.

    Args:
        timeout: Seconds per request; the node's own timeout, when sooner, wins.
    """
    fields = OpenAiApiCredential.parse(ctx.credential(OpenAiApiCredential.id))
    remaining = ctx.remaining_seconds()
    if remaining is not None:
        timeout = max(min(timeout, remaining), 1.0)
    return openai_client(fields, max_retries=max_retries, timeout=timeout), fields


def _server_message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        # The SDK hands over the "error" object itself for OpenAI-shaped answers.
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if inner.get("message"):
            return str(inner["message"])
    return err.message


def call(fields: OpenAiApiFields, action: str, request: Callable[[], T], *, item_index: int | None = None) -> T:
    """Run ``request`` and turn what the API or the network refused into a :class:`NodeError`.

    Args:
        fields: The credential (its key is blanked out of any message).
        action: What the request does, for the message: ``the chat completion``.
        request: The SDK call.
        item_index: The item being processed, named in the error.

    Raises:
        NodeError: With the server's status and message and what to do; never the API key.
    """
    prefix = f"item {item_index}: " if item_index is not None else ""
    where = fields.base_url
    try:
        return request()
    except openai.APIStatusError as err:
        status = err.status_code
        detail = _server_message(err)
        if isinstance(err, openai.AuthenticationError):
            message = f"{prefix}{where} refused the API key (401): {detail}"
            description = "Check the API key of the OpenAI credential (and that it belongs to this base URL)."
        elif isinstance(err, openai.PermissionDeniedError):
            message = f"{prefix}{where} does not allow {action} (403): {detail}"
            description = "The key's project or organization lacks access: check its permissions and the model."
        elif isinstance(err, openai.NotFoundError):
            message = f"{prefix}{action} failed (404): {detail}"
            description = "Check the model name; the credential's Test lists the models this key can use."
        elif isinstance(err, openai.RateLimitError):
            message = f"{prefix}{action} was rate-limited (429) after every retry: {detail}"
            description = (
                "Raise Max retries or slow the workflow down; 'insufficient_quota' means the account needs credit."
            )
        elif status >= 500:
            message = f"{prefix}{action} failed: {where} answered {status}: {detail}"
            description = "The server is failing: retry later (the node's Retry on fail setting can do it)."
        else:
            message = f"{prefix}{action} was refused ({status}): {detail}"
            description = "Check the node's parameters (model, max tokens, schema) against the API's message."
        raise NodeError(_redact(message, fields), description=description, item_index=item_index) from err
    except openai.APITimeoutError as err:
        raise NodeError(
            f"{prefix}{action} timed out waiting for {where}",
            description="Raise the Timeout option, or ask for a shorter answer (Max tokens).",
            item_index=item_index,
        ) from err
    except openai.APIConnectionError as err:
        raise NodeError(
            _redact(f"{prefix}cannot reach {where} for {action}: {err.__cause__ or err}", fields),
            description="Check the credential's base URL and the network.",
            item_index=item_index,
        ) from err


def _redact(text: str, fields: OpenAiApiFields) -> str:
    return text.replace(fields.api_key, "***") if fields.api_key else text
