"""The webhook route cache: no database work per request, yet every change is seen (at once through the services)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import select

from hitl_studio.db import get_engine, session_scope
from hitl_studio.models.executions import ExecutionMode
from hitl_studio.models.workflows import Workflow
from hitl_studio.services import executions, triggers, workflows
from hitl_studio.services.errors import NotFound
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.services.test_queue_mode import queue_mode  # noqa: F401 (a fixture)
from tests.workflows import node, workflow

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run while the block runs."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)


def hook(path: str, *, active: bool = True) -> str:
    flow = workflow([node("Hook", "trigger.webhook", {"path": path}), node("Pass", "core.no_op")], [("Hook", "Pass")])
    saved = workflows.create_workflow(WorkflowInput(**{**flow, "name": path}), actor=None)
    if active:
        workflows.set_active(saved.id, True, actor=None)
    return saved.id


def test_a_request_reads_no_database_while_nothing_changed(
    sqlite_database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(triggers, "ROUTE_RECHECK_SECONDS", 3600.0)
    hook("quiet")
    assert triggers.find_webhook("POST", "quiet") is not None

    with statements() as seen:
        found = triggers.find_webhook("POST", "quiet")

    assert found is not None and found[0].version == 1
    assert seen == []


def test_activation_saving_and_deactivation_are_seen_at_once(sqlite_database: Settings) -> None:
    workflow_id = hook("changing", active=False)
    assert triggers.find_webhook("POST", "changing") is None

    workflows.set_active(workflow_id, True, actor=None)
    assert triggers.find_webhook("POST", "changing") is not None
    flow = workflow([node("Hook", "trigger.webhook", {"path": "moved"})], [])
    workflows.update_workflow(workflow_id, WorkflowInput(**{**flow, "name": "moved"}), actor=None)
    moved = triggers.find_webhook("POST", "moved")
    assert moved is not None and moved[0].version == 2
    assert triggers.find_webhook("POST", "changing") is None
    workflows.set_active(workflow_id, False, actor=None)
    assert triggers.find_webhook("POST", "moved") is None


def test_a_change_made_behind_the_services_back_is_seen_at_the_next_check(
    sqlite_database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(triggers, "ROUTE_RECHECK_SECONDS", 3600.0)
    workflow_id = hook("edited-by-hand")
    assert triggers.find_webhook("POST", "edited-by-hand") is not None
    with session_scope() as session:
        row = session.get(Workflow, workflow_id)
        assert row is not None
        row.active = False
        session.add(row)

    assert triggers.find_webhook("POST", "edited-by-hand") is not None, "cached until the next check"
    monkeypatch.setattr(triggers, "ROUTE_RECHECK_SECONDS", 0.0)
    assert triggers.find_webhook("POST", "edited-by-hand") is None


def test_a_run_for_a_version_whose_workflow_was_deleted_is_not_found(sqlite_database: Settings) -> None:
    workflow_id = hook("gone")
    route, _ = triggers.find_webhook("POST", "gone") or (None, None)
    assert route is not None
    options = executions.StartOptions(mode=ExecutionMode.WEBHOOK, start_node="Hook", version=route.version)
    executions.create_execution(workflow_id, [{}], options)  # the version's graph is now cached
    workflows.delete_workflow(workflow_id, actor=None)

    with pytest.raises(NotFound, match=f"No workflow with id {workflow_id}"):
        executions.create_execution(workflow_id, [{}], options)
    with session_scope() as session:
        assert session.exec(select(Workflow)).all() == []


def test_an_activation_in_another_studio_process_is_seen_through_redis(
    queue_mode: Settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(triggers, "ROUTE_RECHECK_SECONDS", 3600.0)
    workflow_id = hook("elsewhere", active=False)
    assert triggers.find_webhook("POST", "elsewhere") is None
    env = {
        **os.environ,
        "DATABASE_URL": queue_mode.database_url,
        "REDIS_URL": queue_mode.redis_url or "",
        "HITL_QUEUE_NAME": queue_mode.queue_name,
        "HITL_DATA_DIR": str(queue_mode.data_dir),
    }
    script = f"from hitl_studio.services import workflows; workflows.set_active({workflow_id!r}, True, actor=None)"
    subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, check=True, timeout=60)

    found = triggers.find_webhook("POST", "elsewhere")

    assert found is not None and found[0].workflow_id == workflow_id
