"""Filter (core.filter) run through the engine: keeps the items that meet the conditions, drops the rest."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
ORDERS = [
    {"id": 1, "status": "paid", "amount": 120},
    {"id": 2, "status": "open", "amount": 80},
    {"id": 3, "status": "PAID", "amount": 40},
    {"id": 4, "status": "paid", "amount": 300},
]


def filter_workflow(conditions: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return workflow(
        [MANUAL, node("Filter", "core.filter", {"conditions": conditions, **options}), node("After", "core.no_op")],
        [("Start", "Filter"), ("Filter", "After")],
    )


def test_keeps_matching_items_in_order_and_pairs_them_with_their_input() -> None:
    data = filter_workflow([{"left": "{{ $json.status }}", "operator": "equals", "right": "paid"}], ignore_case=True)

    result = run(data, ORDERS)

    assert result.status is RunStatus.SUCCEEDED
    assert [item["id"] for item in output_json(result, "Filter")] == [1, 3, 4]
    assert [item.paired_item for item in result.last_outputs["Filter"][0]] == [0, 2, 3]
    assert output_json(result, "After") == output_json(result, "Filter")


def test_conditions_combine_with_and_or_or() -> None:
    conditions = [
        {"left": "{{ $json.status }}", "operator": "equals", "right": "paid"},
        {"left": "{{ $json.amount }}", "operator": "gte", "right": 50},
    ]

    both = run(filter_workflow(conditions), ORDERS)
    either = run(filter_workflow(conditions, combinator="or"), ORDERS)

    assert [item["id"] for item in output_json(both, "Filter")] == [1, 4]
    assert [item["id"] for item in output_json(either, "Filter")] == [1, 2, 4]


def test_no_conditions_keep_every_item() -> None:
    result = run(filter_workflow([]), ORDERS)

    assert output_json(result, "Filter") == ORDERS


def test_when_nothing_is_kept_the_next_node_does_not_run() -> None:
    data = filter_workflow([{"left": "{{ $json.amount }}", "operator": "gt", "right": 1000}])

    result = run(data, ORDERS)

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Filter") == []
    assert "After" not in result.last_outputs


def test_a_condition_that_cannot_be_evaluated_fails_the_run_naming_the_item() -> None:
    data = filter_workflow([{"left": "{{ $json.amount }}", "operator": "lt", "right": 100}])

    result = run(data, [{"amount": 1}, {"amount": 2}, {"amount": "n/a"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Filter" and result.error["item_index"] == 2
    assert result.error["message"] == "condition 1: the left value 'n/a' is not a number"
