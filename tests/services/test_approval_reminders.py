"""Reminders before an approval's deadline, against real local SMTP, SMS and Slack fakes, on both queue back ends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import update

from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, DeliveryStatus, EventSource
from hitl_studio.models.users import Role, User
from hitl_studio.queue import JobNotFound, JobStatus, get_queue
from hitl_studio.services import approval_reminders, approvals, deliveries, reconciler
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.services.errors import InvalidInput
from hitl_studio.settings import Settings
from tests.channels import LINK, app, events, set_phone, sms_env, smtp_env, wait_for
from tests.channels import deliveries as rows
from tests.channels.test_slack_channel import fake_slack, set_slack_id, slack_on  # noqa: F401  (fixtures)
from tests.factories import make_user
from tests.fakes.http_server import FakeHttpServer, fake_http_server
from tests.fakes.slack_server import FakeSlack
from tests.fakes.smtp_server import FakeSmtpServer, smtp_server
from tests.services.test_queue_mode import burst, queue_mode  # noqa: F401  (the fixture, used by name)

SMS_PATH = "/echo/2010-04-01/Accounts/AC123/Messages.json"


@pytest.fixture
def mail() -> Iterator[FakeSmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def sms_provider() -> Iterator[FakeHttpServer]:
    with fake_http_server() as server:
        yield server


def payout(*approvers: User, **fields: Any) -> ApprovalInput:
    values: dict[str, Any] = {"timeout_seconds": 3600, "channels": ["email"], **fields}
    return ApprovalInput(title="Pay invoice #77?", approvers=[user.email for user in approvers], **values)


def current(approval_id: str) -> Approval:
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        assert approval is not None
        return approval


def due_now(approval_id: str) -> str:
    """Move the request's deadline and next reminder earlier together, so that reminder is due now.

    As if time had passed: returns the reminder job's ``due`` argument.
    """
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        assert approval is not None and approval.expires_at and approval.next_reminder_at
        shift = approval.next_reminder_at - (datetime.now(UTC) - timedelta(seconds=1))
        approval.expires_at -= shift
        approval.next_reminder_at -= shift
        session.add(approval)
        return approval.next_reminder_at.isoformat()


def booked_status(job: str) -> JobStatus | None:
    """The job's status once the reminder job that books it has got that far (it runs on another thread)."""
    try:
        return get_queue().result(job).status
    except JobNotFound:
        return None


def subjects(mail: FakeSmtpServer, recipient: str) -> list[str]:
    return [str(message.parsed()["Subject"]) for message in mail.messages if message.recipients == [recipient]]


def sent_rows(approval_id: str, count: int) -> list[Any]:
    return wait_for(
        lambda: (
            [row for row in rows(approval_id) if row.status == DeliveryStatus.SENT][count - 1 :] and rows(approval_id)
        ),
        what=f"{count} sent deliveries",
    )


def test_reminders_are_checked_against_the_deadlines(database: Settings) -> None:
    ana = make_user(Role.APPROVER)

    with pytest.raises(InvalidInput) as no_deadline:
        approvals.create_approval(payout(ana, timeout_seconds=None, reminders=[60]), requested_by=None)
    with pytest.raises(InvalidInput) as too_early:
        approvals.create_approval(payout(ana, timeout_seconds=600, reminders=[600, 60]), requested_by=None)
    with pytest.raises(ValidationError, match="reminders"):
        payout(ana, reminders=[0])
    with pytest.raises(ValidationError, match="reminders"):
        payout(ana, reminders=list(range(1, 12)))

    assert "reminders" in no_deadline.value.field_errors
    assert "600" in too_early.value.field_errors["reminders"]
    # A tier's longer deadline makes a reminder the first deadline could not hold still useful.
    escalating = payout(
        ana,
        timeout_seconds=600,
        reminders=[1800, 60, 60],
        timeout_action="escalate",
        escalation=[{"approvers": [ana.email], "timeout_seconds": 7200}],
    )
    created = approvals.create_approval(escalating, requested_by=None)
    assert created.reminders == [1800, 60]
    assert created.expires_at is not None and created.next_reminder_at == created.expires_at - timedelta(seconds=60)


def test_the_default_comes_from_the_settings(database: Settings, configure: Callable[..., Settings]) -> None:
    configure(HITL_APPROVAL_REMINDER_SECONDS="60, 3600,60")
    ana = make_user(Role.APPROVER)

    timed = approvals.create_approval(payout(ana, timeout_seconds=7200), requested_by=None)
    open_ended = approvals.create_approval(payout(ana, timeout_seconds=None), requested_by=None)
    silent = approvals.create_approval(payout(ana, reminders=[]), requested_by=None)

    assert timed.reminders == [3600, 60] and timed.expires_at is not None
    assert timed.next_reminder_at == timed.expires_at - timedelta(seconds=3600)
    assert approvals.snapshot(timed)["next_reminder_at"] == timed.next_reminder_at.isoformat()
    assert open_ended.reminders == [3600, 60] and open_ended.next_reminder_at is None
    assert silent.reminders == [] and silent.next_reminder_at is None


