"""AI Text Classifier (ai.text_classifier) through the engine against the fake OpenAI API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import NODE, failure, host_for, outputs, run_node

CATEGORIES = [
    {"name": "billing", "description": "invoices, payments, refunds"},
    {"name": "shipping", "description": "parcels and delivery"},
]
TICKETS = [
    {"id": 1, "message": "My billing address is wrong"},
    {"id": 2, "message": "Where is my shipping parcel?"},
    {"id": 3, "message": "Billing and shipping both failed"},
    {"id": 4, "message": "I like your logo"},
]


def classify(api: OpenAi, parameters: dict[str, Any], items: list[dict[str, Any]] = TICKETS) -> RunResult:
    parameters = {"model": "gpt-fake", "text": "{{ $json.message }}", "categories": CATEGORIES, **parameters}
    return run_node(
        "ai.text_classifier", parameters, items, credential_type="openai_api", host=host_for(api.credential)
    )


def ids(result: RunResult, output: int) -> list[int]:
    return [item["id"] for item in outputs(result, output)]


def test_each_item_goes_to_its_categorys_output_and_the_rest_to_other(openai_api: OpenAi) -> None:
    result = classify(openai_api, {"fallback": "other"})

    assert (ids(result, 0), ids(result, 1), ids(result, 2)) == ([1, 3], [2], [4])
    assert outputs(result, 0)[0] == TICKETS[0]
    first = openai_api.server.received("/chat/completions")[0].body
    system, user = first["messages"]
    assert "- billing: invoices, payments, refunds" in system["content"]
    assert user == {"role": "user", "content": "My billing address is wrong"}
    assert first["temperature"] == 0.0
    schema = first["response_format"]["json_schema"]
    assert schema["strict"] is True
    assert schema["schema"]["properties"]["categories"]["items"]["enum"] == ["billing", "shipping"]


def test_several_categories_and_discarding_what_fits_none(openai_api: OpenAi) -> None:
    result = classify(openai_api, {"multi_label": True})

    assert (ids(result, 0), ids(result, 1)) == ([1, 3], [2, 3])
    assert len(result.last_outputs[NODE]) == 2


def test_outputs_are_named_after_the_categories() -> None:
    from nodes.ai.text_classifier import TextClassifierNode

    assert TextClassifierNode.output_names({"categories": CATEGORIES, "fallback": "other"}) == (
        "billing",
        "shipping",
        "other",
    )


def test_a_duplicate_category_is_refused_before_calling(openai_api: OpenAi) -> None:
    error = failure(classify(openai_api, {"categories": [{"name": "Billing"}, {"name": "billing"}]}))

    assert "category names must be different" in error["message"]
    assert openai_api.server.requests == []
