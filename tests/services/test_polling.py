"""Polling triggers in the studio: activation books the poll, the first poll only takes its cursor,
later polls start a run with what is new, a failed poll is a failed run; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hitl_studio.db import session_scope
from hitl_studio.engine.states import RunStatus
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.users import Role
from hitl_studio.models.workflows import Schedule
from hitl_studio.services import executions, triggers, workflows
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import make_user
from tests.fakes.feed_server import RSS2, FakeFeedServer, fake_feed_server
from tests.runs import wait_for_run, wait_for_runs_of
from tests.workflows import node, workflow

NEW_ENTRY = b"""    <item>
      <title>Version 2.1</title>
      <guid isPermaLink="false">release-2.1</guid>
    </item>
"""


@pytest.fixture
def feeds() -> Iterator[FakeFeedServer]:
    with fake_feed_server() as fake:
        yield fake


def feed_flow(url: str, error_workflow: str | None = None) -> dict[str, Any]:
    return workflow(
        [
            node("New entries", "trigger.rss_feed", {"url": url, "poll_every": "@every 1m"}),
            node("Title", "core.set", {"assignments": [{"name": "seen", "value": "{{ $json.title }}"}]}),
        ],
        [("New entries", "Title")],
        **({"error_workflow": error_workflow} if error_workflow else {}),
    )


def activate(data: dict[str, Any], name: str = "feed") -> str:
    saved = workflows.create_workflow(WorkflowInput(**{**data, "name": name}), actor=make_user(Role.BUILDER))
    workflows.set_active(saved.id, True, actor=None)
    return saved.id


def the_schedule(workflow_id: str) -> Schedule:
    with session_scope() as session:
        rows = [row for row in session.exec(Schedule.__table__.select()).all() if row.workflow_id == workflow_id]  # type: ignore[attr-defined]
    (row,) = rows
    with session_scope() as session:
        found = session.get(Schedule, row.id)
        assert found is not None
        return found


def fire(workflow_id: str) -> str | None:
    """Fire the poll that is due now, as its queued job would."""
    row = the_schedule(workflow_id)
    assert row.next_run_at is not None
    return triggers.fire_schedule(row.id, row.next_run_at.isoformat())


def runs_of(workflow_id: str) -> list[Any]:
    return executions.list_executions(executions.ExecutionFilter(workflow_id=workflow_id))[0]


def test_activation_books_the_poll_every_interval(database: Settings, feeds: FakeFeedServer) -> None:
    workflow_id = activate(feed_flow(feeds.url("/rss2")))

    row = the_schedule(workflow_id)

    assert row.cron == "@every 1m" and row.poll_cursor is None
    assert row.next_run_at is not None
    assert timedelta(seconds=50) < row.next_run_at - datetime.now(UTC) <= timedelta(seconds=61)
    assert feeds.requests == []


def test_the_first_poll_takes_its_cursor_and_later_polls_run_only_what_is_new(
    database: Settings, feeds: FakeFeedServer
) -> None:
    workflow_id = activate(feed_flow(feeds.url("/rss2")))

    assert fire(workflow_id) is None
    assert runs_of(workflow_id) == [] and len(feeds.requests) == 1
    assert the_schedule(workflow_id).poll_cursor is not None
    assert fire(workflow_id) is None
    assert runs_of(workflow_id) == []

    feeds.serve("/rss2", RSS2.replace(b"    <item>", NEW_ENTRY + b"    <item>", 1))
    run_id = fire(workflow_id)

    assert run_id is not None
    finished = wait_for_run(run_id)
    assert finished.status == RunStatus.SUCCEEDED and finished.mode == ExecutionMode.POLL
    _, steps, _ = executions.get_execution(run_id)
    assert [step.node_name for step in steps] == ["New entries", "Title"]
    (item,) = steps[1].output_items["main"][0]
    assert item["json"]["seen"] == "Version 2.1" and item["json"]["id"] == "release-2.1"
    assert fire(workflow_id) is None
    assert len(runs_of(workflow_id)) == 1


def test_a_failed_poll_is_a_failed_run_that_starts_the_error_workflow_and_keeps_the_cursor(
    database: Settings, feeds: FakeFeedServer
) -> None:
    handler = workflow([node("On error", "trigger.error"), node("Noted", "core.no_op")], [("On error", "Noted")])
    handler_id = workflows.create_workflow(
        WorkflowInput(**{**handler, "name": "handler"}), actor=make_user(Role.BUILDER)
    ).id
    workflow_id = activate(feed_flow(feeds.url("/rss2"), error_workflow=handler_id))
    fire(workflow_id)
    cursor = the_schedule(workflow_id).poll_cursor
    feeds.serve("/rss2", b"<html>down for maintenance</html>", "text/html")

    run_id = fire(workflow_id)

    assert run_id is not None
    failed = wait_for_run(run_id)
    assert failed.status == RunStatus.FAILED and failed.mode == ExecutionMode.POLL
    assert failed.error is not None and failed.error["node"] == "New entries"
    assert "feed" in failed.error["message"]
    assert the_schedule(workflow_id).poll_cursor == cursor
    (handled,) = wait_for_runs_of(handler_id)
    assert wait_for_run(handled.id).mode == ExecutionMode.ERROR

    feeds.serve("/rss2", RSS2)
    assert fire(workflow_id) is None


def test_a_changed_feed_url_starts_afresh_instead_of_running_the_whole_new_feed(
    database: Settings, feeds: FakeFeedServer
) -> None:
    workflow_id = activate(feed_flow(feeds.url("/rss2")))
    fire(workflow_id)
    saved = workflows.get_workflow(workflow_id)
    changed = feed_flow(feeds.url("/atom"))
    workflows.update_workflow(
        workflow_id, WorkflowInput(**{**changed, "name": saved.name}), actor=make_user(Role.BUILDER)
    )

    assert fire(workflow_id) is None
    assert runs_of(workflow_id) == []
    assert feeds.requests[-1].path == "/atom"


def test_deactivation_stops_the_polls(database: Settings, feeds: FakeFeedServer) -> None:
    workflow_id = activate(feed_flow(feeds.url("/rss2")))
    row = the_schedule(workflow_id)
    workflows.set_active(workflow_id, False, actor=None)

    assert row.next_run_at is not None
    assert triggers.fire_schedule(row.id, row.next_run_at.isoformat()) is None
    assert feeds.requests == []


def test_run_by_hand_a_polling_workflow_outputs_the_feed(database: Settings, feeds: FakeFeedServer) -> None:
    saved = workflows.create_workflow(
        WorkflowInput(**{**feed_flow(feeds.url("/rss2")), "name": "by hand"}), actor=make_user(Role.BUILDER)
    )

    execution = executions.start_execution(saved.id, [], executions.StartOptions(start_node="New entries"))

    finished = wait_for_run(execution.id)
    assert finished.status == RunStatus.SUCCEEDED
    _, steps, _ = executions.get_execution(execution.id)
    assert [item["json"]["seen"] for item in steps[1].output_items["main"][0]] == [
        "Version 2.0",
        "Version 1.9",
        "Version 1.8",
    ]