def test_undecided_approvers_are_reminded_once_on_every_channel_that_reached_them(
    database: Settings, configure: Callable[..., Settings], mail: FakeSmtpServer, sms_provider: FakeHttpServer
) -> None:
    configure(**{**smtp_env(mail.port), **sms_env(sms_provider.url("/echo"))})
    ana, bob, carl = make_user(Role.APPROVER), make_user(Role.APPROVER), make_user(Role.APPROVER)
    set_phone(bob, "+15551234567")
    created = approvals.create_approval(
        payout(ana, bob, carl, channels=["email", "sms"], quorum=2, reminders=[3000, 600]), requested_by=None
    )
    sent_rows(created.id, 4)  # three mails and bob's text
    approvals.decide(created.id, "approve", Decider(ana))  # a vote: quorum 2 is not reached yet
    due = due_now(created.id)

    assert approval_reminders.send_reminder(created.id, due) == 3  # carl's and bob's mails, bob's text
    assert approval_reminders.send_reminder(created.id, due) is None  # the same job again: nothing

    assert subjects(mail, ana.email) == ["Approval needed: Pay invoice #77?"]
    assert subjects(mail, bob.email)[-1] == "Reminder: Approval needed: Pay invoice #77?"
    assert subjects(mail, carl.email)[-1] == "Reminder: Approval needed: Pay invoice #77?"
    text = parse_qs(sms_provider.received(SMS_PATH)[-1].body.decode())["Body"][0]
    assert text.startswith("Reminder: Approval needed: Pay invoice #77?")
    (reminded,) = events(created.id, "approval.reminded")
    assert reminded.source == EventSource.REMINDER_JOB
    assert sorted(reminded.data["approvers"]) == sorted([bob.email, carl.email])
    assert reminded.data["channels"] == ["email", "sms"]
    attempts = events(created.id, "delivery.reminder")
    assert len(attempts) == 3 and {attempt.data["outcome"] for attempt in attempts} == {"sent"}
    assert "+1••••••4567" in {attempt.data["recipient"] for attempt in attempts}
    after = current(created.id)
    assert after.expires_at is not None and after.next_reminder_at == after.expires_at - timedelta(seconds=600)
    assert approvals.verify_chain(created.id, ana)["valid"] is True

    # The reminder's link is the one that works now; the first mail's link was replaced.
    client = TestClient(app())
    first_link, *_ = LINK.findall(mail.messages[0].parsed().get_body(("plain",)).get_content())
    (reminder_mail,) = [m for m in mail.messages if m.recipients == [carl.email]][-1:]
    (reminder_link,) = set(LINK.findall(reminder_mail.parsed().get_body(("plain",)).get_content()))
    assert client.get(reminder_link).status_code == 200
    report = {(row["channel"], row["user"]): row for row in deliveries.delivery_report(created.id, ana)}
    assert report[("email", carl.email)]["reminders"] == 1 and report[("email", ana.email)]["reminders"] == 0
    assert report[("email", ana.email)]["decision"] == "approve" and report[("email", ana.email)]["decided_at"]
    assert first_link != reminder_link


def test_the_job_fires_by_itself_and_a_decision_cancels_the_next_one(
    database: Settings, configure: Callable[..., Settings], mail: FakeSmtpServer
) -> None:
    configure(**smtp_env(mail.port))
    ana = make_user(Role.APPROVER)
    # The first reminder is due a second after the request is made.
    created = approvals.create_approval(payout(ana, reminders=[3599, 1800]), requested_by=None)

    wait_for(lambda: len(subjects(mail, ana.email)) == 2, what="the request and its reminder")
    assert subjects(mail, ana.email)[1].startswith("Reminder: ")
    booked = wait_for(lambda: current(created.id).next_reminder_at, what="the next reminder")
    job = approval_reminders.job_id(created.id, booked)
    assert wait_for(lambda: booked_status(job), what="the next reminder's job") == JobStatus.SCHEDULED

    approvals.decide(created.id, "reject", Decider(ana))

    assert get_queue().result(job).status == JobStatus.CANCELLED
    assert approvals.snapshot(current(created.id))["next_reminder_at"] is None
    assert approval_reminders.send_reminder(created.id, booked.isoformat()) is None


