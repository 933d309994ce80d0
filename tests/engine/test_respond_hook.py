"""The runner hands the first response a Respond to Webhook node chooses to its hooks, as soon as the node runs."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner, Step
from hitl_studio.engine.states import RunStatus
from nodes.registry import get_registry
from nodes.sdk import Item
from tests.workflows import node, workflow


class Recorder:
    """Hooks that remember, in order, which nodes finished and which responses were handed over."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def node_started(self, node: str, run_index: int) -> None:
        """Starts are not what these tests look at."""

    def node_finished(self, step: Step) -> None:
        self.events.append(("finished", step.node))

    def responded(self, node: str, response: dict[str, Any]) -> None:
        self.events.append(("responded", (node, response)))


def respond_then_wait() -> dict[str, Any]:
    return workflow(
        [
            node("Hook", "trigger.webhook", {"path": "p", "response_mode": "respond_node"}),
            node(
                "Reply", "core.respond_to_webhook", {"respond_with": "json", "body": {"ok": True}, "status_code": 201}
            ),
            node("Second", "core.respond_to_webhook", {"respond_with": "text", "body": "too late"}),
            node("Pause", "core.wait", {"amount": 1, "unit": "hours"}),
            node("After", "core.no_op"),
        ],
        [("Hook", "Reply"), ("Reply", "Second"), ("Second", "Pause"), ("Pause", "After")],
    )


def runner(hooks: Recorder) -> Runner:
    return Runner(parse_workflow(respond_then_wait()), get_registry(), LocalHost(), hooks=hooks)


def test_the_first_response_is_handed_over_when_its_node_runs_and_the_run_goes_on() -> None:
    hooks = Recorder()
    first = runner(hooks)

    result = first.start("Hook", [Item({"body": {}})])

    assert result.status is RunStatus.WAITING
    assert first.responded
    reply = ("responded", ("Reply", {"status": 201, "headers": {}, "body": {"ok": True}}))
    assert hooks.events.index(reply) == hooks.events.index(("finished", "Reply")) + 1
    assert ("finished", "Second") in hooks.events
    assert [event for event in hooks.events if event[0] == "responded"] == [reply], "a run answers once"


def test_a_resumed_run_does_not_answer_again() -> None:
    paused = runner(Recorder()).start("Hook", [Item({"body": {}})])
    hooks = Recorder()
    second = runner(hooks)

    result = second.resume(paused.frontier or {}, None)

    assert result.status is RunStatus.SUCCEEDED
    assert second.responded
    assert [event for event in hooks.events if event[0] == "responded"] == []


def test_a_run_without_a_respond_node_hands_nothing_over() -> None:
    hooks = Recorder()
    plain = Runner(
        parse_workflow(workflow([node("Start", "trigger.manual"), node("Pass", "core.no_op")], [("Start", "Pass")])),
        get_registry(),
        LocalHost(),
        hooks=hooks,
    )

    assert plain.start("Start", [Item({})]).status is RunStatus.SUCCEEDED
    assert not plain.responded
    assert [event for event in hooks.events if event[0] == "responded"] == []
