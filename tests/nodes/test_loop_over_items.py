"""Loop Over Items (core.loop_over_items) run through the engine: batches go round, results come out on 'done'."""

from __future__ import annotations

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow


def loop_workflow(batch_size: int) -> dict[str, object]:
    """Start → Loop; Loop's 'loop' output → Work → back to Loop; Loop's 'done' output → After."""
    return workflow(
        [
            node("Start", "trigger.manual"),
            node("Loop", "core.loop_over_items", {"batch_size": batch_size}),
            node("Work", "core.set", {"assignments": [{"name": "double", "value": "{{ $json.i * 2 }}"}]}),
            node("After", "core.no_op"),
        ],
        [("Start", "Loop"), ("Loop", 1, "Work"), ("Work", "Loop"), ("Loop", 0, "After")],
    )


def batches(result: RunResult) -> list[list[int]]:
    """The items (by ``i``) the loop branch received on each of its runs."""
    return [[item.json["i"] for item in step.inputs[0]] for step in result.steps if step.node == "Work"]


@pytest.mark.parametrize(
    ("batch_size", "expected"),
    [(1, [[0], [1], [2], [3], [4]]), (2, [[0, 1], [2, 3], [4]]), (10, [[0, 1, 2, 3, 4]])],
)
def test_items_go_through_the_loop_branch_in_batches(batch_size: int, expected: list[list[int]]) -> None:
    result = run(loop_workflow(batch_size), [{"i": i} for i in range(5)])

    assert result.status is RunStatus.SUCCEEDED
    assert batches(result) == expected


@pytest.mark.parametrize("batch_size", [1, 2, 10])
def test_done_emits_the_transformed_items_once_in_order(batch_size: int) -> None:
    result = run(loop_workflow(batch_size), [{"i": i} for i in range(5)])

    assert output_json(result, "After") == [{"i": i, "double": i * 2} for i in range(5)]
    assert [step.node for step in result.steps].count("After") == 1
    assert result.steps[-1].node == "After"


def test_the_loop_state_is_cleared_when_done_so_the_node_can_loop_again() -> None:
    result = run(loop_workflow(2), [{"i": i} for i in range(3)])

    assert result.node_state["Loop"] == {}


def test_zero_items_finish_at_once_with_nothing_on_done() -> None:
    result = run(loop_workflow(2), start="Loop")

    assert result.status is RunStatus.SUCCEEDED
    assert [step.node for step in result.steps] == ["Loop"]
    assert result.last_outputs["Loop"] == [[], []]
    assert "Work" not in result.last_outputs and "After" not in result.last_outputs
