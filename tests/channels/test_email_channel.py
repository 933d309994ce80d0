"""Email deliveries against a real local SMTP server: the mail, retries with backoff, failure and fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from hitl_studio.db import session_scope
from hitl_studio.models.approvals import ApprovalStatus, DeliveryStatus, EventSource
from hitl_studio.models.users import Role, UserGroup, UserGroupMember
from hitl_studio.services import approvals, deliveries
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.settings import Settings
from tests.channels import LINK, app, events, set_phone, sms_env, smtp_env, wait_for
from tests.channels import deliveries as rows
from tests.factories import make_user
from tests.fakes.http_server import FakeHttpServer, fake_http_server
from tests.fakes.smtp_server import FakeSmtpServer, free_port, smtp_server


@pytest.fixture
def mail() -> Iterator[FakeSmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def sms_provider() -> Iterator[FakeHttpServer]:
    with fake_http_server() as server:
        yield server


def refund(*emails: str, channels: list[str]) -> ApprovalInput:
    return ApprovalInput(
        title="Refund 40 € to order #1042?",
        description="The customer says the parcel never arrived.",
        approvers=list(emails),
        channels=channels,
        action_type="payments.refund",
        action_data={"order": 1042, "amount": "40.00", "currency": "EUR", "note": "<b>not bold</b>"},
        timeout_seconds=3600,
    )


def test_the_approver_gets_a_mail_with_both_parts_and_a_personal_link_that_decides_only_on_post(
    database: Settings, configure: Callable[..., Settings], mail: FakeSmtpServer
) -> None:
    configure(**smtp_env(mail.port, SMTP_FROM="Studio <studio@example.com>"))
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    created = approvals.create_approval(refund(ana.email, channels=["email"]), requested_by=agent)

    deliveries.schedule_deliveries(created)

    received = wait_for(lambda: list(mail.messages), what="the mail")
    (attempt,) = wait_for(lambda: events(created.id, "delivery.attempt"), what="the attempt event")
    assert len(received) == 1 and received[0].recipients == [ana.email]
    message = received[0].parsed()
    assert message["To"] == ana.email and message["Subject"] == "Approval needed: Refund 40 € to order #1042?"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "The customer says the parcel never arrived." in text and "payments.refund" in text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page and "<b>not bold</b>" not in page
    (link,) = set(LINK.findall(text))
    assert link in page
    (row,) = rows(created.id)
    assert row.channel == "email" and row.recipient == ana.email and row.status == DeliveryStatus.SENT
    assert row.attempts == 1 and row.sent_at is not None and row.meta["message_id"] == message["Message-ID"]
    assert row.meta["link"]["used"] is False and link.rsplit("/", 1)[1] not in str(row.meta)  # only the hash
    assert attempt.data["outcome"] == "sent" and attempt.data["attempt"] == 1 and attempt.source == "email"

    client = TestClient(app())
    shown = client.get(link)
    assert shown.status_code == 200 and "Refund 40 € to order #1042?" in shown.text
    assert approvals.get_approval(created.id, agent).status == ApprovalStatus.PENDING

    answered = client.post(link, data={"decision": "approve", "feedback": "ok, refund it"})

    assert answered.status_code == 200 and "approved" in answered.text
    decided = approvals.get_approval(created.id, agent)
    assert decided.status == ApprovalStatus.APPROVED and decided.responded_by == ana.email
    assert decided.feedback == "ok, refund it"
    (decision,) = events(created.id, "decision.approved")
    assert decision.source == EventSource.EMAIL and decision.actor == ana.email
    again = client.get(link)
    assert again.status_code == 410 and "already been used" in again.text


def test_each_member_of_a_group_gets_their_own_link_and_scheduling_twice_sends_once(
    database: Settings, configure: Callable[..., Settings], mail: FakeSmtpServer
) -> None:
    configure(**smtp_env(mail.port))
    ana, bob = make_user(Role.APPROVER), make_user(Role.APPROVER)
    with session_scope() as session:
        group = UserGroup(name="finance")
        session.add(group)
        session.flush()
        session.add_all([UserGroupMember(group_id=group.id, user_id=user.id) for user in (ana, bob)])
    created = approvals.create_approval(refund("group:finance", channels=["email"]), requested_by=None)

    deliveries.schedule_deliveries(created)
    deliveries.schedule_deliveries(created)

    wait_for(lambda: len(mail.messages) >= 2, what="two mails")
    wait_for(lambda: len(events(created.id, "delivery.attempt")) == 2, what="both attempts logged")
    assert sorted(message.recipients[0] for message in mail.messages) == sorted([ana.email, bob.email])
    links = {LINK.findall(message.parsed().get_body(("plain",)).get_content())[0] for message in mail.messages}
    assert len(links) == 2 and len(rows(created.id)) == 2


def test_a_failing_smtp_server_is_retried_with_backoff_then_fails_and_falls_back_to_sms(
    database: Settings, configure: Callable[..., Settings], sms_provider: FakeHttpServer
) -> None:
    configure(**smtp_env(free_port()))  # nothing listens there
    ana = make_user(Role.APPROVER)
    set_phone(ana, "+15551234567")
    created = approvals.create_approval(refund(ana.email, channels=["email", "sms"]), requested_by=None)

    deliveries.schedule_deliveries(created)

    (skipped,) = events(created.id, "delivery.skipped")
    assert skipped.data == {"channel": "sms", "reason": "sms is not configured"}
    wait_for(lambda: events(created.id, "delivery.attempt"), what="try 1")
    (row,) = rows(created.id)
    assert row.status == DeliveryStatus.PENDING and "cannot connect to the SMTP server" in (row.last_error or "")
    assert row.next_retry_at is not None
    assert abs(row.next_retry_at - (datetime.now(UTC) + timedelta(minutes=2))) < timedelta(seconds=20)

    assert deliveries.deliver(row.id, 2) == "retrying"
    (row,) = rows(created.id)
    assert row.attempts == 2 and row.next_retry_at is not None
    assert abs(row.next_retry_at - (datetime.now(UTC) + timedelta(minutes=4))) < timedelta(seconds=20)
    assert deliveries.deliver(row.id, 2) is None  # a stale job for an attempt that already ran

    configure(**{**smtp_env(free_port()), **sms_env(sms_provider.url("/echo"))})
    assert deliveries.deliver(row.id, 3) == "failed"

    email_row = rows(created.id, "email")[0]
    assert email_row.status == DeliveryStatus.FAILED and email_row.attempts == 3 and email_row.next_retry_at is None
    assert [event.data["outcome"] for event in events(created.id, "delivery.attempt")] == [
        "retrying",
        "retrying",
        "failed",
    ]
    (fallback,) = events(created.id, "delivery.fallback")
    assert fallback.data["from_channel"] == "email" and fallback.data["to_channel"] == "sms"
    sms_row = wait_for(
        lambda: [r for r in rows(created.id, "sms") if r.status == DeliveryStatus.SENT], what="the SMS fallback"
    )[0]
    assert sms_row.recipient == "+15551234567" and sms_row.meta["fallback_from"] == email_row.id
    assert len(sms_provider.received("/echo/2010-04-01/Accounts/AC123/Messages.json")) == 1


def test_a_decision_stops_the_deliveries_that_have_not_gone_out(
    database: Settings, configure: Callable[..., Settings]
) -> None:
    configure(**smtp_env(free_port()))
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(refund(ana.email, channels=["email"]), requested_by=None)
    deliveries.schedule_deliveries(created)
    wait_for(lambda: events(created.id, "delivery.attempt"), what="try 1")
    (row,) = rows(created.id)

    approvals.decide(created.id, "reject", Decider(ana, EventSource.STUDIO))
    assert deliveries.deliver(row.id, 2) in ("cancelled", None)  # None once approvals.py calls the hook itself
    deliveries.cancel_deliveries(created)

    (row,) = rows(created.id)
    assert row.status == DeliveryStatus.CANCELLED and row.attempts == 1 and row.next_retry_at is None
    assert deliveries.deliver(row.id, 2) is None


def test_cancel_deliveries_cancels_pending_rows(database: Settings, configure: Callable[..., Settings]) -> None:
    configure(**smtp_env(free_port()))
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(refund(ana.email, channels=["email"]), requested_by=None)
    deliveries.schedule_deliveries(created)
    wait_for(lambda: events(created.id, "delivery.attempt"), what="try 1")

    assert deliveries.cancel_deliveries(created) == 1

    (row,) = rows(created.id)
    assert row.status == DeliveryStatus.CANCELLED
    approvals.decide(created.id, "approve", Decider(ana, EventSource.STUDIO))
    assert deliveries.schedule_deliveries(created) == []  # nothing is sent for a decided request
