"""AI Moderation (ai.moderation) through the engine against the fake OpenAI API on 127.0.0.1."""

from __future__ import annotations

from tests.nodes.conftest import OpenAi
from tests.nodes.integrations import host_for, outputs, run_node

COMMENTS = [{"id": 1, "comment": "Great post"}, {"id": 2, "comment": "I will attack you, idiot"}]


def test_items_go_to_passed_or_flagged_with_categories_and_scores(openai_api: OpenAi) -> None:
    parameters = {"model": "omni-moderation-fake", "text": "{{ $json.comment }}"}

    result = run_node(
        "ai.moderation", parameters, COMMENTS, credential_type="openai_api", host=host_for(openai_api.credential)
    )

    (passed,) = outputs(result, 0)
    (flagged,) = outputs(result, 1)
    assert passed["id"] == 1 and passed["moderation"]["flagged"] is False
    assert flagged["id"] == 2
    assert flagged["moderation"]["categories"] == ["harassment", "violence"]
    assert flagged["moderation"]["scores"]["violence"] == 0.97
    assert flagged["moderation"]["scores"]["self-harm/intent"] == 0.01
    (request,) = openai_api.server.received("/moderations")
    assert request.body["input"] == ["Great post", "I will attack you, idiot"]
