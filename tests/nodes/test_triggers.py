"""The triggers run through the engine: manual, webhook, schedule, error and execute-workflow triggers."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.triggers.schedule import ScheduleParameters, next_fire_times
from tests.workflows import node, output_json, run, workflow

PARIS = ZoneInfo("Europe/Paris")


def run_trigger(type_id: str, items: list[dict[str, Any]], parameters: dict[str, Any] | None = None) -> RunResult:
    """Run ``Trigger → Next`` and check the trigger's output reached the next node."""
    data = workflow([node("Trigger", type_id, parameters), node("Next", "core.no_op")], [("Trigger", "Next")])
    result = run(data, items)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert output_json(result, "Next") == output_json(result, "Trigger")
    return result


def test_manual_trigger_without_items_emits_one_empty_item() -> None:
    assert output_json(run_trigger("trigger.manual", []), "Trigger") == [{}]


def test_manual_trigger_passes_posted_items_on() -> None:
    items = [{"id": 1}, {"id": 2}]

    assert output_json(run_trigger("trigger.manual", items), "Trigger") == items


def test_webhook_trigger_shapes_each_request_into_headers_params_query_and_body() -> None:
    request = {
        "headers": {"content-type": "application/json"},
        "params": {"id": "42"},
        "query": {"dry_run": "1"},
        "body": {"order": {"total": 9.5}},
        "method": "POST",
        "remote_addr": "127.0.0.1",
    }

    (item,) = output_json(run_trigger("trigger.webhook", [request], {"path": "orders/:id"}), "Trigger")

    assert item == {
        "headers": {"content-type": "application/json"},
        "params": {"id": "42"},
        "query": {"dry_run": "1"},
        "body": {"order": {"total": 9.5}},
    }


def test_webhook_trigger_fills_missing_parts_with_empty_values() -> None:
    (item,) = output_json(run_trigger("trigger.webhook", [{"body": "plain text"}], {"path": "hook"}), "Trigger")

    assert item == {"headers": {}, "params": {}, "query": {}, "body": "plain text"}


def test_schedule_trigger_describes_the_fire_time_in_its_time_zone() -> None:
    parameters = {"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}

    result = run_trigger("trigger.schedule", [{"scheduled_at": "2025-03-31T07:00:00+00:00"}], parameters)

    assert output_json(result, "Trigger") == [
        {
            "timestamp": "2025-03-31T09:00:00+02:00",
            "timezone": "Europe/Paris",
            "cron": "0 9 * * 1-5",
            "day_of_week": "Monday",
            "hour": 9,
            "minute": 0,
        }
    ]


def test_schedule_trigger_without_a_fire_time_uses_now() -> None:
    before = datetime.now(UTC)
    result = run_trigger("trigger.schedule", [], {"cron": "* * * * *"})

    (item,) = output_json(result, "Trigger")
    assert item["timezone"] == "UTC"
    assert before <= datetime.fromisoformat(item["timestamp"]) <= datetime.now(UTC)


def test_next_fire_times_follow_the_cron_in_its_zone_across_a_dst_change() -> None:
    # Paris moves from UTC+1 to UTC+2 on Sunday 30 March 2025.
    after = datetime(2025, 3, 27, 12, 0, tzinfo=UTC)

    times = next_fire_times("0 9 * * 1-5", "Europe/Paris", 5, after=after)

    assert len(times) == 5
    assert all(moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0 for moment in times)
    assert after < times[0] and all(a < b for a, b in itertools.pairwise(times))
    local = [moment.astimezone(PARIS) for moment in times]
    assert all((moment.hour, moment.minute) == (9, 0) and moment.weekday() < 5 for moment in local)
    assert [moment.date().isoformat() for moment in local] == [
        "2025-03-28",
        "2025-03-31",
        "2025-04-01",
        "2025-04-02",
        "2025-04-03",
    ]
    assert [moment.hour for moment in times] == [8, 7, 7, 7, 7]


def test_next_fire_times_default_to_five_after_now() -> None:
    before = datetime.now(UTC)

    times = next_fire_times("*/15 * * * *", "UTC")

    assert len(times) == 5 and before < times[0]
    assert all(moment.minute % 15 == 0 and moment.second == 0 for moment in times)
    assert all((b - a).total_seconds() == 15 * 60 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"cron": "every monday"}, "'every monday' is not a valid cron expression"),
        ({"cron": "61 * * * *"}, "'61 * * * *' is not a valid cron expression"),
        # croniter would read a sixth field as seconds: this would fire at 00:00:01-05 on the 9th.
        ({"cron": "0 0 9 * * 1-5"}, "'0 0 9 * * 1-5' is not a valid cron expression: use five fields"),
        ({"cron": "0 9 31 2 *"}, "'0 9 31 2 *' never fires"),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_schedule_parameters_refuse_a_bad_cron_or_time_zone(parameters: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        ScheduleParameters.model_validate(parameters)


@pytest.mark.parametrize("cron", ["0 9 * * 1-5", "*/15 * * * *", "0 9 * * MON-FRI", "@daily", "0 0 29 2 *"])
def test_schedule_parameters_accept_five_field_crons_and_aliases(cron: str) -> None:
    assert ScheduleParameters.model_validate({"cron": cron, "timezone": "Europe/Paris"}).cron == cron


def test_a_schedule_trigger_with_a_bad_cron_fails_the_run_naming_the_parameter() -> None:
    data = workflow([node("Trigger", "trigger.schedule", {"cron": "nope"})], [])

    result = run(data, [{"scheduled_at": "2025-03-31T07:00:00+00:00"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["node"] == "Trigger"
    assert result.error["message"].startswith("parameter 'cron', item 0:")


def test_error_trigger_passes_the_failed_runs_item_on() -> None:
    failure = {
        "execution": {"id": "e-1", "url": "/executions/e-1", "error": {"message": "boom"}, "last_node": "Charge"},
        "workflow": {"id": "w-1", "name": "Billing"},
    }

    assert output_json(run_trigger("trigger.error", [failure]), "Trigger") == [failure]


def test_execute_workflow_trigger_passes_the_callers_items_on() -> None:
    items = [{"n": 1}, {"n": 2}]

    assert output_json(run_trigger("trigger.execute_workflow", items), "Trigger") == items
