"""What the API shows of a request's deliveries: status, attempts, retries, and errors without secrets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Delivery
from hitl_studio.models.users import Role
from hitl_studio.services import approvals, deliveries
from hitl_studio.services.approvals import ApprovalInput
from hitl_studio.services.errors import NotFound
from hitl_studio.settings import Settings
from tests.channels import events, set_phone, sms_env, smtp_env, wait_for
from tests.factories import make_user
from tests.fakes.smtp_server import free_port

SMTP_PASSWORD = "smtp-pass-9f8e7d"


def test_redact_masks_the_channel_secrets_and_passwords_in_urls(configure: Callable[..., Settings]) -> None:
    settings = configure(**sms_env("http://sms.test"), SMTP_PASSWORD=SMTP_PASSWORD)

    text = f"401 for sms-token-456 at https://AC123:{SMTP_PASSWORD}@sms.test/x and smtp://u:hunter2@mail.test"

    assert deliveries.redact(text, settings) == "401 for *** at https://AC123:***@sms.test/x and smtp://u:***@mail.test"
    assert deliveries.redact(None, settings) is None


def test_the_report_shows_a_failing_delivery_its_retry_and_no_secret(
    database: Settings, configure: Callable[..., Settings]
) -> None:
    configure(**{**smtp_env(free_port()), **sms_env("http://sms.test")}, SMTP_PASSWORD=SMTP_PASSWORD)
    agent, ana, outsider = make_user(Role.BUILDER), make_user(Role.APPROVER), make_user(Role.APPROVER)
    set_phone(ana, "+15551234567")
    created = approvals.create_approval(
        ApprovalInput(title="Refund?", approvers=[ana.email], channels=["email"], timeout_seconds=600),
        requested_by=agent,
    )
    wait_for(lambda: events(created.id, "delivery.attempt"), what="the first attempt")
    with session_scope() as session:
        # As a provider might answer: its error quotes the credentials it was sent.
        session.execute(
            update(Delivery)
            .where(Delivery.approval_id == created.id, Delivery.channel == "email")
            .values(last_error=f"535 authentication failed for {SMTP_PASSWORD}")
        )

    report = deliveries.delivery_report(created.id, agent)

    email = next(row for row in report if row["channel"] == "email")
    inbox = next(row for row in report if row["channel"] == "studio")
    assert email["status"] == "pending" and email["attempts"] == 1 and email["max_attempts"] == 3
    assert email["next_retry_at"] is not None and email["sent_at"] is None
    assert email["last_error"] == "535 authentication failed for ***"
    assert email["recipient"] == ana.email and email["user"] == ana.email and email["tier"] == 0
    assert inbox["status"] == "delivered" and inbox["user"] == ana.email
    with pytest.raises(NotFound):
        deliveries.delivery_report(created.id, outsider)
