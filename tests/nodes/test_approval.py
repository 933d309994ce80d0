"""The Approval node ("human.approval") through the engine: it pauses with a request, resumes on a branch.

The studio side (the request record, decisions, resuming the stored run) is in
tests/services/test_approvals.py; here the engine alone, with a LocalHost.
"""

from __future__ import annotations

import json

from hitl_studio.engine.graph import parse_workflow, validate
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner
from hitl_studio.engine.states import RunStatus
from nodes.human.approval import ApprovalNode
from nodes.registry import get_registry
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow


def flow(**params: object) -> dict:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node(
                "Ask",
                "human.approval",
                {"title": "Pay {{ $json.amount }}?", "approvers": ["ana@example.com"], **params},
            ),
            node("Yes", "core.no_op"),
            node("No", "core.no_op"),
            node("Late", "core.no_op"),
        ],
        [("Start", "Ask"), ("Ask", 0, "Yes"), ("Ask", 1, "No"), ("Ask", 2, "Late")],
    )


def test_the_node_pauses_with_the_request_evaluated_for_the_first_item() -> None:
    result = run(flow(channels=["email"], timeout_seconds=300, quorum=1), [{"amount": 40}, {"amount": 7}])

    assert result.status is RunStatus.WAITING and result.waiting_node == "Ask"
    assert result.wait is not None and result.wait.kind == "approval"
    request = result.wait.data
    assert request["title"] == "Pay 40?"
    assert request["approvers"] == ["ana@example.com"] and request["channels"] == ["email"]
    assert request["timeout_seconds"] == 300 and request["timeout_action"] == "reject"
    assert request["action_data"] == {"items": [{"amount": 40}, {"amount": 7}]}
    json.dumps(result.frontier)


def test_it_resumes_on_the_branch_the_decision_chooses() -> None:
    data = flow()
    paused = run(data, [{"amount": 40}])
    registry = get_registry()

    for branch, target in ((0, "Yes"), (1, "No"), (2, "Late")):
        outputs: list[list[Item]] = [[], [], []]
        outputs[branch] = [Item({"amount": 40, "approval": {"status": target}})]
        resumed = Runner(parse_workflow(data), registry, LocalHost()).resume(paused.frontier or {}, outputs)
        assert resumed.status is RunStatus.SUCCEEDED
        assert output_json(resumed, target) == [{"amount": 40, "approval": {"status": target}}]


def test_the_contract_outputs_and_parameters() -> None:
    assert ApprovalNode.outputs == ("approved", "rejected", "timeout")
    properties = ApprovalNode.describe()["parameters"]["properties"]
    assert set(properties) == {
        "title",
        "description",
        "approvers",
        "channels",
        "ui_schema",
        "timeout_seconds",
        "timeout_action",
        "escalation",
        "quorum",
    }
    bad = flow(channels=["pigeon"])
    problems = validate(parse_workflow(bad), get_registry())
    assert [(problem.node, problem.parameter) for problem in problems] == [("Ask", "channels.0")]
