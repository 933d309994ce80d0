"""Limit (core.limit) run through the engine: keep the first or last N items."""

from __future__ import annotations

from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

ITEMS = [{"n": n} for n in range(5)]


def run_limit(parameters: dict[str, Any]) -> RunResult:
    data = workflow(
        [node("Start", "trigger.manual"), node("Limit", "core.limit", parameters), node("After", "core.no_op")],
        [("Start", "Limit"), ("Limit", "After")],
    )
    return run(data, ITEMS)


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({}, [0]),
        ({"max_items": 2}, [0, 1]),
        ({"max_items": 2, "keep": "first"}, [0, 1]),
        ({"max_items": 2, "keep": "last"}, [3, 4]),
        ({"max_items": 10, "keep": "first"}, [0, 1, 2, 3, 4]),
        ({"max_items": 10, "keep": "last"}, [0, 1, 2, 3, 4]),
    ],
)
def test_keeps_the_first_or_last_items_in_order(parameters: dict[str, Any], expected: list[int]) -> None:
    result = run_limit(parameters)

    assert result.status is RunStatus.SUCCEEDED
    assert [item["n"] for item in output_json(result, "Limit")] == expected
    assert output_json(result, "After") == output_json(result, "Limit")


@pytest.mark.parametrize("keep", ["first", "last"])
def test_zero_keeps_nothing_and_the_next_node_does_not_run(keep: str) -> None:
    result = run_limit({"max_items": 0, "keep": keep})

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Limit") == []
    assert "After" not in result.last_outputs


def test_a_negative_maximum_fails_the_run() -> None:
    result = run_limit({"max_items": "{{ $json.n - 1 }}"})

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "Limit"
    assert result.error["message"].startswith("parameter 'max_items', item 0:")
