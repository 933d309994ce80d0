"""Slack deliveries against a local fake of Slack's Web API, and Slack's signed interaction callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from hitl_studio.api.app import API_PREFIX, create_app
from hitl_studio.api.routes import slack as slack_routes
from hitl_studio.channels import CHANNELS, ChannelError, slack
from hitl_studio.db import session_scope
from hitl_studio.models.approvals import Approval, ApprovalStatus, DeliveryStatus, EventSource
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import ApprovalInput, Decider
from hitl_studio.settings import Settings
from tests.channels import API_URL, events, wait_for
from tests.channels import deliveries as rows
from tests.factories import make_user
from tests.fakes.slack_server import BOT_TOKEN, FakeSlack, fake_slack_server

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PUBLIC_URL = "http://studio.test"
INTERACTIONS = f"{API_PREFIX}/integrations/slack/interactions"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with fake_slack_server() as server:
        yield server


@pytest.fixture
def slack_on(configure: Callable[..., Settings], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """Slack configured against the fake, and the channel registered (until channels/__init__ lists it)."""
    if "slack" not in CHANNELS:
        monkeypatch.setitem(CHANNELS, "slack", slack.SlackChannel())
    configure(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url.rstrip("/"),  # the channel adds the trailing slash slack-sdk needs
        HITL_API_URL=API_URL,
        HITL_PUBLIC_URL=PUBLIC_URL,
    )
    return fake_slack


def app() -> FastAPI:
    """The API app with the Slack router (mounted here until app.py includes it itself)."""
    application = create_app()
    if INTERACTIONS not in {getattr(route, "path", None) for route in application.routes}:
        application.include_router(slack_routes.router, prefix=API_PREFIX)
    return application


def set_slack_id(user: User, slack_user_id: str | None) -> None:
    with session_scope() as session:
        session.execute(update(User).where(col(User.id) == user.id).values(slack_user_id=slack_user_id))


def current(approval_id: str) -> Approval:
    with session_scope() as session:
        approval = session.get(Approval, approval_id)
        assert approval is not None
        return approval


def signed(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers as Slack sends them: v0=HMAC-SHA256(secret, "v0:<ts>:<body>")."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click(
    client: TestClient,
    message: dict[str, Any],
    action_id: str,
    slack_user_id: str,
    *,
    response_url: str | None = None,
    **signing: Any,
) -> Any:
    """Press a button of a posted message, the way Slack calls the app's interactivity URL."""
    (actions,) = [block for block in message["blocks"] if block["type"] == "actions"]
    (button,) = [element for element in actions["elements"] if element["action_id"] == action_id]
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user_id, "username": "someone", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "container": {"type": "message", "channel_id": "D1", "message_ts": "1700000000.000001"},
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "block_id": actions["block_id"],
                "action_id": action_id,
                "value": button.get("value"),
                "action_ts": str(time.time()),
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return client.post(INTERACTIONS, content=body, headers=signed(body, **signing))


def deploy(*emails: str) -> ApprovalInput:
    return ApprovalInput(
        title="Deploy v2.3 to production?",
        description="Release notes: faster <search> & fixes.",
        approvers=list(emails),
        channels=["slack"],
        action_type="deploy.release",
        action_data={"service": "api", "version": "2.3.0", "replicas": 4},
        timeout_seconds=3600,
    )


def posted(fake: FakeSlack, count: int) -> dict[str, dict[str, Any]]:
    """The posted messages by Slack user id, once ``count`` have arrived."""
    calls = wait_for(lambda: fake.called("chat.postMessage")[count - 1 :] and fake.called("chat.postMessage"))
    return {call.args["channel"]: call.args for call in calls}


def message_text(fake: FakeSlack, channel: str) -> str:
    ((_key, message),) = [(key, value) for key, value in fake.messages.items() if key[0] == channel]
    return json.dumps(message["blocks"], ensure_ascii=False)


