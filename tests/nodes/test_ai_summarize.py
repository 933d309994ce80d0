"""AI Summarize (ai.summarize) through the engine against the fake OpenAI API on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from nodes.ai.summarize import chunks
from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import failure, host_for, outputs, run_node


def summarize(api: OpenAi, parameters: dict[str, Any], text: str) -> RunResult:
    parameters = {"model": "gpt-fake", "text": "{{ $json.text }}", **parameters}
    return run_node(
        "ai.summarize", parameters, [{"text": text}], credential_type="openai_api", host=host_for(api.credential)
    )


def test_a_short_text_is_summarized_in_one_request(openai_api: OpenAi) -> None:
    text = "Sales rose 10% in May. Costs fell. Profit doubled."

    (summarized,) = outputs(summarize(openai_api, {"max_words": 20, "style": "bullet_points"}, text))

    assert summarized == {"text": text, "summary": "Sales rose 10% in May."}
    (request,) = openai_api.server.received("/chat/completions")
    system, user = request.body["messages"]
    assert "in about 20 words, as short bullet points" in system["content"]
    assert user["content"] == text


def test_a_long_text_is_summarized_in_parts_then_as_a_whole(openai_api: OpenAi) -> None:
    paragraphs = [f"Chapter {number} begins here. " + "More words follow. " * 20 for number in range(1, 4)]
    text = "\n\n".join(paragraphs)

    (summarized,) = outputs(summarize(openai_api, {"chunk_characters": 500}, text))

    requests = openai_api.server.received("/chat/completions")
    parts = chunks(text, 500)
    assert len(parts) == 3
    assert len(requests) == len(parts) + 1
    assert "This is part 2 of 3 of a longer text." in requests[1].body["messages"][0]["content"]
    assert requests[-1].body["messages"][1]["content"] == "\n\n".join(
        f"Chapter {number} begins here." for number in range(1, 4)
    )
    assert summarized["summary"] == "Chapter 1 begins here."


def test_parts_never_exceed_the_size_and_keep_every_word() -> None:
    text = "word " * 300 + "\n\n" + "x" * 1200

    parts = chunks(text, 500)

    assert all(len(part) <= 500 for part in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_an_empty_text_fails_the_item(openai_api: OpenAi) -> None:
    error = failure(summarize(openai_api, {}, ""))

    assert error["message"] == "item 0: Text is empty"
