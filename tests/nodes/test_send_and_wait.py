"""Send and Wait ("human.send_and_wait"): one output for every answer, approvals or text replies."""

from __future__ import annotations

import time

from hitl_studio.engine.states import RunStatus
from hitl_studio.models.approvals import EventSource
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals, executions, workflows
from hitl_studio.services.approvals import Decider
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from nodes.human.send_and_wait import REPLY_FORM
from tests.factories import make_user
from tests.runs import wait_for_run
from tests.workflows import node, run, workflow


def flow(to: str, **params: object) -> dict:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node("Ask", "human.send_and_wait", {"to": [to], "subject": "Ship {{ $json.order }} today?", **params}),
            node("Then", "core.set", {"assignments": [{"name": "answered", "value": True}]}),
        ],
        [("Start", "Ask"), ("Ask", "Then")],
    )


def test_the_node_pauses_with_a_request_for_its_channel() -> None:
    result = run(flow("ana@example.com", channel="sms", response_type="free_text"), [{"order": "A1"}])

    assert result.status is RunStatus.WAITING and result.wait is not None and result.wait.kind == "approval"
    request = result.wait.data
    assert request["title"] == "Ship A1 today?" and request["channels"] == ["sms"]
    assert request["ui_schema"] == REPLY_FORM
    assert request["action_data"]["response_type"] == "free_text"


def _answered(database_run: str) -> dict:
    _, steps, _ = executions.get_execution(database_run)
    assert steps[-1].node_name == "Then"
    return executions.step_data(steps[-1])[1]["main"][0][0]["json"]  # type: ignore[index]


def _request_of(run_id: str, approver: User) -> approvals.Approval:
    """The request a paused run filed (it is filed just after the run is marked waiting)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = [row for row in approvals.list_approvals(approver)[0] if row.execution_id == run_id]
        if rows:
            return rows[0]
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} filed no request")


def test_a_text_reply_and_a_decline_both_continue_on_the_one_output(sqlite_database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    saved = workflows.create_workflow(
        WorkflowInput(**{**flow(ana.email, channel="studio", response_type="free_text"), "name": "ask"}), actor=None
    )
    replied = executions.start_execution(saved.id, [{"order": "A1"}])
    declined = executions.start_execution(saved.id, [{"order": "B2"}])
    wait_for_run(replied.id, statuses=frozenset({"waiting"}))
    wait_for_run(declined.id, statuses=frozenset({"waiting"}))

    approvals.decide(
        _request_of(replied.id, ana).id,
        "approve",
        Decider(ana, EventSource.STUDIO),
        response_data={"reply": "Tomorrow"},
    )
    approvals.decide(_request_of(declined.id, ana).id, "reject", Decider(ana, EventSource.STUDIO), feedback="no stock")

    assert wait_for_run(replied.id).status == "succeeded" and wait_for_run(declined.id).status == "succeeded"
    first, second = _answered(replied.id), _answered(declined.id)
    assert first["reply"] == "Tomorrow" and first["approval"]["status"] == "approved" and first["answered"] is True
    assert second["approval"]["status"] == "rejected" and second["approval"]["feedback"] == "no stock"
    assert "reply" not in second
