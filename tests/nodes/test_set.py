"""Edit Fields (core.set) run through the engine: literal and expression values, nested names, errors."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.states import RunStatus
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


def set_workflow(*assignments: tuple[str, Any], include_other_fields: bool = True) -> dict[str, Any]:
    parameters = {
        "assignments": [{"name": name, "value": value} for name, value in assignments],
        "include_other_fields": include_other_fields,
    }
    return workflow([MANUAL, node("Set", "core.set", parameters)], [("Start", "Set")])


def test_literal_values_are_added_and_replace_existing_fields() -> None:
    result = run(set_workflow(("status", "new"), ("count", 3), ("tags", ["a", "b"])), [{"id": 1, "status": "old"}])

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Set") == [{"id": 1, "status": "new", "count": 3, "tags": ["a", "b"]}]


def test_expression_values_are_evaluated_per_item_and_keep_their_type() -> None:
    data = set_workflow(("total", "{{ $json.price * $json.qty }}"), ("label", "Order {{ $json.id }}"))

    result = run(data, [{"id": 1, "price": 2.5, "qty": 4}, {"id": 2, "price": 10, "qty": 1}])

    assert output_json(result, "Set") == [
        {"id": 1, "price": 2.5, "qty": 4, "total": 10.0, "label": "Order 1"},
        {"id": 2, "price": 10, "qty": 1, "total": 10, "label": "Order 2"},
    ]


def test_dotted_names_create_nested_objects() -> None:
    result = run(set_workflow(("customer.address.city", "Lyon"), ("customer.name", "Ada")), [{"id": 1}])

    assert output_json(result, "Set") == [{"id": 1, "customer": {"address": {"city": "Lyon"}, "name": "Ada"}}]


def test_dotted_names_do_not_mutate_the_input_item() -> None:
    result = run(set_workflow(("customer.name", "Grace")), [{"customer": {"name": "Ada", "vip": True}}])

    assert output_json(result, "Set") == [{"customer": {"name": "Grace", "vip": True}}]
    assert output_json(result, "Start") == [{"customer": {"name": "Ada", "vip": True}}]


def test_a_dotted_name_replaces_a_non_object_in_its_path() -> None:
    result = run(set_workflow(("customer.name", "Ada")), [{"customer": "unknown"}])

    assert output_json(result, "Set") == [{"customer": {"name": "Ada"}}]


def test_include_other_fields_false_keeps_only_the_assignments() -> None:
    data = set_workflow(("name", "{{ $json.first + ' ' + $json.last }}"), include_other_fields=False)

    result = run(data, [{"first": "Ada", "last": "Lovelace", "secret": "x"}])

    assert output_json(result, "Set") == [{"name": "Ada Lovelace"}]


def test_items_are_paired_with_their_input_item() -> None:
    result = run(set_workflow(("seen", True)), [{"i": 0}, {"i": 1}, {"i": 2}])

    assert [item.paired_item for item in result.last_outputs["Set"][0]] == [0, 1, 2]


def test_an_expression_can_read_an_earlier_node_by_name() -> None:
    data = workflow(
        [
            MANUAL,
            node("Rename", "core.set", {"assignments": [{"name": "n", "value": 0}], "include_other_fields": False}),
            node("Back", "core.set", {"assignments": [{"name": "original", "value": '{{ $node["Start"].json.n }}'}]}),
        ],
        [("Start", "Rename"), ("Rename", "Back")],
    )

    result = run(data, [{"n": 10}, {"n": 20}])

    assert output_json(result, "Back") == [{"n": 0, "original": 10}, {"n": 0, "original": 20}]


def test_an_expression_error_fails_the_run_naming_the_node_and_item() -> None:
    data = workflow(
        [
            MANUAL,
            node("Ratio", "core.set", {"assignments": [{"name": "ratio", "value": "{{ $json.a / $json.b }}"}]}),
            node("Never", "core.no_op"),
        ],
        [("Start", "Ratio"), ("Ratio", "Never")],
    )

    result = run(data, [{"a": 1, "b": 2}, {"a": 1, "b": 0}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Ratio"
    assert result.error["item_index"] == 1
    assert "item 1" in result.error["message"]
    assert "Never" not in result.last_outputs