def two_approvers() -> tuple[User, User, User]:
    agent = make_user(Role.BUILDER)
    ana = make_user(Role.APPROVER, name="Ana Lima")
    bob = make_user(Role.APPROVER, name="Bob Stone")
    set_slack_id(ana, "UANA")
    set_slack_id(bob, "UBOB")
    return agent, ana, bob


def test_approvers_get_a_dm_with_buttons_and_a_click_decides_and_updates_every_message(
    database: Settings, slack_on: FakeSlack
) -> None:
    agent, ana, bob = two_approvers()
    carl = make_user(Role.APPROVER)  # no Slack user id: skipped
    created = approvals.create_approval(deploy(ana.email, bob.email, carl.email), requested_by=agent)

    messages = posted(slack_on, 2)
    assert set(messages) == {"UANA", "UBOB"}
    call = slack_on.called("chat.postMessage")[0]
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    message = messages["UANA"]
    assert message["text"] == "Approval needed: Deploy v2.3 to production?"
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds[0] == "header" and "actions" in kinds
    assert message["blocks"][0]["text"]["text"] == "Deploy v2.3 to production?"
    assert "faster &lt;search&gt; &amp; fixes" in json.dumps(message["blocks"])
    fields = next(block["fields"] for block in message["blocks"] if block.get("block_id") == "hitl_action")
    assert any("deploy.release" in field["text"] for field in fields)
    assert any(field["text"] == "*version*\n2.3.0" for field in fields)
    (actions,) = [block for block in message["blocks"] if block["type"] == "actions"]
    approve, reject, open_link = actions["elements"]
    assert (approve["action_id"], approve["style"]) == ("approve", "primary")
    assert (reject["action_id"], reject["style"]) == ("reject", "danger")
    assert approve["value"] == reject["value"] and len(approve["value"]) > 20
    assert open_link["url"] == f"{PUBLIC_URL}/approvals/{created.id}"
    assert messages["UANA"]["blocks"] != messages["UBOB"]["blocks"]  # each delivery has its own token

    sent = wait_for(
        lambda: (
            [r for r in rows(created.id, "slack") if r.status == DeliveryStatus.SENT][1:] and rows(created.id, "slack")
        )
    )
    assert {row.recipient for row in sent} == {"UANA", "UBOB"}
    assert {row.meta["channel"] for row in sent} == {"DANA", "DBOB"} and all(row.meta["ts"] for row in sent)
    (skipped,) = events(created.id, "delivery.skipped")
    assert skipped.data["user"] == carl.email and skipped.data["channel"] == "slack"

    client = TestClient(app())
    answered = click(client, message, "approve", "UANA", response_url=slack_on.response_url())

    assert answered.status_code == 200
    assert answered.json()["response_type"] == "ephemeral" and "You approved" in answered.json()["text"]
    decided = current(created.id)
    assert decided.status == ApprovalStatus.APPROVED and decided.responded_by == ana.email
    (decision,) = events(created.id, "decision.approved")
    assert decision.source == EventSource.SLACK and decision.actor == ana.email
    updates = wait_for(lambda: slack_on.called("chat.update")[1:] and slack_on.called("chat.update"))
    assert {call.args["channel"] for call in updates} >= {"DANA", "DBOB"}
    for channel in ("DANA", "DBOB"):
        shown = message_text(slack_on, channel)
        assert "✅ Approved by Ana Lima (<@UANA>)" in shown
        assert '"actions"' not in shown and "Deploy v2.3 to production?" in shown
    assert slack_on.replies and "You approved" in slack_on.replies[-1]["text"]

    # Bob's click comes too late: 200, says who decided, changes nothing.
    late = click(client, messages["UBOB"], "reject", "UBOB")

    assert late.status_code == 200
    assert "already decided" in late.json()["text"] and "Approved by Ana Lima" in late.json()["text"]
    assert current(created.id).status == ApprovalStatus.APPROVED and events(created.id, "decision.rejected") == []
    (refused,) = events(created.id, "decision.refused")
    assert refused.actor == bob.email and refused.source == EventSource.SLACK


