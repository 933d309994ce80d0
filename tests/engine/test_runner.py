"""The engine runs graphs: order, branches, merges, loops, failures, pauses. In process, no database."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner
from hitl_studio.engine.states import RunStatus
from nodes.registry import NodeRegistry, discover
from nodes.sdk import Category, Context, Item, Node, NodeError, NodeOutput, Parameters, Wait, param
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


def set_node(name: str, **fields: Any) -> dict[str, Any]:
    return node(name, "core.set", {"assignments": [{"name": k, "value": v} for k, v in fields.items()]})


class Flaky(Node):
    """Fails until it has been called ``fail_times`` times in this process (per test instance)."""

    type = "tests.flaky"
    display_name = "Flaky"
    category = Category.UTILITY
    description = "Fails a few times, then succeeds."
    icon = "bug"
    calls = 0

    class Parameters(Parameters):
        fail_times: int = param(2, title="Fail times")

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        type(self).calls += 1
        if type(self).calls <= ctx.params().fail_times:
            raise NodeError(f"attempt {type(self).calls} failed", item_index=0)
        return [[Item({"attempts": type(self).calls})]]


class Sleepy(Node):
    type = "tests.sleepy"
    display_name = "Sleepy"
    category = Category.UTILITY
    description = "Sleeps."
    icon = "bed"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        import time

        time.sleep(2)
        return [items]


class Approve(Node):
    """Pauses like an approval node: outputs approved/rejected, chosen on resume."""

    type = "tests.pause"
    display_name = "Pause"
    category = Category.HUMAN
    description = "Waits."
    icon = "pause"
    outputs = ("approved", "rejected")

    def execute(self, ctx: Context, items: list[Item]) -> Wait:
        return Wait(kind="approval", data={"title": "ok?"}, passthrough=items)


@pytest.fixture
def registry() -> NodeRegistry:
    found = discover(include_entry_points=False)
    Flaky.calls = 0
    for cls in (Flaky, Sleepy, Approve):
        found.register(cls)
    return found


def test_a_linear_chain_passes_items_along() -> None:
    data = workflow(
        [MANUAL, set_node("A", total="{{ $json.price * 2 }}"), set_node("B", label="x")], [("Start", "A"), ("A", "B")]
    )

    result = run(data, [{"price": 5}, {"price": 7}])

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "B") == [
        {"price": 5, "total": 10, "label": "x"},
        {"price": 7, "total": 14, "label": "x"},
    ]
    assert [step.node for step in result.steps] == ["Start", "A", "B"]


def test_if_routes_items_and_runs_the_true_branch_first() -> None:
    data = workflow(
        [
            MANUAL,
            node("Big?", "core.if", {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 10}]}),
            set_node("Yes", size="big"),
            set_node("No", size="small"),
        ],
        [("Start", "Big?"), ("Big?", 0, "Yes"), ("Big?", 1, "No")],
    )

    result = run(data, [{"n": 5}, {"n": 50}])

    assert output_json(result, "Yes") == [{"n": 50, "size": "big"}]
    assert output_json(result, "No") == [{"n": 5, "size": "small"}]
    assert [step.node for step in result.steps] == ["Start", "Big?", "Yes", "No"]


def test_a_branch_with_no_items_does_not_run() -> None:
    data = workflow(
        [
            MANUAL,
            node("Any?", "core.if", {"conditions": [{"left": "{{ $json.n }}", "operator": "gt", "right": 99}]}),
            set_node("Yes", hit=True),
        ],
        [("Start", "Any?"), ("Any?", 0, "Yes")],
    )

    result = run(data, [{"n": 1}])

    assert "Yes" not in result.last_outputs
    assert result.status is RunStatus.SUCCEEDED


def test_merge_waits_for_both_inputs() -> None:
    data = workflow(
        [
            MANUAL,
            set_node("Left", side="l"),
            set_node("Right", side="r"),
            node("Join", "core.merge", {"mode": "append"}),
        ],
        [("Start", "Left"), ("Start", "Right"), ("Left", 0, "Join", 0), ("Right", 0, "Join", 1)],
    )

    result = run(data, [{"id": 1}])

    assert output_json(result, "Join") == [{"id": 1, "side": "l"}, {"id": 1, "side": "r"}]
    assert [step.node for step in result.steps].count("Join") == 1


def test_merge_runs_with_what_it_has_when_one_branch_is_empty() -> None:
    data = workflow(
        [
            MANUAL,
            node("Gate", "core.if", {"conditions": [{"left": "{{ $json.id }}", "operator": "equals", "right": 1}]}),
            node("Join", "core.merge", {"mode": "append"}),
        ],
        [("Start", "Gate"), ("Gate", 0, "Join", 0), ("Gate", 1, "Join", 1)],
    )

    result = run(data, [{"id": 1}])

    assert output_json(result, "Join") == [{"id": 1}]


def test_merge_by_key_joins_matching_items() -> None:
    data = workflow(
        [
            MANUAL,
            node("Orders", "core.set", {"assignments": [{"name": "customer", "value": "{{ $json.c }}"}]}),
            node("Names", "core.set", {"assignments": [{"name": "name", "value": "{{ 'N' + str($json.c) }}"}]}),
            node("Join", "core.merge", {"mode": "combine_by_key", "key_1": "customer", "key_2": "c", "join": "left"}),
        ],
        [("Start", "Orders"), ("Start", "Names"), ("Orders", 0, "Join", 0), ("Names", 0, "Join", 1)],
    )

    result = run(data, [{"c": 1}, {"c": 2}])

    assert [row["name"] for row in output_json(result, "Join")] == ["N1", "N2"]


def test_loop_over_items_processes_batches_and_emits_everything_once() -> None:
    data = workflow(
        [
            MANUAL,
            node("Loop", "core.loop_over_items", {"batch_size": 2}),
            set_node("Work", done=True),
            set_node("After", end=True),
        ],
        [("Start", "Loop"), ("Loop", 1, "Work"), ("Work", "Loop"), ("Loop", 0, "After")],
    )

    result = run(data, [{"i": i} for i in range(5)])

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "After") == [{"i": i, "done": True, "end": True} for i in range(5)]
    assert [step.node for step in result.steps].count("Work") == 3


def test_retry_on_fail_tries_again_then_succeeds(registry: NodeRegistry) -> None:
    flaky = node("Flaky", "tests.flaky", {"fail_times": 2}, retry_on_fail=True, max_tries=3, wait_between_tries=1)
    result = run(workflow([MANUAL, flaky], [("Start", "Flaky")]), [{}], registry=registry)

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Flaky") == [{"attempts": 3}]
    assert result.steps[-1].attempts == 3


def test_a_failure_names_the_node_and_item_and_stops_the_run(registry: NodeRegistry) -> None:
    data = workflow(
        [MANUAL, node("Flaky", "tests.flaky", {"fail_times": 5}), set_node("Never", x=1)],
        [("Start", "Flaky"), ("Flaky", "Never")],
    )

    result = run(data, [{}], registry=registry)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Flaky" and result.error["item_index"] == 0
    assert result.error["message"] == "attempt 1 failed"
    assert "Never" not in result.last_outputs


def test_continue_on_fail_turns_the_error_into_an_item(registry: NodeRegistry) -> None:
    data = workflow(
        [MANUAL, node("Flaky", "tests.flaky", {"fail_times": 5}, on_error="continue"), set_node("Next", seen=True)],
        [("Start", "Flaky"), ("Flaky", "Next")],
    )

    result = run(data, [{}], registry=registry)

    assert result.status is RunStatus.SUCCEEDED
    (item,) = output_json(result, "Next")
    assert item["error"] == "attempt 1 failed" and item["seen"] is True


def test_the_error_output_receives_the_error_item(registry: NodeRegistry) -> None:
    data = workflow(
        [
            MANUAL,
            node("Flaky", "tests.flaky", {"fail_times": 5}, on_error="continue_error_output"),
            set_node("Handle", handled=True),
        ],
        [("Start", "Flaky"), ("Flaky", 1, "Handle")],
    )

    result = run(data, [{}], registry=registry)

    assert output_json(result, "Handle")[0]["handled"] is True


def test_a_node_timeout_fails_the_node(registry: NodeRegistry) -> None:
    data = workflow([MANUAL, node("Slow", "tests.sleepy", timeout=0.2)], [("Start", "Slow")])

    result = run(data, [{}], registry=registry)

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["message"] == "timed out after 0.2 s"


def test_pinned_data_replaces_a_nodes_run() -> None:
    data = workflow(
        [MANUAL, set_node("Fetch", live=True), set_node("Use", used=True)], [("Start", "Fetch"), ("Fetch", "Use")]
    )

    result = run(data, [{}], pinned={"Fetch": [Item({"pinned": 1})]})

    assert output_json(result, "Use") == [{"pinned": 1, "used": True}]


def test_run_from_a_node_reuses_upstream_outputs() -> None:
    data = workflow(
        [MANUAL, set_node("Fetch", live=True), set_node("Use", total="{{ $node['Fetch'].json.n + 1 }}")],
        [("Start", "Fetch"), ("Fetch", "Use")],
    )

    result = run(data, start="Use", prior_outputs={"Fetch": [[Item({"n": 41})]]})

    assert [step.node for step in result.steps] == ["Use"]
    assert output_json(result, "Use") == [{"n": 41, "total": 42}]


def test_stop_after_runs_one_node_and_nothing_downstream() -> None:
    data = workflow(
        [MANUAL, set_node("Fetch", live=True), set_node("Use", used=True), set_node("Last", last=True)],
        [("Start", "Fetch"), ("Fetch", "Use"), ("Use", "Last")],
    )

    result = run(data, start="Use", prior_outputs={"Fetch": [[Item({"n": 1})]]}, stop_after="Use")

    assert result.status is RunStatus.SUCCEEDED
    assert [step.node for step in result.steps] == ["Use"]
    assert output_json(result, "Use") == [{"n": 1, "used": True}]
    assert "Last" not in result.last_outputs


def test_stop_after_survives_a_pause_and_resume(registry: NodeRegistry) -> None:
    data = workflow(
        [MANUAL, node("Ask", "tests.pause"), set_node("Yes", ok=True)],
        [("Start", "Ask"), ("Ask", 0, "Yes")],
    )
    paused = run(data, start="Ask", prior_outputs={"Start": [[Item({"id": 1})]]}, stop_after="Ask", registry=registry)
    frontier = json.loads(json.dumps(paused.frontier))

    fresh = Runner(parse_workflow(data), registry, LocalHost(), execution_id="exec-test")
    resumed = fresh.resume(frontier, [[Item({"id": 1})], []])

    assert resumed.status is RunStatus.SUCCEEDED
    assert "Yes" not in resumed.last_outputs


def test_stop_after_an_unknown_node_is_refused() -> None:
    data = workflow([MANUAL, set_node("A", x=1)], [("Start", "A")])

    with pytest.raises(ValueError, match="'Nope'"):
        run(data, [{}], stop_after="Nope")


def test_a_disabled_node_passes_its_items_through() -> None:
    data = workflow(
        [MANUAL, {**set_node("Off", changed=True), "disabled": True}, set_node("On", after=True)],
        [("Start", "Off"), ("Off", "On")],
    )

    assert output_json(run(data, [{"a": 1}]), "On") == [{"a": 1, "after": True}]


def test_a_paused_run_resumes_from_its_json_frontier_in_a_new_runner(registry: NodeRegistry) -> None:
    data = workflow(
        [
            MANUAL,
            set_node("Before", step=1),
            node("Ask", "tests.pause"),
            set_node("Yes", ok=True),
            set_node("No", ok=False),
        ],
        [("Start", "Before"), ("Before", "Ask"), ("Ask", 0, "Yes"), ("Ask", 1, "No")],
    )
    paused = run(data, [{"id": 7}], registry=registry)
    assert paused.status is RunStatus.WAITING and paused.waiting_node == "Ask"
    frontier = json.loads(json.dumps(paused.frontier))

    fresh = Runner(parse_workflow(data), registry, LocalHost(), execution_id="exec-test")
    resumed = fresh.resume(frontier, [[], [Item({"id": 7, "reason": "no budget"})]])

    assert resumed.status is RunStatus.SUCCEEDED
    assert output_json(resumed, "No") == [{"id": 7, "reason": "no budget", "ok": False}]
    assert "Yes" not in resumed.last_outputs
    assert output_json(resumed, "Before") == [{"id": 7, "step": 1}]


def test_a_wait_node_pauses_and_passes_items_through_on_resume() -> None:
    data = workflow(
        [MANUAL, node("Wait", "core.wait", {"amount": 1, "unit": "hours"}), set_node("Then", woke=True)],
        [("Start", "Wait"), ("Wait", "Then")],
    )
    paused = run(data, [{"a": 1}])
    assert paused.wait is not None and paused.wait.kind == "time" and paused.wait.resume_at is not None

    resumed = Runner(parse_workflow(data), discover(include_entry_points=False), LocalHost()).resume(
        paused.frontier or {}, None
    )

    assert output_json(resumed, "Then") == [{"a": 1, "woke": True}]


def test_cancel_stops_between_nodes() -> None:
    data = workflow([MANUAL, set_node("A", x=1)], [("Start", "A")])
    runner = Runner(parse_workflow(data), discover(include_entry_points=False), LocalHost(), cancelled=lambda: True)

    assert runner.start("Start", [Item({})]).status is RunStatus.CANCELLED


def test_the_loop_guard_ends_a_runaway_run() -> None:
    data = workflow(
        [MANUAL, node("Loop", "core.loop_over_items", {"batch_size": 1}), set_node("Work", w=1)],
        [("Start", "Loop"), ("Loop", 1, "Work"), ("Work", "Loop")],
    )
    runner = Runner(parse_workflow(data), discover(include_entry_points=False), LocalHost(), max_node_runs=10)

    result = runner.start("Start", [Item({"i": i}) for i in range(50)])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and "more than 10 nodes" in result.error["message"]


def test_an_expression_error_names_the_node_parameter_and_item() -> None:
    data = workflow([MANUAL, set_node("Calc", total="{{ $json.price + 1 }}")], [("Start", "Calc")])

    result = run(data, [{"price": 1}, {"price": "x"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Calc" and result.error["item_index"] == 1
    assert result.error["message"].startswith("parameter 'assignments', item 1:")


def test_execute_once_and_always_output_data() -> None:
    data = workflow(
        [
            MANUAL,
            {**set_node("Once", seen=True), "execute_once": True},
            {
                **node("None", "core.filter", {"conditions": [{"left": 1, "operator": "equals", "right": 2}]}),
                "always_output_data": True,
            },
        ],
        [("Start", "Once"), ("Once", "None")],
    )

    result = run(data, [{"i": 1}, {"i": 2}])

    assert output_json(result, "Once") == [{"i": 1, "seen": True}]
    assert output_json(result, "None") == [{}]
