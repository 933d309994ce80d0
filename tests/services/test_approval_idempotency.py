"""Idempotent creates: one request per caller and key, even when the same create arrives twice at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import func, select

from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.services.errors import Conflict, InvalidInput
from hitl_studio.settings import Settings
from tests.factories import make_user

KEY = "7d1f2c9e-4b6a-4f0e-9a51-0c3e8b2d6f10"


def body(approver: User, **fields: Any) -> ApprovalInput:
    return ApprovalInput(**{"title": "Rotate the API keys?", "approvers": [approver.email], **fields})


def requests_with(key: str) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Approval).where(Approval.idempotency_key == key)).one()


def test_the_same_key_and_body_returns_the_first_request(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)

    first = approvals.create_once(body(ana, timeout_seconds=600), requested_by=agent, idempotency_key=KEY)
    again = approvals.create_once(body(ana, timeout_seconds=600), requested_by=agent, idempotency_key=KEY)

    assert first.created and not again.created
    assert again.approval.id == first.approval.id and again.approval.expires_at == first.approval.expires_at
    assert first.approval.idempotency_key == KEY and requests_with(KEY) == 1
    assert [event.type for event in approvals.list_events(first.approval.id, agent)] == ["approval.created"]


def test_a_retry_after_the_decision_returns_the_request_as_it_is_now(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    first = approvals.create_once(body(ana), requested_by=agent, idempotency_key=KEY)
    approvals.decide(first.approval.id, "approve", Decider(ana))

    again = approvals.create_once(body(ana), requested_by=agent, idempotency_key=KEY)

    assert not again.created and again.approval.status == "approved"


def test_the_same_key_with_another_body_is_a_conflict_naming_the_key(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    first = approvals.create_once(body(ana), requested_by=agent, idempotency_key=KEY)

    with pytest.raises(Conflict) as caught:
        approvals.create_once(body(ana, title="Something else"), requested_by=agent, idempotency_key=KEY)

    assert "Idempotency-Key" in caught.value.field_errors
    assert first.approval.id in caught.value.message
    assert requests_with(KEY) == 1


def test_keys_belong_to_their_caller(database: Settings) -> None:
    one, two, ana = make_user(Role.BUILDER), make_user(Role.BUILDER), make_user(Role.APPROVER)

    mine = approvals.create_once(body(ana), requested_by=one, idempotency_key=KEY)
    theirs = approvals.create_once(body(ana, title="Theirs"), requested_by=two, idempotency_key=KEY)

    assert mine.created and theirs.created and mine.approval.id != theirs.approval.id


@pytest.mark.parametrize("key", ["", "with space", "x" * 201, "naïve"])
def test_malformed_keys_are_refused_naming_the_header(database: Settings, key: str) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)

    with pytest.raises(InvalidInput) as caught:
        approvals.create_once(body(ana), requested_by=agent, idempotency_key=key)

    assert "Idempotency-Key" in caught.value.field_errors


def test_a_bad_body_with_a_fresh_key_is_refused_and_leaves_the_key_free(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)

    with pytest.raises(InvalidInput):
        approvals.create_once(body(ana, quorum=5), requested_by=agent, idempotency_key=KEY)

    assert approvals.create_once(body(ana), requested_by=agent, idempotency_key=KEY).created


def test_simultaneous_creates_with_one_key_make_one_request(database: Settings) -> None:
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    callers = 6
    start = threading.Barrier(callers)
    results: list[approvals.Creation] = []
    errors: list[BaseException] = []

    def create() -> None:
        start.wait()
        try:
            results.append(approvals.create_once(body(ana), requested_by=agent, idempotency_key=KEY))
        except BaseException as err:  # collected: an error in a thread must fail the test, not vanish
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert requests_with(KEY) == 1
    assert len({result.approval.id for result in results}) == 1
    assert sorted(result.created for result in results) == [False] * (callers - 1) + [True]
