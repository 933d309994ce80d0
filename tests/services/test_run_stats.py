"""Runs per day by status (the Executions chart), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hitl_studio.db import session_scope
from hitl_studio.models.executions import Execution
from hitl_studio.models.users import Role
from hitl_studio.services import run_stats, workflows
from hitl_studio.services.errors import InvalidInput
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import make_user
from tests.workflows import node, workflow

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


def save_workflow(name: str) -> str:
    data = workflow([node("Start", "trigger.manual")], [])
    return workflows.create_workflow(WorkflowInput(**{**data, "name": name}), actor=make_user(Role.BUILDER)).id


def add_runs(workflow_id: str, *runs: tuple[datetime, str]) -> None:
    with session_scope() as session:
        for created_at, status in runs:
            session.add(
                Execution(
                    workflow_id=workflow_id, workflow_version=1, mode="manual", status=status, created_at=created_at
                )
            )


def test_runs_are_counted_per_utc_day_and_status_with_empty_days(database: Settings) -> None:
    flow = save_workflow("counted")
    add_runs(
        flow,
        (NOW - timedelta(hours=1), "succeeded"),
        (NOW - timedelta(hours=2), "succeeded"),
        (NOW - timedelta(hours=3), "failed"),
        # 23:30 UTC the day before: counts on that UTC day, whatever the server's zone.
        (datetime(2026, 3, 13, 23, 30, tzinfo=UTC), "waiting"),
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), "cancelled"),
        # Before the window and after "now": not counted.
        (datetime(2026, 2, 28, 23, 59, tzinfo=UTC), "failed"),
        (datetime(2026, 3, 15, 0, 1, tzinfo=UTC), "failed"),
    )

    days = run_stats.runs_per_day(14, now=NOW)

    assert [entry.day for entry in days] == [date(2026, 3, 1) + timedelta(days=n) for n in range(14)]
    assert days[-1].counts == {
        "queued": 0,
        "running": 0,
        "waiting": 0,
        "succeeded": 2,
        "failed": 1,
        "cancelled": 0,
    }
    assert days[-2].counts["waiting"] == 1
    assert days[0].counts["cancelled"] == 1
    assert days[0].total == 1
    assert sum(entry.total for entry in days) == 5
    assert all(entry.total == 0 for entry in days[1:-2])


def test_the_counts_can_be_limited_to_one_workflow(database: Settings) -> None:
    mine, other = save_workflow("mine"), save_workflow("other")
    add_runs(mine, (NOW, "succeeded"))
    add_runs(other, (NOW, "succeeded"), (NOW, "failed"))

    days = run_stats.runs_per_day(1, workflow_id=mine, now=NOW)

    assert [(entry.day, entry.total, entry.counts["succeeded"]) for entry in days] == [(date(2026, 3, 14), 1, 1)]


@pytest.mark.parametrize("days", [0, run_stats.MAX_DAYS + 1])
def test_a_window_out_of_range_names_the_field(sqlite_database: Settings, days: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        run_stats.runs_per_day(days)
    assert "days" in raised.value.field_errors