def test_an_escalation_points_the_reminders_at_the_next_tiers_deadline(
    database: Settings, configure: Callable[..., Settings], mail: FakeSmtpServer
) -> None:
    configure(**smtp_env(mail.port))
    ana, boss = make_user(Role.APPROVER), make_user(Role.APPROVER)
    created = approvals.create_approval(
        payout(
            ana,
            timeout_seconds=600,
            reminders=[300],
            timeout_action="escalate",
            escalation=[{"approvers": [boss.email], "timeout_seconds": 1200}],
        ),
        requested_by=None,
    )
    sent_rows(created.id, 1)
    due = datetime.now(UTC) - timedelta(seconds=1)
    with session_scope() as session:
        session.execute(update(Approval).where(Approval.id == created.id).values(expires_at=due))

    assert approvals.fire_timeout(created.id, due.isoformat()) == "escalated"
    escalated = current(created.id)
    assert escalated.expires_at is not None
    assert escalated.next_reminder_at == escalated.expires_at - timedelta(seconds=300)
    sent_rows(created.id, 2)

    assert approval_reminders.send_reminder(created.id, due_now(created.id)) == 1
    assert subjects(mail, boss.email)[-1].startswith("Reminder: ")
    assert subjects(mail, ana.email) == ["Approval needed: Pay invoice #77?"]  # no longer an approver


def test_past_the_deadline_a_reminder_does_nothing(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(payout(ana, channels=["studio"], reminders=[60]), requested_by=None)
    due = due_now(created.id)
    with session_scope() as session:
        session.execute(update(Approval).where(Approval.id == created.id).values(expires_at=datetime.now(UTC)))

    assert approval_reminders.send_reminder(created.id, due) is None
    assert events(created.id, "approval.reminded") == []


def test_studio_only_approvers_get_the_event_and_no_message(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(payout(ana, channels=["studio"], reminders=[60]), requested_by=None)

    assert approval_reminders.send_reminder(created.id, due_now(created.id)) == 0

    (reminded,) = events(created.id, "approval.reminded")
    assert reminded.data["approvers"] == [ana.email] and reminded.data["channels"] == []
    assert current(created.id).next_reminder_at is None  # that was the only one


def test_the_reconciler_books_a_lost_reminder_again(database: Settings) -> None:
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(payout(ana, channels=["studio"], reminders=[60]), requested_by=None)
    assert created.next_reminder_at is not None
    job = approval_reminders.job_id(created.id, created.next_reminder_at)
    assert get_queue().cancel(job) is True  # as if the queue had lost it

    counts = reconciler.reconcile()

    assert counts["approval_reminders"] == 1
    assert get_queue().result(job).status == JobStatus.SCHEDULED


def test_a_slack_reminder_is_a_new_dm_and_the_decision_updates_both_messages(
    database: Settings,
    slack_on: FakeSlack,  # noqa: F811
) -> None:
    ana = make_user(Role.APPROVER, name="Ana Lima")
    set_slack_id(ana, "UANA")
    created = approvals.create_approval(payout(ana, channels=["slack"], reminders=[60]), requested_by=None)
    sent_rows(created.id, 1)

    assert approval_reminders.send_reminder(created.id, due_now(created.id)) == 1

    first, reminder = slack_on.called("chat.postMessage")
    assert reminder.args["text"] == "Reminder: Approval needed: Pay invoice #77?"
    assert "Reminder:" in json.dumps(reminder.args["blocks"]) and "Reminder:" not in json.dumps(first.args["blocks"])
    (row,) = rows(created.id)
    assert row.meta["reminders"] == 1 and len(row.meta["reminder_messages"]) == 1

    approvals.decide(created.id, "approve", Decider(ana, EventSource.STUDIO))

    updates = wait_for(lambda: slack_on.called("chat.update")[1:] and slack_on.called("chat.update"))
    assert len({call.args["ts"] for call in updates}) == 2
    assert all("Approved by" in call.args["text"] for call in updates)


def test_reminders_in_queue_mode_through_rq_scheduler_and_a_worker(
    queue_mode: Settings,  # noqa: F811
    configure: Callable[..., Settings],
    mail: FakeSmtpServer,
) -> None:
    settings = configure(**smtp_env(mail.port))
    assert settings.redis_url is not None
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(payout(ana, reminders=[3598, 1800]), requested_by=None)
    assert created.next_reminder_at is not None
    burst()  # the first mail
    wait_for(lambda: len(subjects(mail, ana.email)) == 1, what="the request mail")

    scheduler = get_queue().scheduler  # type: ignore[attr-defined]
    while datetime.now(UTC) < created.next_reminder_at + timedelta(seconds=1):
        scheduler.enqueue_jobs()
        time.sleep(0.2)
    scheduler.enqueue_jobs()
    burst()

    wait_for(lambda: len(subjects(mail, ana.email)) == 2, what="the reminder mail")
    assert subjects(mail, ana.email)[1] == "Reminder: Approval needed: Pay invoice #77?"
    following = current(created.id).next_reminder_at
    assert following is not None
    job = approval_reminders.job_id(created.id, following)
    assert get_queue().result(job).status == JobStatus.SCHEDULED

    approvals.decide(created.id, "approve", Decider(ana))

    assert get_queue().result(job).status == JobStatus.CANCELLED
    assert reconciler.reconcile()["approval_reminders"] == 0
