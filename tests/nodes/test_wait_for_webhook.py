"""The Wait for Webhook node ("human.wait_for_webhook") through the engine: it pauses, then resumes with the call.

The studio side (the resume URL, single use, deadlines) is in tests/services/test_waits.py.
"""

from __future__ import annotations

import json

from hitl_studio.engine.graph import parse_workflow, validate
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner
from hitl_studio.engine.states import RunStatus
from nodes.human.wait_for_webhook import WaitForWebhookNode, resume_items
from nodes.registry import get_registry
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow


def flow(**params: object) -> dict:
    return workflow(
        [node("Start", "trigger.manual"), node("Hold", "human.wait_for_webhook", params), node("Done", "core.no_op")],
        [("Start", "Hold"), ("Hold", "Done")],
    )


def test_the_node_pauses_with_the_method_and_deadline() -> None:
    result = run(flow(http_method="GET", timeout_seconds=30, response="ok"), [{"a": 1}, {"a": 2}])

    assert result.status is RunStatus.WAITING and result.waiting_node == "Hold"
    assert result.wait is not None and result.wait.kind == "webhook"
    assert result.wait.data == {"method": "GET", "timeout_seconds": 30, "response": "ok"}
    assert [item.json for item in result.wait.passthrough] == [{"a": 1}, {"a": 2}]
    json.dumps(result.frontier)


def test_it_resumes_with_the_request_merged_into_each_item() -> None:
    data = flow()
    paused = run(data, [{"a": 1}, {"a": 2}])
    request = {"headers": {"x-k": "v"}, "query": {"q": "1"}, "body": {"ok": True}}
    items = resume_items([Item({"a": 1}), Item({"a": 2})], request)

    resumed = Runner(parse_workflow(data), get_registry(), LocalHost()).resume(paused.frontier or {}, [items])

    assert resumed.status is RunStatus.SUCCEEDED
    assert output_json(resumed, "Done") == [{"a": 1, "webhook": request}, {"a": 2, "webhook": request}]


def test_the_contract() -> None:
    properties = WaitForWebhookNode.describe()["parameters"]["properties"]
    assert set(properties) == {"http_method", "timeout_seconds", "response"}
    problems = validate(parse_workflow(flow(http_method="PUT")), get_registry())
    assert [(problem.node, problem.parameter) for problem in problems] == [("Hold", "http_method")]
