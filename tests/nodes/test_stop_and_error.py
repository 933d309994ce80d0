"""Stop and Error (core.stop_and_error) run through the engine: the run fails on purpose, never retried."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.states import RunStatus
from tests.workflows import node, run, workflow


def stop_workflow(parameters: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return workflow(
        [node("Start", "trigger.manual"), node("Stop", "core.stop_and_error", parameters, **settings)],
        [("Start", "Stop")],
    )


def test_the_run_fails_with_the_message_evaluated_against_the_first_item() -> None:
    result = run(stop_workflow({"message": "Order {{ $json.id }} is invalid"}), [{"id": 42}, {"id": 43}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["node"] == "Stop"
    assert result.error["message"] == "Order 42 is invalid"
    assert result.error["type"] == "StopRun"
    assert result.error["item_index"] == 0
    assert result.steps[-1].node == "Stop" and result.steps[-1].status == "failed"


def test_the_default_message_and_details_are_reported() -> None:
    result = run(stop_workflow({"details": {"code": "E42"}}), [{}])

    assert result.error is not None
    assert result.error["message"] == "The workflow stopped on purpose."
    assert "E42" in result.error["description"]


def test_retry_on_fail_does_not_retry_a_deliberate_stop() -> None:
    data = stop_workflow({"message": "stop"}, retry_on_fail=True, max_tries=5, wait_between_tries=1)

    result = run(data, [{}])

    assert result.status is RunStatus.FAILED
    assert result.steps[-1].attempts == 1


def test_continue_on_fail_does_not_turn_a_deliberate_stop_into_an_item() -> None:
    result = run(stop_workflow({"message": "stop"}, on_error="continue"), [{}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["message"] == "stop"
