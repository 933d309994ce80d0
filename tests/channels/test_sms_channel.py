"""SMS deliveries against a local Twilio-like HTTP server, then following the texted link."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient

from hitl_studio.channels import CHANNELS, ChannelError
from hitl_studio.models.approvals import ApprovalStatus, DeliveryStatus, EventSource
from hitl_studio.models.users import Role
from hitl_studio.services import approvals, deliveries
from hitl_studio.services.approvals import ApprovalInput
from hitl_studio.settings import Settings
from tests.channels import LINK, app, events, set_phone, sms_env, wait_for
from tests.channels import deliveries as rows
from tests.factories import make_user
from tests.fakes.http_server import FakeHttpServer, fake_http_server

MESSAGES_PATH = "/echo/2010-04-01/Accounts/AC123/Messages.json"


@pytest.fixture
def provider() -> Iterator[FakeHttpServer]:
    with fake_http_server() as server:
        yield server


def test_the_approver_gets_a_text_with_a_short_link_and_decides_through_it(
    database: Settings, configure: Callable[..., Settings], provider: FakeHttpServer
) -> None:
    configure(**sms_env(provider.url("/echo")))
    agent, ana = make_user(Role.BUILDER), make_user(Role.APPROVER)
    set_phone(ana, "+15551234567")
    created = approvals.create_approval(
        ApprovalInput(title="Deploy v2.3 to production?", approvers=[ana.email], channels=["sms"]), requested_by=agent
    )

    deliveries.schedule_deliveries(created)

    (request,) = wait_for(lambda: provider.received(MESSAGES_PATH), what="the SMS request")
    assert request.method == "POST" and request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    expected_auth = base64.b64encode(b"AC123:sms-token-456").decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
    assert form["To"] == "+15551234567" and form["From"] == "+15550000000"
    assert form["Body"].startswith("Approval needed: Deploy v2.3 to production?")
    (link,) = LINK.findall(form["Body"])
    assert len(link) < 160
    (attempt,) = wait_for(lambda: events(created.id, "delivery.attempt"), what="the attempt event")
    assert attempt.source == "sms" and attempt.data["outcome"] == "sent"
    assert attempt.data["recipient"] == "+1••••••4567"  # the timeline does not show the whole number
    (row,) = rows(created.id)
    assert row.status == DeliveryStatus.SENT and row.meta["provider_status"] == 200

    client = TestClient(app())
    assert client.get(link).status_code == 200
    assert approvals.get_approval(created.id, agent).status == ApprovalStatus.PENDING
    answered = client.post(link, data={"decision": "reject", "feedback": "not on a Friday"})

    assert answered.status_code == 200 and "rejected" in answered.text
    decided = approvals.get_approval(created.id, agent)
    assert decided.status == ApprovalStatus.REJECTED and decided.feedback == "not on a Friday"
    (decision,) = events(created.id, "decision.rejected")
    assert decision.source == EventSource.SMS and decision.actor == ana.email


def test_a_provider_error_is_a_channel_error_naming_the_status(
    database: Settings, configure: Callable[..., Settings], provider: FakeHttpServer
) -> None:
    configure(**sms_env(provider.url("/no-such-provider")))
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(
        ApprovalInput(title="x", approvers=[ana.email], channels=["sms"]), requested_by=None
    )

    with pytest.raises(ChannelError, match="answered 404"):
        CHANNELS["sms"].send(created, "+15551234567", "http://testserver/approvals/respond/t")


def test_approvers_without_a_phone_number_are_skipped_and_logged(
    database: Settings, configure: Callable[..., Settings], provider: FakeHttpServer
) -> None:
    configure(**sms_env(provider.url("/echo")))
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(
        ApprovalInput(title="x", approvers=[ana.email], channels=["sms"]), requested_by=None
    )

    assert deliveries.schedule_deliveries(created) == []

    (skipped,) = events(created.id, "delivery.skipped")
    assert skipped.data == {"channel": "sms", "user": ana.email, "reason": f"{ana.email} has no phone number"}
    assert rows(created.id) == []
