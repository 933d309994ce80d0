"""Respond to Webhook (core.respond_to_webhook) run through the engine: the response it chooses, items pass on."""

from __future__ import annotations

from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

ITEMS = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]


def respond(parameters: dict[str, Any]) -> RunResult:
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node("Respond", "core.respond_to_webhook", parameters),
            node("After", "core.no_op"),
        ],
        [("Start", "Respond"), ("Respond", "After")],
    )
    result = run(data, ITEMS)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return result


def response(result: RunResult) -> dict[str, Any]:
    return result.node_state["Respond"]["response"]


def test_first_item_is_the_default() -> None:
    assert response(respond({})) == {"status": 200, "headers": {}, "body": {"id": 1, "name": "Ada"}}


def test_all_items_answers_with_a_list() -> None:
    assert response(respond({"respond_with": "all_items"}))["body"] == ITEMS


@pytest.mark.parametrize(
    ("respond_with", "body"),
    [("json", {"ok": True, "count": 2}), ("text", "Thanks, we got it."), ("no_data", None)],
)
def test_json_text_and_no_data_bodies(respond_with: str, body: Any) -> None:
    parameters = {"respond_with": respond_with, "body": body, "status_code": 201, "headers": {"X-Trace": "t-1"}}

    assert response(respond(parameters)) == {"status": 201, "headers": {"X-Trace": "t-1"}, "body": body}


def test_no_data_ignores_a_body() -> None:
    assert response(respond({"respond_with": "no_data", "body": "ignored"}))["body"] is None


def test_the_body_and_status_may_come_from_expressions_on_the_first_item() -> None:
    parameters = {
        "respond_with": "text",
        "body": "Hello {{ $json.name }}",
        "status_code": "{{ 200 + $json.id }}",
    }

    assert response(respond(parameters)) == {"status": 201, "headers": {}, "body": "Hello Ada"}


def test_first_item_with_no_items_answers_an_empty_object() -> None:
    result = run(workflow([node("Respond", "core.respond_to_webhook", {"status_code": 404})], []), [])

    assert result.node_state["Respond"]["response"] == {"status": 404, "headers": {}, "body": {}}


def test_items_pass_through_to_the_next_node() -> None:
    result = respond({"respond_with": "json", "body": {"ok": True}})

    assert output_json(result, "Respond") == ITEMS
    assert output_json(result, "After") == ITEMS
