"""AI Sentiment Analysis (ai.sentiment_analysis) through the engine against the fake OpenAI API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import host_for, outputs, run_node

REVIEWS = [
    {"id": 1, "review": "Negative: the box arrived crushed"},
    {"id": 2, "review": "Positive all round, strength: 0.9, confidence: 0.8"},
    {"id": 3, "review": "It is a box"},
]


def analyse(api: OpenAi, parameters: dict[str, Any]) -> RunResult:
    parameters = {"model": "gpt-fake", "text": "{{ $json.review }}", **parameters}
    return run_node(
        "ai.sentiment_analysis", parameters, REVIEWS, credential_type="openai_api", host=host_for(api.credential)
    )


def test_items_go_to_their_sentiments_output_with_the_result(openai_api: OpenAi) -> None:
    result = analyse(openai_api, {"categories": "Neutral, Positive, Negative"})

    assert [item["id"] for item in outputs(result, 0)] == [3]
    (positive,) = outputs(result, 1)
    assert positive == {**REVIEWS[1], "sentiment": {"category": "Positive"}}
    assert [item["id"] for item in outputs(result, 2)] == [1]
    schema = openai_api.server.received("/chat/completions")[0].body["response_format"]["json_schema"]["schema"]
    assert schema["properties"] == {"category": {"type": "string", "enum": ["Neutral", "Positive", "Negative"]}}


def test_strength_and_confidence_when_asked(openai_api: OpenAi) -> None:
    result = analyse(openai_api, {"include_scores": True, "result_field": "analysis"})

    positive = next(item for item in outputs(result, 0) if item["id"] == 2)
    assert positive["analysis"] == {"category": "Positive", "strength": 0.9, "confidence": 0.8}
