"""Switch (core.switch) run through the engine: named rule outputs, fallback, all matching, expression mode."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.core.switch import SwitchNode
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
TICKETS = [
    {"id": 1, "priority": 9},
    {"id": 2, "priority": 5},
    {"id": 3, "priority": 1},
    {"id": 4, "priority": 7},
]


def rule(operator: str, right: Any, name: str = "") -> dict[str, Any]:
    return {"conditions": [{"left": "{{ $json.priority }}", "operator": operator, "right": right}], "output_name": name}


RULES = [rule("gte", 7, "urgent"), rule("gte", 5), rule("lt", 2, "low")]


def switch_workflow(parameters: dict[str, Any]) -> dict[str, Any]:
    """Start → Switch, with a No Operation node on each of the switch's outputs (named "out <index>")."""
    count = len(SwitchNode.output_names(parameters))
    targets = [node(f"out {index}", "core.no_op") for index in range(count)]
    links: list[Any] = [("Start", "Switch")] + [("Switch", index, f"out {index}") for index in range(count)]
    return workflow([MANUAL, node("Switch", "core.switch", parameters), *targets], links)


def routed(parameters: dict[str, Any], items: list[dict[str, Any]]) -> list[list[Any]]:
    """The ids of the items on each of the switch's outputs."""
    result = run(switch_workflow(parameters), items)
    assert result.status is RunStatus.SUCCEEDED, result.error
    return ids_per_output(result)


def ids_per_output(result: RunResult) -> list[list[Any]]:
    return [[item.json["id"] for item in output] for output in result.last_outputs["Switch"]]


def test_rule_outputs_are_named_after_their_rules_or_their_position() -> None:
    assert SwitchNode.output_names({"rules": RULES}) == ("urgent", "1", "low")
    assert SwitchNode.output_names({"rules": RULES, "fallback": "extra"}) == ("urgent", "1", "low", "fallback")
    assert SwitchNode.output_names({"rules": []}) == ()


def test_expression_mode_has_output_count_outputs() -> None:
    assert SwitchNode.output_names({"mode": "expression", "output_count": 4}) == ("0", "1", "2", "3")
    assert SwitchNode.output_names({"mode": "expression"}) == ("0", "1")


def test_each_item_goes_to_the_first_rule_it_meets_and_reaches_that_branch() -> None:
    result = run(switch_workflow({"rules": RULES}), TICKETS)

    assert ids_per_output(result) == [[1, 4], [2], [3]]
    assert output_json(result, "out 0") == [{"id": 1, "priority": 9}, {"id": 4, "priority": 7}]
    assert output_json(result, "out 2") == [{"id": 3, "priority": 1}]
    assert [item.paired_item for item in result.last_outputs["Switch"][0]] == [0, 3]


def test_items_that_meet_no_rule_are_dropped_without_a_fallback() -> None:
    assert routed({"rules": RULES[:1]}, TICKETS) == [[1, 4]]


def test_the_fallback_output_receives_items_that_meet_no_rule() -> None:
    assert routed({"rules": RULES[:1], "fallback": "extra"}, TICKETS) == [[1, 4], [2, 3]]


def test_all_matching_sends_an_item_to_every_rule_it_meets() -> None:
    assert routed({"rules": RULES, "all_matching": True}, TICKETS) == [[1, 4], [1, 2, 4], [3]]


def test_fallback_with_all_matching_only_gets_items_that_met_nothing() -> None:
    parameters = {"rules": RULES[:2], "all_matching": True, "fallback": "extra"}

    assert routed(parameters, TICKETS) == [[1, 4], [1, 2, 4], [3]]


def test_expression_mode_routes_each_item_to_the_computed_output() -> None:
    parameters = {"mode": "expression", "output_count": 3, "output": "{{ $json.id % 3 }}"}

    assert routed(parameters, TICKETS) == [[3], [1, 4], [2]]


def test_an_output_index_out_of_range_fails_the_run_naming_the_item() -> None:
    parameters = {"mode": "expression", "output_count": 2, "output": "{{ $json.id - 1 }}"}

    result = run(switch_workflow(parameters), TICKETS)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Switch" and result.error["item_index"] == 2
    assert result.error["message"] == "the output index 2 is not between 0 and 1"
    assert "out 0" not in result.last_outputs


def test_an_output_index_that_is_not_a_whole_number_fails_the_run() -> None:
    parameters = {"mode": "expression", "output_count": 2, "output": "{{ $json.label }}"}

    result = run(switch_workflow(parameters), [{"id": 1, "label": "first"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert result.error["message"] == "the output index 'first' is not between 0 and 1"
