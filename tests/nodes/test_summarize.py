"""Summarize (data.summarize), run through the engine."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

TYPE = "data.summarize"

SALES = [
    {"region": "north", "customer": "ann", "amount": 10, "day": "2024-05-02"},
    {"region": "south", "customer": "bob", "amount": 5.5, "day": "2024-05-01"},
    {"region": "north", "customer": "ann", "amount": "4", "day": "2024-05-03"},
    {"region": "north", "customer": "cy", "amount": None, "day": "2024-04-30"},
]


def summarize(items: list[dict[str, Any]], **parameters: Any) -> RunResult:
    data = workflow([node("Start", "trigger.manual"), node("Totals", TYPE, parameters)], [("Start", "Totals")])
    return run(data, items)


def test_groups_get_one_item_each_with_n8n_style_field_names() -> None:
    aggregations = [
        {"operation": "count", "field": "amount"},
        {"operation": "count_unique", "field": "customer"},
        {"operation": "sum", "field": "amount"},
        {"operation": "average", "field": "amount"},
        {"operation": "min", "field": "amount"},
        {"operation": "max", "field": "amount"},
        {"operation": "append", "field": "amount"},
    ]

    result = summarize(SALES, group_by=["region"], aggregations=aggregations)

    assert output_json(result, "Totals") == [
        {
            "region": "north",
            "count_amount": 2,
            "count_unique_customer": 2,
            "sum_amount": 14,
            "average_amount": 7.0,
            "min_amount": 4,
            "max_amount": 10,
            "append_amount": [10, "4"],
        },
        {
            "region": "south",
            "count_amount": 1,
            "count_unique_customer": 1,
            "sum_amount": 5.5,
            "average_amount": 5.5,
            "min_amount": 5.5,
            "max_amount": 5.5,
            "append_amount": [5.5],
        },
    ]


def test_without_group_by_everything_is_one_group() -> None:
    aggregations = [
        {"operation": "concatenate", "field": "customer", "separator": " | "},
        {"operation": "append", "field": "amount", "include_empty": True},
        {"operation": "min", "field": "day"},
        {"operation": "max", "field": "day"},
    ]

    result = summarize(SALES, aggregations=aggregations)

    assert output_json(result, "Totals") == [
        {
            "concatenate_customer": "ann | bob | ann | cy",
            "append_amount": [10, 5.5, "4", None],
            "min_day": "2024-04-30",
            "max_day": "2024-05-03",
        }
    ]


def test_nested_fields_group_and_name_outputs_without_dots() -> None:
    items = [
        {"shop": {"id": "s1"}, "order": {"total": 3}},
        {"shop": {"id": "s2"}, "order": {"total": 4}},
        {"shop": {"id": "s1"}, "order": {"total": 5}},
        {"order": {"total": 1}},
    ]

    result = summarize(items, group_by=["shop.id"], aggregations=[{"operation": "sum", "field": "order.total"}])

    assert output_json(result, "Totals") == [
        {"shop": {"id": "s1"}, "sum_order_total": 8},
        {"shop": {"id": "s2"}, "sum_order_total": 4},
        {"shop": {"id": None}, "sum_order_total": 1},
    ]


def test_a_value_that_is_not_a_number_fails_naming_the_item() -> None:
    items = [{"amount": 1}, {"amount": 2}, {"amount": "twelve"}]

    result = summarize(items, aggregations=[{"operation": "sum", "field": "amount"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Totals" and result.error["item_index"] == 2
    assert result.error["message"] == "field 'amount' in item 2 is text ('twelve'), not a number"


def test_average_refuses_booleans() -> None:
    result = summarize([{"ok": True}], aggregations=[{"operation": "average", "field": "ok"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert "is a boolean (True), not a number" in result.error["message"]


def test_a_field_no_item_has_fails_unless_told_to_continue() -> None:
    aggregations = [{"operation": "sum", "field": "amuont"}, {"operation": "count", "field": "amuont"}]

    failed = summarize(SALES, aggregations=aggregations)
    tolerated = summarize(SALES, aggregations=aggregations, continue_if_field_missing=True)

    assert failed.status is RunStatus.FAILED
    assert failed.error is not None and failed.error["message"] == "no input item has the field 'amuont'"
    assert output_json(tolerated, "Totals") == [{"sum_amuont": 0, "count_amuont": 0}]
