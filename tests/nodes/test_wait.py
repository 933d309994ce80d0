"""Wait (core.wait) run through the engine: pauses for an interval or until a date, then passes items on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hitl_studio.engine.graph import parse_workflow
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner
from hitl_studio.engine.states import RunStatus
from nodes.registry import get_registry
from tests.workflows import node, output_json, run, workflow

ITEMS = [{"id": 1}, {"id": 2}]


def wait_workflow(parameters: dict[str, Any]) -> dict[str, Any]:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node("Wait", "core.wait", parameters),
            node("Then", "core.set", {"assignments": [{"name": "woke", "value": True}]}),
        ],
        [("Start", "Wait"), ("Wait", "Then")],
    )


@pytest.mark.parametrize(
    ("amount", "unit", "delta"),
    [
        (30, "seconds", timedelta(seconds=30)),
        (1.5, "minutes", timedelta(seconds=90)),
        (2, "hours", timedelta(hours=2)),
        (1, "days", timedelta(days=1)),
    ],
)
def test_an_interval_pauses_the_run_until_now_plus_the_amount(amount: float, unit: str, delta: timedelta) -> None:
    before = datetime.now(UTC)
    result = run(wait_workflow({"amount": amount, "unit": unit}), ITEMS)
    after = datetime.now(UTC)

    assert result.status is RunStatus.WAITING and result.waiting_node == "Wait"
    assert result.wait is not None and result.wait.kind == "time"
    assert result.wait.resume_at is not None and result.wait.resume_at.utcoffset() == timedelta(0)
    assert before + delta <= result.wait.resume_at <= after + delta
    assert [item.json for item in result.wait.passthrough] == ITEMS
    assert "Then" not in result.last_outputs


def test_the_default_is_one_minute() -> None:
    before = datetime.now(UTC)
    result = run(wait_workflow({}), ITEMS)

    assert result.wait is not None and result.wait.resume_at is not None
    assert before + timedelta(minutes=1) <= result.wait.resume_at <= datetime.now(UTC) + timedelta(minutes=1)


def test_a_zero_interval_passes_items_through_at_once() -> None:
    result = run(wait_workflow({"amount": 0}), ITEMS)

    assert result.status is RunStatus.SUCCEEDED
    assert output_json(result, "Then") == [{"id": 1, "woke": True}, {"id": 2, "woke": True}]


def test_until_a_past_date_passes_items_through_at_once() -> None:
    result = run(wait_workflow({"resume": "until", "until": "2020-01-01T00:00:00+00:00"}), ITEMS)

    assert result.status is RunStatus.SUCCEEDED
    assert result.wait is None
    assert output_json(result, "Then") == [{"id": 1, "woke": True}, {"id": 2, "woke": True}]


def test_until_a_future_date_pauses_until_that_instant_in_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))
    target = (datetime.now(UTC) + timedelta(days=30)).astimezone(paris_summer).replace(microsecond=0)

    result = run(wait_workflow({"resume": "until", "until": target.isoformat()}), ITEMS)

    assert result.status is RunStatus.WAITING
    assert result.wait is not None and result.wait.resume_at == target
    assert result.wait.resume_at.tzinfo is UTC


def test_until_without_a_zone_is_taken_as_utc_and_may_come_from_an_expression() -> None:
    target = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    naive = target.replace(tzinfo=None).isoformat()

    result = run(wait_workflow({"resume": "until", "until": "{{ $json.when }}"}), [{"when": naive}])

    assert result.wait is not None and result.wait.resume_at == target


@pytest.mark.parametrize("until", ["next tuesday", ""])
def test_an_until_that_is_not_a_date_fails_the_run(until: str) -> None:
    result = run(wait_workflow({"resume": "until", "until": until}), ITEMS)

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "Wait"
    assert result.error["message"] == f"'until' is not a date: {until!r}"
    assert "Then" not in result.last_outputs


def test_resuming_passes_the_waiting_items_on() -> None:
    data = wait_workflow({"amount": 5, "unit": "minutes"})
    paused = run(data, ITEMS)
    frontier = json.loads(json.dumps(paused.frontier))

    resumed = Runner(parse_workflow(data), get_registry(), LocalHost()).resume(frontier, None)

    assert resumed.status is RunStatus.SUCCEEDED
    assert output_json(resumed, "Wait") == ITEMS
    assert output_json(resumed, "Then") == [{"id": 1, "woke": True}, {"id": 2, "woke": True}]
