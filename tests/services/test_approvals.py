"""Approval requests: validation, decisions and races, quorum, timeouts, escalation, the event chain, runs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from hitl_studio.db import session_scope
from hitl_studio.models.approvals import ApprovalEvent, ApprovalStatus, EventSource
from hitl_studio.models.users import Role, User, UserGroup, UserGroupMember
from hitl_studio.services import approvals, executions, workflows
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.services.errors import Conflict, Forbidden, InvalidInput
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.settings import Settings
from tests.factories import make_user
from tests.runs import wait_for_run
from tests.workflows import node, workflow


def request(*approvers: User, **fields: Any) -> ApprovalInput:
    return ApprovalInput(**{"title": "Refund 40 €?", "approvers": [user.email for user in approvers], **fields})


def event_types(approval_id: str, viewer: User) -> list[str]:
    return [event.type for event in approvals.list_events(approval_id, viewer)]


def test_a_request_is_pending_logged_and_its_chain_verifies(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)

    created = approvals.create_approval(request(ana, channels=["email"], timeout_seconds=600), requested_by=agent)
    # No SMTP server is configured here: the email channel is skipped, and the timeline says so.

    assert created.status == ApprovalStatus.PENDING
    assert created.channels == ["studio", "email"]
    assert created.expires_at is not None and created.expires_at > datetime.now(UTC) + timedelta(seconds=590)
    event, skipped = approvals.list_events(created.id, agent)
    assert event.type == "approval.created" and event.state_snapshot["status"] == "pending" and event.prev_hash is None
    assert skipped.type == "delivery.skipped" and skipped.prev_hash == event.hash
    assert approvals.verify_chain(created.id, agent) == {"valid": True, "events": 2, "first_invalid_event_id": None}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"approvers": ["nobody@example.com"]}, "approvers"),
        ({"approvers": ["group:ghosts"]}, "approvers"),
        ({"expires_at": datetime.now(UTC) - timedelta(minutes=1)}, "expires_at"),
        ({"expires_at": datetime.now(UTC) + timedelta(hours=1), "timeout_seconds": 60}, "expires_at"),
        ({"ui_schema": {"type": "object", "properties": {"n": {"type": "numbr"}}}}, "ui_schema"),
        ({"timeout_action": "escalate", "timeout_seconds": 60}, "escalation"),
        ({"quorum": 3}, "quorum"),
    ],
)
def test_bad_requests_name_the_field(database: Settings, fields: dict[str, Any], field: str) -> None:
    ana = make_user(Role.APPROVER)
    data = {"title": "x", "approvers": [ana.email], **fields}

    with pytest.raises(InvalidInput) as caught:
        approvals.create_approval(ApprovalInput(**data), requested_by=None)

    assert field in caught.value.field_errors


def test_unknown_channels_and_fields_are_refused_by_the_model() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown channel"):
        ApprovalInput(title="x", approvers=["a@example.com"], channels=["pigeon"])
    with pytest.raises(ValidationError, match="Extra inputs"):
        ApprovalInput(title="x", approvers=["a@example.com"], colour="red")  # type: ignore[call-arg]


def test_only_addressed_approvers_decide_and_every_refusal_is_logged(database: Settings) -> None:
    agent, ana, bob = make_user(Role.BUILDER), make_user(Role.APPROVER), make_user(Role.APPROVER)
    created = approvals.create_approval(request(ana), requested_by=agent)

    with pytest.raises(Forbidden):
        approvals.decide(created.id, "approve", Decider(bob))
    decided = approvals.decide(created.id, "reject", Decider(ana, EventSource.STUDIO), feedback="too much")
    with pytest.raises(Conflict, match="already rejected"):
        approvals.decide(created.id, "approve", Decider(ana))

    assert decided.status == ApprovalStatus.REJECTED and decided.feedback == "too much"
    assert event_types(created.id, agent) == [
        "approval.created",
        "decision.refused",
        "decision.rejected",
        "decision.refused",
    ]
    assert approvals.verify_chain(created.id, agent)["valid"] is True


def test_self_approval_can_be_forbidden(database: Settings) -> None:
    lead = make_user(Role.BUILDER)
    created = approvals.create_approval(request(lead, allow_self_approval=False), requested_by=lead)

    with pytest.raises(Forbidden, match="decided by someone else"):
        approvals.decide(created.id, "approve", Decider(lead))


def test_approve_with_edits_checks_the_form(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    schema = {
        "type": "object",
        "properties": {"amount": {"type": "number", "maximum": 100}, "note": {"type": "string"}},
        "required": ["amount"],
    }
    created = approvals.create_approval(request(ana, ui_schema=schema), requested_by=None)

    with pytest.raises(InvalidInput) as caught:
        approvals.decide(created.id, "approve", Decider(ana), response_data={"amount": 500})
    assert set(caught.value.field_errors) == {"amount"}
    with pytest.raises(InvalidInput) as missing:
        approvals.decide(created.id, "approve", Decider(ana), response_data={"note": "x"})
    assert set(missing.value.field_errors) == {"amount"}

    decided = approvals.decide(created.id, "approve", Decider(ana), response_data={"amount": 35, "note": "ok"})
    assert decided.response_data == {"amount": 35, "note": "ok"} and decided.responded_by == ana.email


def test_quorum_needs_several_approvals_and_any_reject_vetoes(database: Settings) -> None:
    ana, bob, cy = make_user(Role.APPROVER), make_user(Role.APPROVER), make_user(Role.APPROVER)
    first = approvals.create_approval(request(ana, bob, cy, quorum=2), requested_by=None)

    assert approvals.decide(first.id, "approve", Decider(ana)).status == ApprovalStatus.PENDING
    with pytest.raises(Conflict, match="already approved"):
        approvals.decide(first.id, "approve", Decider(ana))
    assert approvals.decide(first.id, "approve", Decider(bob)).status == ApprovalStatus.APPROVED

    second = approvals.create_approval(request(ana, bob, cy, quorum=2), requested_by=None)
    approvals.decide(second.id, "approve", Decider(ana))
    assert approvals.decide(second.id, "reject", Decider(cy)).status == ApprovalStatus.REJECTED


def test_groups_address_their_members(database: Settings) -> None:
    ana, outsider = make_user(Role.APPROVER), make_user(Role.APPROVER)
    with session_scope() as session:
        group = UserGroup(name="finance")
        session.add(group)
        session.flush()
        session.add(UserGroupMember(group_id=group.id, user_id=ana.id))
    created = approvals.create_approval(ApprovalInput(title="x", approvers=["group:finance"]), requested_by=None)

    inbox, total = approvals.list_approvals(ana, mine_to_decide=True)
    assert total == 1 and inbox[0].id == created.id
    assert approvals.list_approvals(outsider, mine_to_decide=True)[1] == 0
    with pytest.raises(Forbidden):
        approvals.decide(created.id, "approve", Decider(outsider))
    assert approvals.decide(created.id, "approve", Decider(ana)).status == ApprovalStatus.APPROVED
    assert approvals.list_approvals(ana, mine_to_decide=True)[1] == 0


def test_simultaneous_decisions_have_exactly_one_winner(database: Settings) -> None:
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    created = approvals.create_approval(request(ana, bob), requested_by=None)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def click(user: User, decision: str) -> None:
        start.wait()
        try:
            approvals.decide(created.id, decision, Decider(user))  # type: ignore[arg-type]
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=click, args=(ana, "approve")),
        threading.Thread(target=click, args=(bob, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "ok"]
    final = approvals.get_approval(created.id, ana)
    decisions = [t for t in event_types(created.id, ana) if t.startswith("decision.") and t != "decision.refused"]
    assert final.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED) and len(decisions) == 1


def _expire(approval_id: str) -> str:
    due = datetime.now(UTC) - timedelta(seconds=1)
    with session_scope() as session:
        session.execute(update(approvals.Approval).where(approvals.Approval.id == approval_id).values(expires_at=due))
    return due.isoformat()


def test_a_deadline_applies_the_timeout_action(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    rejected = approvals.create_approval(request(ana, timeout_seconds=60), requested_by=None)
    approved = approvals.create_approval(request(ana, timeout_seconds=60, timeout_action="approve"), requested_by=None)

    assert approvals.fire_timeout(rejected.id, _expire(rejected.id)) == "timeout"
    assert approvals.fire_timeout(approved.id, _expire(approved.id)) == "approved"

    assert approvals.get_approval(rejected.id, ana).status == ApprovalStatus.TIMEOUT
    assert approvals.get_approval(approved.id, ana).responded_by == "timeout"
    assert approvals.fire_timeout(rejected.id, _expire(rejected.id)) is None


def test_escalation_moves_to_the_next_tier_then_times_out(database: Settings) -> None:
    ana, boss = make_user(Role.APPROVER), make_user(Role.APPROVER)
    created = approvals.create_approval(
        request(
            ana,
            timeout_seconds=60,
            timeout_action="escalate",
            escalation=[{"approvers": [boss.email], "timeout_seconds": 120}],
        ),
        requested_by=None,
    )

    assert approvals.fire_timeout(created.id, _expire(created.id)) == "escalated"
    escalated = approvals.get_approval(created.id, boss)
    assert escalated.approvers == [boss.email] and escalated.escalation_tier == 1
    assert escalated.expires_at is not None and escalated.expires_at > datetime.now(UTC) + timedelta(seconds=100)
    with pytest.raises(Forbidden):
        approvals.decide(created.id, "approve", Decider(ana))
    assert approvals.fire_timeout(created.id, _expire(created.id)) == "timeout"
    assert "approval.escalated" in event_types(created.id, boss)


def test_a_tampered_event_is_detected_and_an_admin_restores_a_state_as_a_new_event(database: Settings) -> None:
    admin, ana = make_user(Role.ADMIN), make_user(Role.APPROVER)
    created = approvals.create_approval(request(ana), requested_by=admin)
    approvals.decide(created.id, "reject", Decider(ana))
    first, second = approvals.list_events(created.id, admin)

    restored = approvals.restore_snapshot(created.id, first.id or 0, actor=admin)
    assert restored.status == ApprovalStatus.PENDING
    assert event_types(created.id, admin)[-1] == "state.restored"
    with pytest.raises(Forbidden):
        approvals.restore_snapshot(created.id, first.id or 0, actor=ana)

    with session_scope() as session:
        session.execute(update(ApprovalEvent).where(ApprovalEvent.id == second.id).values(data={"decision": "approve"}))
    assert approvals.verify_chain(created.id, admin) == {
        "valid": False,
        "events": 3,
        "first_invalid_event_id": second.id,
    }


def requests_for(approver: User, count: int, timeout: float = 10.0) -> list[approvals.Approval]:
    """The approver's requests once there are ``count`` (a paused run files its request just after pausing)."""
    deadline = time.monotonic() + timeout
    while True:
        rows, total = approvals.list_approvals(approver)
        if total >= count:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"{approver.email} has {total} request(s), not {count}")
        time.sleep(0.02)