def test_forged_or_stale_signatures_are_refused_with_401(database: Settings, slack_on: FakeSlack) -> None:
    agent, ana, _bob = two_approvers()
    created = approvals.create_approval(deploy(ana.email), requested_by=agent)
    message = posted(slack_on, 1)["UANA"]
    client = TestClient(app())

    forged = click(client, message, "approve", "UANA", secret="not-the-signing-secret")
    stale = click(client, message, "approve", "UANA", timestamp=int(time.time()) - 6 * 60)
    unsigned = client.post(
        INTERACTIONS, content="payload={}", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert forged.status_code == 401 and "X-Slack-Signature" in forged.json()["error"]["message"]
    assert stale.status_code == 401 and "five minutes" in stale.json()["error"]["message"]
    assert unsigned.status_code == 401
    assert current(created.id).status == ApprovalStatus.PENDING
    assert events(created.id, "decision.refused") == [] and slack_on.called("chat.update") == []


def test_an_unknown_slack_user_is_refused_and_nothing_is_decided(database: Settings, slack_on: FakeSlack) -> None:
    agent, ana, _bob = two_approvers()
    created = approvals.create_approval(deploy(ana.email), requested_by=agent)
    message = posted(slack_on, 1)["UANA"]

    answered = click(TestClient(app()), message, "approve", "USTRANGER")

    assert answered.status_code == 200 and "not linked" in answered.json()["text"]
    assert current(created.id).status == ApprovalStatus.PENDING
    (refused,) = events(created.id, "decision.refused")
    assert refused.source == EventSource.SLACK and refused.data["slack_user_id"] == "USTRANGER"
    assert refused.data["reason"] == "unknown Slack user"
    assert slack_on.called("chat.update") == []


def test_a_decision_in_the_studio_updates_the_slack_message(sqlite_database: Settings, slack_on: FakeSlack) -> None:
    agent, ana, _bob = two_approvers()
    created = approvals.create_approval(deploy(ana.email), requested_by=agent)
    posted(slack_on, 1)
    wait_for(lambda: [r for r in rows(created.id, "slack") if r.status == DeliveryStatus.SENT])

    decided = approvals.decide(created.id, "reject", Decider(ana, EventSource.STUDIO), feedback="not today")
    # Until deliveries.on_approval_event enqueues slack.UPDATE_JOB, call it as the hook would.
    assert slack.show_decided(decided) == 1

    shown = message_text(slack_on, "DANA")
    assert "❌ Rejected by Ana Lima" in shown and "not today" in shown and '"actions"' not in shown


def test_outcome_lines_for_timeouts_and_cancellations(sqlite_database: Settings) -> None:
    base = Approval(title="t", approvers=[], channels=["slack"])
    assert slack.outcome_text(base.model_copy(update={"status": "timeout"})) == "⌛ Timed out"
    timed_out = {"status": "rejected", "decision": "reject", "responded_by": "timeout"}
    assert slack.outcome_text(base.model_copy(update=timed_out)) == "⌛ Timed out (rejected automatically)"
    assert slack.outcome_text(base.model_copy(update={"status": "cancelled"})) == "🚫 Cancelled"


def test_slack_errors_are_channel_errors_with_slacks_code(sqlite_database: Settings, slack_on: FakeSlack) -> None:
    ana = make_user(Role.APPROVER)
    created = approvals.create_approval(
        ApprovalInput(title="x", approvers=[ana.email], channels=["studio"]), requested_by=None
    )
    slack_on.fail_with = "channel_not_found"

    with pytest.raises(ChannelError, match="channel_not_found"):
        CHANNELS["slack"].send(created, "UNOBODY", f"{API_URL}/approvals/respond/token")

    slack_on.fail_with = None
    slack_on.token = "xoxb-another-token"
    with pytest.raises(ChannelError, match="invalid_auth"):
        CHANNELS["slack"].send(created, "UANA", f"{API_URL}/approvals/respond/token")
