"""AI Embeddings (ai.embeddings) through the engine against the fake OpenAI API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from tests.fakes.openai_server import vector
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import failure, host_for, outputs, run_node


def embed(api: OpenAi, parameters: dict[str, Any], items: list[dict[str, Any]]) -> RunResult:
    parameters = {"model": "text-embedding-fake", "text": "{{ $json.text }}", **parameters}
    return run_node("ai.embeddings", parameters, items, credential_type="openai_api", host=host_for(api.credential))


def test_each_item_gets_its_texts_vector_in_batches(openai_api: OpenAi) -> None:
    texts = ["red shoes", "blue shirt", "green hat"]

    embedded = outputs(embed(openai_api, {"batch_size": 2, "dimensions": 4}, [{"text": text} for text in texts]))

    assert [item["text"] for item in embedded] == texts
    for item, text in zip(embedded, texts, strict=True):
        assert item["embedding"] == pytest.approx(vector(text, 4), rel=1e-6)
    batches = [request.body for request in openai_api.server.received("/embeddings")]
    assert [body["input"] for body in batches] == [["red shoes", "blue shirt"], ["green hat"]]
    assert {body["dimensions"] for body in batches} == {4}


def test_an_empty_text_names_its_item_before_any_request(openai_api: OpenAi) -> None:
    error = failure(embed(openai_api, {}, [{"text": "fine"}, {"text": "  "}]))

    assert error["message"] == "item 1: Text is empty"
    assert error["item_index"] == 1
    assert openai_api.server.requests == []


def test_an_unknown_model_fails_the_batch(openai_api: OpenAi) -> None:
    error = failure(embed(openai_api, {"model": "embed-none"}, [{"text": "a"}, {"text": "b"}]))

    assert error["message"] == "the embeddings of items 0 to 1 failed (404): The model `embed-none` does not exist."