def approval_flow(approver: User, **params: Any) -> dict[str, Any]:
    return workflow(
        [
            node("Start", "trigger.manual"),
            node(
                "Ask",
                "human.approval",
                {"title": "Refund {{ $json.amount }}?", "approvers": [approver.email], **params},
            ),
            node("Pay", "core.set", {"assignments": [{"name": "paid", "value": "{{ $json.amount }}"}]}),
            node("Tell", "core.set", {"assignments": [{"name": "paid", "value": 0}]}),
            node("Late", "core.set", {"assignments": [{"name": "late", "value": True}]}),
        ],
        [("Start", "Ask"), ("Ask", 0, "Pay"), ("Ask", 1, "Tell"), ("Ask", 2, "Late")],
    )


def test_a_workflow_pauses_on_an_approval_and_resumes_with_the_edited_data(database: Settings) -> None:
    builder, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    schema = {"type": "object", "properties": {"amount": {"type": "number"}}}
    flow = approval_flow(ana, ui_schema=schema)
    saved = workflows.create_workflow(WorkflowInput(**{**flow, "name": "refunds"}), actor=builder)
    run = executions.start_execution(saved.id, [{"amount": 40, "order": "A1"}])

    wait_for_run(run.id, statuses=frozenset({"waiting"}))
    (pending,) = requests_for(ana, 1)
    assert pending.title == "Refund 40?" and pending.execution_id == run.id
    assert pending.action_data == {"items": [{"amount": 40, "order": "A1"}]}
    # Editing the workflow now must not change the paused run: it finishes on the version it started on.
    workflows.update_workflow(saved.id, WorkflowInput(**{**approval_flow(ana), "name": "refunds v2"}), actor=builder)

    approvals.decide(pending.id, "approve", Decider(ana, EventSource.STUDIO), response_data={"amount": 35})
    finished = wait_for_run(run.id)

    assert finished.status == "succeeded" and finished.workflow_version == 1
    _, steps, _ = executions.get_execution(run.id)
    paid = executions.step_data(steps[-1])[1]["main"][0][0]["json"]  # type: ignore[index]
    assert paid["paid"] == 35 and paid["order"] == "A1"
    assert paid["approval"]["status"] == "approved" and paid["approval"]["responded_by"] == ana.email
    assert [step.node_name for step in steps][-1] == "Pay"


