"""Merge (core.merge) run through the engine: append, join by key, by position, every pair, choose a branch.

Each input is fed by a No Operation node whose items are pinned, so every test states both inputs exactly.
"""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.states import RunStatus
from nodes.sdk import Item
from tests.workflows import node, output_json, run, workflow

ORDERS = [
    {"order": "A", "customer_id": 1},
    {"order": "B", "customer_id": 2},
    {"order": "C", "customer_id": 9},
    {"order": "D", "customer_id": 1},
]
CUSTOMERS = [
    {"id": 1, "name": "Ada"},
    {"id": 2, "name": "Grace"},
    {"id": 3, "name": "Edsger"},
]


def merge(parameters: dict[str, Any], first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict]:
    """The JSON the Merge node outputs for these two inputs."""
    data = workflow(
        [
            node("Start", "trigger.manual"),
            node("Input 1", "core.no_op"),
            node("Input 2", "core.no_op"),
            node("Merge", "core.merge", parameters),
        ],
        [("Start", "Input 1"), ("Start", "Input 2"), ("Input 1", 0, "Merge", 0), ("Input 2", 0, "Merge", 1)],
    )
    pinned = {"Input 1": [Item(dict(j)) for j in first], "Input 2": [Item(dict(j)) for j in second]}

    result = run(data, pinned=pinned)

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert [step.node for step in result.steps].count("Merge") == 1
    return output_json(result, "Merge")


def by_key(join: str) -> dict[str, Any]:
    return {"mode": "combine_by_key", "key_1": "customer_id", "key_2": "id", "join": join}


def test_append_outputs_input_1_then_input_2() -> None:
    assert merge({"mode": "append"}, [{"n": 1}, {"n": 2}], [{"n": 3}]) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_append_is_the_default_mode() -> None:
    assert merge({}, [{"n": 1}], [{"n": 2}]) == [{"n": 1}, {"n": 2}]


def test_combine_by_key_inner_keeps_only_matches_one_per_partner() -> None:
    assert merge(by_key("inner"), ORDERS, CUSTOMERS) == [
        {"order": "A", "customer_id": 1, "id": 1, "name": "Ada"},
        {"order": "B", "customer_id": 2, "id": 2, "name": "Grace"},
        {"order": "D", "customer_id": 1, "id": 1, "name": "Ada"},
    ]


def test_combine_by_key_joins_an_item_with_every_matching_partner() -> None:
    contacts = [{"id": 1, "email": "ada@a.example"}, {"id": 1, "email": "ada@b.example"}]

    assert merge(by_key("inner"), ORDERS[:1], contacts) == [
        {"order": "A", "customer_id": 1, "id": 1, "email": "ada@a.example"},
        {"order": "A", "customer_id": 1, "id": 1, "email": "ada@b.example"},
    ]


def test_combine_by_key_left_also_keeps_unmatched_input_1_items_in_place() -> None:
    assert merge(by_key("left"), ORDERS, CUSTOMERS) == [
        {"order": "A", "customer_id": 1, "id": 1, "name": "Ada"},
        {"order": "B", "customer_id": 2, "id": 2, "name": "Grace"},
        {"order": "C", "customer_id": 9},
        {"order": "D", "customer_id": 1, "id": 1, "name": "Ada"},
    ]


def test_combine_by_key_outer_also_keeps_unmatched_input_2_items_at_the_end() -> None:
    assert merge(by_key("outer"), ORDERS, CUSTOMERS) == [
        {"order": "A", "customer_id": 1, "id": 1, "name": "Ada"},
        {"order": "B", "customer_id": 2, "id": 2, "name": "Grace"},
        {"order": "C", "customer_id": 9},
        {"order": "D", "customer_id": 1, "id": 1, "name": "Ada"},
        {"id": 3, "name": "Edsger"},
    ]


def test_combine_by_key_reads_dotted_keys_and_never_matches_missing_ones() -> None:
    first = [{"customer": {"id": 2}, "order": "B"}, {"order": "X"}]
    second = [{"ref": {"id": 2}, "name": "Grace"}, {"name": "nobody"}]
    parameters = {"mode": "combine_by_key", "key_1": "customer.id", "key_2": "ref.id", "join": "inner"}

    assert merge(parameters, first, second) == [
        {"customer": {"id": 2}, "order": "B", "ref": {"id": 2}, "name": "Grace"}
    ]


def test_combine_by_position_pairs_first_with_first_and_input_2_wins_on_clashes() -> None:
    first = [{"n": 1, "side": "one"}, {"n": 2, "side": "one"}, {"n": 3, "side": "one"}]
    second = [{"letter": "a", "side": "two"}, {"letter": "b", "side": "two"}]

    assert merge({"mode": "combine_by_position"}, first, second) == [
        {"n": 1, "letter": "a", "side": "two"},
        {"n": 2, "letter": "b", "side": "two"},
    ]


def test_combine_by_position_can_keep_the_unpaired_items_of_the_longer_input() -> None:
    parameters = {"mode": "combine_by_position", "include_unpaired": True}

    assert merge(parameters, [{"n": 1}, {"n": 2}, {"n": 3}], [{"l": "a"}]) == [{"n": 1, "l": "a"}, {"n": 2}, {"n": 3}]
    assert merge(parameters, [{"n": 1}], [{"l": "a"}, {"l": "b"}]) == [{"n": 1, "l": "a"}, {"l": "b"}]


def test_combine_all_outputs_every_pair() -> None:
    assert merge({"mode": "combine_all"}, [{"size": "S"}, {"size": "L"}], [{"color": "red"}, {"color": "blue"}]) == [
        {"size": "S", "color": "red"},
        {"size": "S", "color": "blue"},
        {"size": "L", "color": "red"},
        {"size": "L", "color": "blue"},
    ]


def test_choose_branch_passes_one_input_on() -> None:
    first, second = [{"from": 1}], [{"from": 2}, {"from": 2}]

    assert merge({"mode": "choose_branch"}, first, second) == first
    assert merge({"mode": "choose_branch", "branch": 2}, first, second) == second
