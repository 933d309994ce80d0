"""Execute Workflow (core.execute_workflow) run through the engine, its sub-workflows run in process."""

from __future__ import annotations

import itertools
from typing import Any

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item, NodeError
from tests.workflows import node, output_json, run, workflow


def sub_workflow(*steps: dict[str, Any]) -> dict[str, Any]:
    """An Execute Workflow Trigger named "Called" followed by ``steps`` in a chain."""
    nodes = [node("Called", "trigger.execute_workflow"), *steps]
    return workflow(nodes, [(a["name"], b["name"]) for a, b in itertools.pairwise(nodes)])


SUB_WORKFLOWS = {
    "tag": sub_workflow(
        node("Tag", "core.set", {"assignments": [{"name": "tagged", "value": "{{ $json.n * 10 }}"}]}),
    ),
    "count": sub_workflow(
        node(
            "Count",
            "core.set",
            {
                "assignments": [{"name": "batch_size", "value": "{{ len($input.all()) }}"}],
                "include_other_fields": False,
            },
        ),
        node("One", "core.limit", {"max_items": 1}),
    ),
    "reject": sub_workflow(
        node("Check", "core.if", {"conditions": [{"left": "{{ $json.n }}", "operator": "gte", "right": 3}]}),
        node("Refuse", "core.stop_and_error", {"message": "n={{ $json.n }} is too big"}),
    ),
}


class SubWorkflows:
    """The host's sub-workflow callback: runs the workflow in process, as the studio's host does, and records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def __call__(self, workflow_id: str, items: list[Item]) -> list[Item]:
        self.calls.append((workflow_id, [item.json for item in items]))
        result = run(SUB_WORKFLOWS[workflow_id], [item.json for item in items], start="Called")
        if result.status is not RunStatus.SUCCEEDED:
            message = (result.error or {}).get("message", "it did not finish")
            raise NodeError(f"the sub-workflow run failed: {message}")
        return result.last_items()


def run_parent(parameters: dict[str, Any], items: list[dict[str, Any]], sub: SubWorkflows) -> RunResult:
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node("Run sub", "core.execute_workflow", parameters),
            node("After", "core.set", {"assignments": [{"name": "back", "value": True}]}),
        ],
        [("Start", "Run sub"), ("Run sub", "After")],
    )
    return run(data, items, host=LocalHost(workflows=sub))


def test_all_items_runs_the_sub_workflow_once_with_every_item() -> None:
    sub = SubWorkflows()

    result = run_parent({"workflow_id": "count"}, [{"n": 1}, {"n": 2}, {"n": 3}], sub)

    assert result.status is RunStatus.SUCCEEDED
    assert sub.calls == [("count", [{"n": 1}, {"n": 2}, {"n": 3}])]
    assert output_json(result, "Run sub") == [{"batch_size": 3}]
    assert output_json(result, "After") == [{"batch_size": 3, "back": True}]


def test_all_items_outputs_what_the_sub_workflows_last_node_returned() -> None:
    sub = SubWorkflows()

    result = run_parent({"workflow_id": "tag", "mode": "all_items"}, [{"n": 1}, {"n": 2}], sub)

    assert output_json(result, "Run sub") == [{"n": 1, "tagged": 10}, {"n": 2, "tagged": 20}]


def test_each_item_runs_the_sub_workflow_once_per_item_and_pairs_the_results() -> None:
    sub = SubWorkflows()

    result = run_parent({"workflow_id": "count", "mode": "each_item"}, [{"n": 1}, {"n": 2}, {"n": 3}], sub)

    assert result.status is RunStatus.SUCCEEDED
    assert sub.calls == [("count", [{"n": 1}]), ("count", [{"n": 2}]), ("count", [{"n": 3}])]
    assert output_json(result, "Run sub") == [{"batch_size": 1}] * 3
    assert [item.paired_item for item in result.last_outputs["Run sub"][0]] == [0, 1, 2]


def test_each_item_evaluates_the_workflow_id_per_item() -> None:
    sub = SubWorkflows()
    parameters = {"workflow_id": "{{ $json.target }}", "mode": "each_item"}

    result = run_parent(parameters, [{"target": "tag", "n": 4}, {"target": "count", "n": 5}], sub)

    assert [workflow_id for workflow_id, _ in sub.calls] == ["tag", "count"]
    assert output_json(result, "Run sub") == [{"target": "tag", "n": 4, "tagged": 40}, {"batch_size": 1}]


def test_a_failing_sub_workflow_fails_the_node_with_its_message() -> None:
    sub = SubWorkflows()

    result = run_parent({"workflow_id": "reject"}, [{"n": 1}, {"n": 7}], sub)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Run sub"
    assert result.error["message"] == "the sub-workflow run failed: n=7 is too big"
    assert "After" not in result.last_outputs


def test_in_each_item_mode_the_error_names_the_item_whose_run_failed() -> None:
    sub = SubWorkflows()

    result = run_parent({"workflow_id": "reject", "mode": "each_item"}, [{"n": 1}, {"n": 2}, {"n": 7}], sub)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Run sub" and result.error["item_index"] == 2
    assert result.error["message"] == "the sub-workflow run failed: n=7 is too big"
    assert len(sub.calls) == 3


def test_without_sub_workflow_support_the_node_fails_with_a_clear_message() -> None:
    data = workflow(
        [node("Start", "trigger.manual"), node("Run sub", "core.execute_workflow", {"workflow_id": "tag"})],
        [("Start", "Run sub")],
    )

    result = run(data, [{"n": 1}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["message"] == "sub-workflows are not available here"
