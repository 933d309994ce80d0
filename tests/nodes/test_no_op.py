"""No Operation (core.no_op) run through the engine: items pass on unchanged."""

from __future__ import annotations

from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow


def test_items_pass_through_unchanged_to_the_next_node() -> None:
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node("Label", "core.no_op"),
            node("Next", "core.set", {"assignments": [{"name": "seen", "value": True}]}),
        ],
        [("Start", "Label"), ("Label", "Next")],
    )
    items = [{"id": 1, "nested": {"a": [1, 2]}}, {"id": 2}]

    result = run(data, items)

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Label") == items
    assert output_json(result, "Next") == [{**item, "seen": True} for item in items]
    assert result.last_outputs["Label"] == result.last_outputs["Start"]
