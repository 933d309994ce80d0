"""AI Chat (ai.chat_model) and the OpenAI credential, through the engine against the fake OpenAI API on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.ai.credentials import OpenAiApiCredential
from nodes.sdk import NodeError
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import failure, host_for, outputs, run_node

WRONG_KEY = "sk-wrong-0123456789abcdef"


def ask(api: OpenAi, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None, **kw: Any) -> RunResult:
    credential = kw.pop("credential", api.credential)
    parameters = {"model": "gpt-fake", **parameters}
    return run_node("ai.chat_model", parameters, items, credential_type="openai_api", host=host_for(credential), **kw)


def test_the_prompt_system_prompt_and_options_reach_the_model(openai_api: OpenAi) -> None:
    parameters = {
        "system_prompt": "You answer in one sentence.",
        "prompt": "{{ $json.question }} Tell me more.",
        "temperature": 0.2,
        "max_tokens": 50,
    }

    answered = outputs(ask(openai_api, parameters, [{"id": 1, "question": "Is it raining?"}]))

    assert answered == [{"id": 1, "question": "Is it raining?", "response": "Is it raining?"}]
    (request,) = openai_api.server.received("/chat/completions")
    assert request.body["model"] == "gpt-fake"
    assert request.body["messages"] == [
        {"role": "system", "content": "You answer in one sentence."},
        {"role": "user", "content": "Is it raining? Tell me more."},
    ]
    assert request.body["temperature"] == 0.2
    assert request.body["max_completion_tokens"] == 50
    assert request.headers["authorization"] == f"Bearer {openai_api.credential['api_key']}"


def test_earlier_messages_go_between_the_system_prompt_and_the_prompt(openai_api: OpenAi) -> None:
    parameters = {
        "system_prompt": "Be kind.",
        "messages": [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello!"}],
        "prompt": "Bye.",
    }

    outputs(ask(openai_api, parameters))

    (request,) = openai_api.server.received("/chat/completions")
    assert [message["role"] for message in request.body["messages"]] == ["system", "user", "assistant", "user"]
    assert "temperature" not in request.body and "max_completion_tokens" not in request.body


def test_json_object_mode_parses_the_answer(openai_api: OpenAi) -> None:
    (answered,) = outputs(ask(openai_api, {"prompt": "Say hi. Then stop.", "response_format": "json_object"}))

    assert answered["response"] == {"reply": "Say hi."}
    assert openai_api.server.received("/chat/completions")[0].body["response_format"] == {"type": "json_object"}


def test_a_response_schema_gives_a_checked_object_and_details(openai_api: OpenAi) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    parameters = {
        "prompt": "city: Lisbon, days: 3",
        "response_format": "json_schema",
        "json_schema": json.dumps(schema),
        "schema_name": "trip",
        "strict": True,
        "result_field": "trip.plan",
        "include_details": True,
    }

    (answered,) = outputs(ask(openai_api, parameters))

    assert answered["trip"]["plan"] == {"city": "Lisbon", "days": 3}
    details = answered["trip"]["plan_details"]
    assert details["model"] == "gpt-fake" and details["finish_reason"] == "stop"
    assert details["total_tokens"] == details["prompt_tokens"] + details["completion_tokens"] > 0
    sent = openai_api.server.received("/chat/completions")[0].body["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "trip", "schema": schema, "strict": True}}


def test_json_cut_at_max_tokens_says_to_raise_the_limit(openai_api: OpenAi) -> None:
    error = failure(
        ask(openai_api, {"prompt": "A long sentence here.", "response_format": "json_object", "max_tokens": 2})
    )

    assert error["message"] == "item 0: the chat completion was cut at the token limit before its JSON was complete"
    assert "Raise Max tokens" in error["description"]


def test_an_invalid_schema_is_refused_before_calling(openai_api: OpenAi) -> None:
    error = failure(
        ask(
            openai_api,
            {"prompt": "x", "response_format": "json_schema", "json_schema": {"type": "object", "properties": 3}},
        )
    )

    assert "the schema is not valid JSON Schema" in error["message"]
    assert openai_api.server.requests == []


def test_a_wrong_api_key_fails_clearly_and_never_shows_the_key(openai_api: OpenAi) -> None:
    error = failure(ask(openai_api, {"prompt": "hi"}, credential={**openai_api.credential, "api_key": WRONG_KEY}))

    assert error["message"].startswith(f"item 0: {openai_api.server.base_url} refused the API key (401): Incorrect")
    assert "Check the API key" in error["description"]
    assert WRONG_KEY not in json.dumps(error)


def test_rate_limits_are_retried_after_the_servers_retry_after(openai_api: OpenAi) -> None:
    openai_api.server.rate_limited = 2

    (answered,) = outputs(ask(openai_api, {"prompt": "Still there?", "max_retries": 2}))

    assert answered["response"] == "Still there?"
    requests = openai_api.server.received("/chat/completions")
    assert [request.headers["x-stainless-retry-count"] for request in requests] == ["0", "1", "2"]


def test_a_rate_limit_outlasting_the_retries_fails_the_item(openai_api: OpenAi) -> None:
    openai_api.server.rate_limited = 5

    error = failure(ask(openai_api, {"prompt": "hi", "max_retries": 1}, [{"n": 1}]))

    assert error["message"].startswith("item 0: the chat completion was rate-limited (429) after every retry")
    assert "Raise Max retries" in error["description"]
    assert len(openai_api.server.received("/chat/completions")) == 2


def test_an_unknown_model_names_it(openai_api: OpenAi) -> None:
    error = failure(ask(openai_api, {"model": "gpt-none", "prompt": "hi"}))

    assert error["message"] == "item 0: the chat completion failed (404): The model `gpt-none` does not exist."
    assert "Check the model name" in error["description"]


def test_an_unreachable_server_names_the_base_url(openai_api: OpenAi) -> None:
    credential = {**openai_api.credential, "base_url": "http://127.0.0.1:9/v1"}

    error = failure(ask(openai_api, {"prompt": "hi", "max_retries": 0}, credential=credential))

    assert error["message"].startswith("item 0: cannot reach http://127.0.0.1:9/v1 for the chat completion")


def test_the_credential_test_lists_models_and_refuses_a_wrong_key(openai_api: OpenAi) -> None:
    assert OpenAiApiCredential.test_connection(openai_api.credential) == (
        f"Connected to {openai_api.server.base_url}: 4 models"
    )

    with pytest.raises(NodeError) as refused:
        OpenAiApiCredential.test_connection({**openai_api.credential, "api_key": WRONG_KEY})
    assert "refused the API key (401)" in refused.value.message
    assert WRONG_KEY not in refused.value.message
    with pytest.raises(NodeError, match="base_url: Value error, the base URL must start with https://"):
        OpenAiApiCredential.test_connection({"api_key": "sk-x", "base_url": "ftp://example.com"})