def test_a_rejection_and_a_timeout_take_their_branches(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    saved = workflows.create_workflow(
        WorkflowInput(**{**approval_flow(ana, timeout_seconds=60), "name": "refunds"}), actor=None
    )
    rejected_run = executions.start_execution(saved.id, [{"amount": 1}])
    timed_run = executions.start_execution(saved.id, [{"amount": 2}])
    wait_for_run(rejected_run.id, statuses=frozenset({"waiting"}))
    wait_for_run(timed_run.id, statuses=frozenset({"waiting"}))
    by_run = {row.execution_id: row for row in requests_for(ana, 2)}

    approvals.decide(by_run[rejected_run.id].id, "reject", Decider(ana))
    approvals.fire_timeout(by_run[timed_run.id].id, _expire(by_run[timed_run.id].id))

    for run_id, last_node in ((rejected_run.id, "Tell"), (timed_run.id, "Late")):
        assert wait_for_run(run_id).status == "succeeded"
        _, steps, _ = executions.get_execution(run_id)
        assert steps[-1].node_name == last_node


def test_cancelling_the_run_withdraws_its_approval_and_the_other_way_round(database: Settings) -> None:
    builder, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    saved = workflows.create_workflow(WorkflowInput(**{**approval_flow(ana), "name": "refunds"}), actor=builder)
    first = executions.start_execution(saved.id, [{"amount": 1}], executions.StartOptions(actor=builder))
    second = executions.start_execution(saved.id, [{"amount": 2}], executions.StartOptions(actor=builder))
    wait_for_run(first.id, statuses=frozenset({"waiting"}))
    wait_for_run(second.id, statuses=frozenset({"waiting"}))
    by_run = {row.execution_id: row for row in requests_for(ana, 2)}

    executions.cancel_execution(first.id)
    approvals.cancel_approval(by_run[second.id].id, actor=builder)

    assert approvals.get_approval(by_run[first.id].id, ana).status == ApprovalStatus.CANCELLED
    assert wait_for_run(second.id).status == "cancelled"


def test_a_request_a_run_cannot_make_fails_the_run_naming_the_node(database: Settings) -> None:
    ghost = User(email="ghost@example.com", role=Role.APPROVER)
    saved = workflows.create_workflow(WorkflowInput(**{**approval_flow(ghost), "name": "broken"}), actor=None)

    failed = wait_for_run(executions.start_execution(saved.id, [{"amount": 1}]).id)

    assert failed.status == "failed"
    assert failed.error is not None and failed.error["node"] == "Ask"
    assert "Unknown approver(s): ghost@example.com" in failed.error["message"]


def test_people_who_cannot_decide_cannot_be_approvers(database: Settings) -> None:
    viewer = make_user(Role.VIEWER)

    with pytest.raises(InvalidInput) as caught:
        approvals.create_approval(request(viewer), requested_by=None)

    assert "cannot decide approvals" in caught.value.field_errors["approvers"]


def test_events_written_at_the_same_time_still_form_one_chain(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(request(ana), requested_by=None)
    start = threading.Barrier(6)

    def write(worker: int) -> None:
        start.wait()
        for number in range(4):
            approvals.record_event(created.id, "delivery.attempt", {"worker": worker, "n": number}, source="email")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    history = approvals.list_events(created.id, ana)
    assert len(history) == 25
    assert len({event.prev_hash for event in history}) == 25  # no two events chained onto the same one
    assert approvals.verify_chain(created.id, ana)["valid"] is True


def test_decide_many_decides_each_like_a_single_decision_and_reports_each_id(database: Settings) -> None:
    agent, ana, bob = make_user(Role.BUILDER), make_user(Role.APPROVER), make_user(Role.APPROVER)
    mine = approvals.create_approval(request(ana), requested_by=agent)
    voted = approvals.create_approval(request(ana, bob, quorum=2), requested_by=agent)
    decided = approvals.create_approval(request(ana), requested_by=agent)
    approvals.decide(decided.id, "reject", Decider(ana))
    not_mine = approvals.create_approval(request(bob), requested_by=agent)

    results = approvals.decide_many(
        [mine.id, voted.id, decided.id, not_mine.id, "no-such-id", mine.id], "approve", "fine", ana
    )

    assert [result.approval_id for result in results] == [mine.id, voted.id, decided.id, not_mine.id, "no-such-id"]
    by_id = {result.approval_id: result for result in results}
    assert by_id[mine.id] == approvals.BulkResult(mine.id, ok=True, status="approved")
    assert by_id[voted.id].ok and by_id[voted.id].status == "pending"  # a vote; bob's is still needed
    assert not by_id[decided.id].ok and by_id[decided.id].code == "conflict"
    assert by_id[decided.id].error == "This request is already rejected."
    assert not by_id[not_mine.id].ok and by_id[not_mine.id].code == "forbidden"
    assert by_id["no-such-id"].code == "not_found"
    approved = approvals.get_approval(mine.id, ana)
    assert approved.feedback == "fine" and approved.responded_by == ana.email
    # The same events as one decision at a time: the win, and each refusal.
    (won,) = [event for event in approvals.list_events(mine.id, ana) if event.type == "decision.approved"]
    assert won.source == EventSource.STUDIO and won.actor == ana.email
    assert event_types(decided.id, ana)[-1] == "decision.refused"
    assert event_types(not_mine.id, bob)[-1] == "decision.refused"


def test_decide_many_refuses_no_ids_too_many_and_unknown_decisions(database: Settings) -> None:
    ana = make_user(Role.APPROVER)

    with pytest.raises(InvalidInput) as empty:
        approvals.decide_many([" "], "approve", None, ana)
    with pytest.raises(InvalidInput) as many:
        approvals.decide_many([f"id-{n}" for n in range(approvals.MAX_BULK_IDS + 1)], "reject", None, ana)
    with pytest.raises(InvalidInput) as odd:
        approvals.decide_many(["x"], "maybe", None, ana)

    assert "approval_ids" in empty.value.field_errors and "approval_ids" in many.value.field_errors
    assert "decision" in odd.value.field_errors


def test_two_bulk_decisions_at_once_decide_each_request_once(database: Settings) -> None:
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    created = [approvals.create_approval(request(ana, bob), requested_by=None) for _ in range(3)]
    ids = [approval.id for approval in created]
    outcomes: dict[str, list[approvals.BulkResult]] = {}
    start = threading.Barrier(2)

    def bulk(user: User, decision: str) -> None:
        start.wait()
        outcomes[decision] = approvals.decide_many(ids, decision, None, user)

    threads = [
        threading.Thread(target=bulk, args=(ana, "approve")),
        threading.Thread(target=bulk, args=(bob, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for index, approval_id in enumerate(ids):
        wins = [outcomes[decision][index].ok for decision in ("approve", "reject")]
        assert sorted(wins) == [False, True], approval_id
        final = approvals.get_approval(approval_id, ana)
        decisions = [t for t in event_types(approval_id, ana) if t in ("decision.approved", "decision.rejected")]
        assert final.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED) and len(decisions) == 1


def _due_in(approval_id: str, minutes: int | None) -> None:
    due = None if minutes is None else datetime.now(UTC) + timedelta(minutes=minutes)
    with session_scope() as session:
        session.execute(update(approvals.Approval).where(approvals.Approval.id == approval_id).values(expires_at=due))


def test_the_inbox_is_pending_first_then_due_soonest_then_newest(database: Settings) -> None:
    admin, ana = make_user(Role.ADMIN), make_user(Role.APPROVER)
    old_open = approvals.create_approval(request(ana, title="Open A"), requested_by=None)
    late = approvals.create_approval(request(ana, title="Due late"), requested_by=None)
    soon = approvals.create_approval(request(ana, title="Due soon"), requested_by=None)
    new_open = approvals.create_approval(request(ana, title="Open B"), requested_by=None)
    done = approvals.create_approval(request(ana, title="Done"), requested_by=None)
    _due_in(late.id, 60)
    _due_in(soon.id, 5)
    _due_in(done.id, 1)
    approvals.decide(done.id, "approve", Decider(ana))
    expected = [soon.id, late.id, new_open.id, old_open.id]

    inbox, total = approvals.list_approvals(ana, mine_to_decide=True)
    everything, count = approvals.list_approvals(ana)
    as_admin, admin_count = approvals.list_approvals(admin)
    page, page_total = approvals.list_approvals(admin, limit=2, offset=1)

    assert [row.id for row in inbox] == expected and total == 4
    assert [row.id for row in everything] == [*expected, done.id] and count == 5
    assert [row.id for row in as_admin] == [*expected, done.id] and admin_count == 5
    assert [row.id for row in page] == expected[1:3] and page_total == 5


def test_search_finds_text_in_the_title_or_description_whatever_its_case(database: Settings) -> None:
    admin, ana, bob = make_user(Role.ADMIN), make_user(Role.APPROVER), make_user(Role.APPROVER)
    refund = approvals.create_approval(request(ana, title="Refund order 42"), requested_by=None)
    deploy = approvals.create_approval(
        request(ana, title="Deploy", description="Ships the new REFUND page at 100% rollout"), requested_by=None
    )
    other = approvals.create_approval(request(ana, title="Pay rent_2"), requested_by=None)
    approvals.create_approval(request(bob, title="Refund for someone else"), requested_by=None)

    def found(viewer: User, search: str, **filters: Any) -> set[str]:
        return {row.id for row in approvals.list_approvals(viewer, search=search, **filters)[0]}

    assert found(ana, "refund") == {refund.id, deploy.id}
    assert found(ana, "  REFUND ", mine_to_decide=True) == {refund.id, deploy.id}
    assert found(ana, "100%") == {deploy.id}  # LIKE's wildcards are taken literally
    assert found(ana, "t_2") == {other.id} and found(ana, "nt_") == {other.id} and found(ana, "n_") == set()
    assert len(found(admin, "refund")) == 3
    assert found(ana, "") == {refund.id, deploy.id, other.id}
    with pytest.raises(InvalidInput) as long:
        approvals.list_approvals(ana, search="x" * (approvals.MAX_SEARCH_LENGTH + 1))
    assert "search" in long.value.field_errors
