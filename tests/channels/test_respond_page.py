"""The confirmation page behind personal links: shows without deciding, decides once, refuses bad links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from hitl_studio.channels import links
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus, Delivery, EventSource
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.settings import Settings
from tests.channels import API_URL, app, events
from tests.factories import make_user


@pytest.fixture
def client(database: Settings, configure: Callable[..., Settings]) -> TestClient:
    configure(HITL_API_URL=API_URL)
    return TestClient(app())


def linked(approver: User, *, expires_at: datetime | None = None, **fields: object) -> tuple[Approval, str]:
    """A request for ``approver`` and a personal email link to it (no mail needed)."""
    data = {"title": "Delete 3 inactive accounts?", "approvers": [approver.email], "channels": ["email"], **fields}
    approval = approvals.create_approval(ApprovalInput(**data), requested_by=None)  # type: ignore[arg-type]
    with session_scope() as session:
        delivery = Delivery(
            approval_id=approval.id, channel="email", recipient=approver.email, meta={"user": approver.email}
        )
        session.add(delivery)
    return approval, links.make_link(approval, approver.email, delivery.id, expires_at=expires_at)


def status(approval: Approval) -> str:
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None
        return row.status


def test_opening_the_link_shows_the_request_and_never_decides(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(
        ana,
        description="They have not logged in for 2 years.",
        action_type="users.delete",
        action_data={"ids": [7, 8, 9]},
    )

    for _ in range(3):  # a mail scanner, a link preview, the person
        shown = client.get(link)
        assert shown.status_code == 200

    page = shown.text
    assert "Delete 3 inactive accounts?" in page and "They have not logged in for 2 years." in page
    assert "users.delete" in page and '"ids"' in page.replace("&quot;", '"')
    assert "<form method='post'>" in page and "<label for='feedback'>" in page
    assert "value='approve'" in page and "value='reject'" in page and "<html lang='en'>" in page
    assert shown.headers["cache-control"] == "no-store" and shown.headers["referrer-policy"] == "no-referrer"
    assert status(approval) == ApprovalStatus.PENDING
    assert not [event for event in events(approval.id) if event.type.startswith("decision.")]


def test_posting_the_form_decides_once_and_a_reused_link_is_refused(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)

    answered = client.post(link, data={"decision": "approve", "feedback": "  fine  "})

    assert answered.status_code == 200 and "Request approved" in answered.text
    assert status(approval) == ApprovalStatus.APPROVED
    (decision,) = events(approval.id, "decision.approved")
    assert decision.source == EventSource.EMAIL and decision.actor == ana.email and decision.data["feedback"] == "fine"
    again = client.post(link, data={"decision": "reject"})
    assert again.status_code in (409, 410)
    assert status(approval) == ApprovalStatus.APPROVED
    assert client.get(link).status_code == 410


def test_a_used_link_on_a_pending_request_is_refused_and_logged(client: TestClient) -> None:
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    approval, link = linked(ana, approvers=[ana.email, bob.email], quorum=2)
    assert client.post(link, data={"decision": "approve"}).status_code == 200
    assert status(approval) == ApprovalStatus.PENDING  # one of two approvals

    reused = client.post(link, data={"decision": "approve"})

    assert reused.status_code == 410 and "already been used" in reused.text
    refused = events(approval.id, "decision.refused")
    assert [event.data["reason"] for event in refused] == ["link already used"]
    assert client.get(link).status_code == 410


@pytest.mark.parametrize("tamper", ["signature", "delivery", "garbage"])
def test_forged_links_are_404_pages_and_decide_nothing(client: TestClient, tamper: str) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)
    base, token = link.rsplit("/", 1)
    delivery_id, expiry, nonce, signature = token.split(".")
    forged = {
        "signature": f"{delivery_id}.{expiry}.{nonce}.{('A' if signature[0] != 'A' else 'B')}{signature[1:]}",
        "delivery": f"{delivery_id[:-1]}{'0' if delivery_id[-1] != '0' else '1'}.{expiry}.{nonce}.{signature}",
        "garbage": "not-a-token",
    }[tamper]

    assert client.get(f"{base}/{forged}").status_code == 404
    answered = client.post(f"{base}/{forged}", data={"decision": "approve"})

    assert answered.status_code == 404 and "not valid" in answered.text
    assert status(approval) == ApprovalStatus.PENDING
    assert client.get(link).status_code == 200  # the real link still works


def test_an_expired_link_is_a_410_page(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    shown = client.get(link)
    answered = client.post(link, data={"decision": "approve"})

    assert shown.status_code == 410 and "expired" in shown.text
    assert answered.status_code == 410 and status(approval) == ApprovalStatus.PENDING
    assert [event.data["reason"] for event in events(approval.id, "decision.refused")] == ["expired link"]


def test_a_link_replaced_by_a_resent_message_no_longer_works(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, old = linked(ana)
    delivery_id = old.rsplit("/", 1)[1].split(".")[0]
    new = links.make_link(approval, ana.email, delivery_id)

    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_a_request_decided_elsewhere_shows_409_and_keeps_the_link_unused(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)
    approvals.decide(approval.id, "reject", Decider(ana, EventSource.STUDIO))

    shown = client.get(link)
    answered = client.post(link, data={"decision": "approve"})

    assert shown.status_code == 409 and "already rejected" in shown.text
    assert answered.status_code == 409 and status(approval) == ApprovalStatus.REJECTED


def test_a_form_without_a_decision_is_400_and_does_not_use_the_link(client: TestClient) -> None:
    ana = make_user(Role.APPROVER)
    approval, link = linked(ana)

    assert client.post(link, data={"decision": "maybe"}).status_code == 400
    assert client.post(link, data={"decision": "approve", "feedback": "x" * 5001}).status_code == 400

    assert client.post(link, data={"decision": "approve"}).status_code == 200
    assert status(approval) == ApprovalStatus.APPROVED


def test_a_link_of_someone_no_longer_an_approver_is_refused(client: TestClient) -> None:
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    approval, link = linked(ana)
    with session_scope() as session:
        row = session.get(Approval, approval.id)
        assert row is not None
        row.approvers = [bob.email]  # as after an escalation to another tier
        session.add(row)

    answered = client.post(link, data={"decision": "approve"})

    assert answered.status_code == 403 and status(approval) == ApprovalStatus.PENDING
