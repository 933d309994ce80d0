"""Schedule Trigger (trigger.schedule) every N seconds: parameters, the stored rule, fire times, the trigger's item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hitl_studio.engine.graph import parse_workflow, validate
from hitl_studio.engine.states import RunStatus
from nodes.registry import get_registry
from nodes.triggers.schedule import ScheduleParameters, following_fire, interval_of, next_fire_times
from tests.workflows import node, output_json, run, workflow

NOON = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "seconds"), [("@every 2s", 2), ("@every 1s", 1), ("@every 5m", 300), ("@every 2h", 7200)]
)
def test_an_interval_is_written_in_the_cron_field(rule: str, seconds: int) -> None:
    assert ScheduleParameters.model_validate({"cron": rule}).cron == rule
    assert interval_of(rule) == seconds


def test_a_cron_expression_is_no_interval() -> None:
    assert interval_of("*/5 * * * *") is None
    assert interval_of("@daily") is None


@pytest.mark.parametrize("rule", ["@every 0s", "@every 1.5s", "@every s", "@every 2d", "@every 400000h", "@everyday"])
def test_bad_intervals_are_refused_with_the_way_to_write_one(rule: str) -> None:
    with pytest.raises(ValidationError, match="use '@every <N>s' with N from 1"):
        ScheduleParameters.model_validate({"cron": rule})


def test_a_bad_interval_is_a_problem_on_save_naming_the_parameter() -> None:
    graph = parse_workflow(workflow([node("Tick", "trigger.schedule", {"cron": "@every 0s"})], []))

    problems = [problem.to_dict() for problem in validate(graph, get_registry())]

    assert [(problem["node"], problem["parameter"]) for problem in problems] == [("Tick", "cron")]
    assert "not a valid interval" in problems[0]["message"]


def test_interval_fire_times_step_by_the_interval() -> None:
    assert next_fire_times("@every 90s", "Europe/Paris", 3, after=NOON) == [
        NOON + timedelta(seconds=90),
        NOON + timedelta(seconds=180),
        NOON + timedelta(seconds=270),
    ]


def test_an_interval_keeps_its_phase_when_a_fire_runs_late() -> None:
    late = NOON + timedelta(seconds=0.8)

    assert following_fire("@every 2s", "UTC", due=NOON, now=late) == NOON + timedelta(seconds=2)


def test_missed_interval_fires_are_skipped_not_replayed() -> None:
    back = NOON + timedelta(seconds=7.5)

    assert following_fire("@every 2s", "UTC", due=NOON, now=back) == NOON + timedelta(seconds=8)


def test_a_cron_schedule_books_its_next_time_after_now() -> None:
    back = NOON + timedelta(minutes=7, seconds=30)

    assert following_fire("*/5 * * * *", "UTC", due=NOON, now=back) == NOON + timedelta(minutes=10)


def test_the_interval_trigger_describes_its_fire_time() -> None:
    data = workflow([node("Tick", "trigger.schedule", {"cron": "@every 2s"})], [])

    result = run(data, [{"scheduled_at": "2026-03-02T12:00:02+00:00"}])

    assert result.status is RunStatus.SUCCEEDED, result.error
    assert output_json(result, "Tick") == [
        {
            "timestamp": "2026-03-02T12:00:02+00:00",
            "timezone": "UTC",
            "cron": "@every 2s",
            "interval_seconds": 2,
            "day_of_week": "Monday",
            "hour": 12,
            "minute": 0,
        }
    ]
