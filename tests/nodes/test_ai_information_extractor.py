"""AI Information Extractor (ai.information_extractor) through the engine against the fake OpenAI API."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import failure, host_for, outputs, run_node

EMAIL = "Hello, name: Ada Lovelace, born: 1815, subscribed: yes, topics: engines and poetry"


def extract(api: OpenAi, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    parameters = {"model": "gpt-fake", "text": "{{ $json.body }}", **parameters}
    items = items if items is not None else [{"id": 9, "body": EMAIL}]
    return run_node(
        "ai.information_extractor", parameters, items, credential_type="openai_api", host=host_for(api.credential)
    )


def test_attributes_become_a_strict_schema_and_a_typed_object(openai_api: OpenAi) -> None:
    attributes = [
        {"name": "name", "required": True, "description": "the person's full name"},
        {"name": "born", "type": "integer"},
        {"name": "subscribed", "type": "boolean"},
        {"name": "topics", "type": "array of strings"},
    ]

    (extracted,) = outputs(extract(openai_api, {"attributes": attributes}))

    assert extracted == {
        "id": 9,
        "body": EMAIL,
        "output": {"name": "Ada Lovelace", "born": 1815, "subscribed": True, "topics": ["engines", "poetry"]},
    }
    sent = openai_api.server.received("/chat/completions")[0].body["response_format"]["json_schema"]
    assert sent["strict"] is True
    assert sent["schema"]["required"] == ["name", "born", "subscribed", "topics"]
    assert sent["schema"]["properties"]["name"] == {"type": "string", "description": "the person's full name"}
    assert sent["schema"]["properties"]["born"] == {"type": ["integer", "null"]}


def test_a_json_schema_is_sent_as_given_and_the_answer_checked_against_it(openai_api: OpenAi) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "born": {"type": "integer", "minimum": 1900}},
        "required": ["name"],
    }

    error = failure(extract(openai_api, {"schema_source": "json_schema", "json_schema": schema}))

    assert error["message"] == (
        "item 0: extracting the information does not match the schema at born: 1815 is less than the minimum of 1900"
    )
    sent = openai_api.server.received("/chat/completions")[0].body["response_format"]["json_schema"]
    assert sent == {"name": "extraction", "schema": schema, "strict": False}


def test_without_attributes_the_node_is_refused(openai_api: OpenAi) -> None:
    error = failure(extract(openai_api, {}))

    assert "list at least one attribute to extract" in error["message"]
