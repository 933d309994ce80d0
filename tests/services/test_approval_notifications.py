"""Outgoing approval webhooks: who gets which event, signatures, retries with backoff, giving up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from hitl_studio.db import get_engine, session_scope, utcnow
from hitl_studio.models.approvals import Approval, EventSource
from hitl_studio.models.users import Role, User
from hitl_studio.models.webhooks import WebhookDelivery, WebhookSubscription
from hitl_studio.queue import JobStatus, QueueUnavailable, get_queue
from hitl_studio.services import approval_notifications as notifications
from hitl_studio.services.approvals import ApprovalInput, Decider, cancel_approval, create_approval, decide
from hitl_studio.services.errors import Forbidden, InvalidInput, NotFound
from hitl_studio.settings import Settings
from hitl_studio.signing import verify_signature
from tests.factories import audit_rows, make_user
from tests.fakes.serving import FakeServer, serve

SECRET = "whsec_test-0123456789abcdef"


@dataclass(frozen=True)
class Hook:
    """One request the receiver got (header names lower-cased)."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST, answers ``fail_status`` to the next ``failures``."""

    port: int = 0
    hooks: list[Hook] = field(default_factory=list)
    failures: int = 0
    fail_status: int = 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self.lock:
            self.failures, self.fail_status = count, status

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Hook]:
        """Poll until at least ``count`` requests have arrived; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                hooks = list(self.hooks)
            if len(hooks) >= count:
                return hooks
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(hooks)} request(s), not {count}, in {timeout} s")
            time.sleep(0.02)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[Receiver]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_POST(self) -> None:
        receiver = self.server.fake
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with receiver.lock:
            receiver.hooks.append(Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            failing = receiver.failures > 0
            receiver.failures -= 1 if failing else 0
            status = receiver.fail_status if failing else 204
        answer = b"receiver is down" if failing else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve(_Handler, lambda _host, port: Receiver(port=port), name="webhook-receiver") as fake:
        yield fake


@pytest.fixture
def people(sqlite_database: Settings) -> dict[str, User]:
    return {
        "requester": make_user(Role.BUILDER),
        "approver": make_user(Role.APPROVER),
        "stranger": make_user(Role.BUILDER),
        "admin": make_user(Role.ADMIN),
    }


def ask(requester: User, approver: User, **extra: Any) -> Approval:
    return create_approval(
        ApprovalInput(title="Refund 120 EUR", approvers=[approver.email], **extra), requested_by=requester
    )


def deliveries(**where: Any) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(WebhookDelivery, name) == value)
    with session_scope() as session:
        return list(session.exec(query))


def delivery(delivery_id: str) -> WebhookDelivery:
    with session_scope() as session:
        row = session.get(WebhookDelivery, delivery_id)
    assert row is not None
    return row


def wait_for_attempts(delivery_id: str, attempts: int, timeout: float = 10.0) -> WebhookDelivery:
    """Poll until the queued first attempt (or any later one) has been recorded."""
    deadline = time.monotonic() + timeout
    while True:
        row = delivery(delivery_id)
        if row.attempts >= attempts:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery {delivery_id} made {row.attempts} attempt(s), not {attempts}")
        time.sleep(0.02)


def subscribe(owner: User, url: str, events: list[str], secret: str | None = SECRET) -> str:
    return notifications.create_subscription(owner, url, events, secret).subscription.id


def test_a_delivery_is_signed_and_the_signature_fails_on_any_change(
    people: dict[str, User], receiver: Receiver
) -> None:
    subscribe(people["requester"], receiver.url(), ["approval.created"])

    approval = ask(people["requester"], people["approver"])

    (hook,) = receiver.wait_for(1)
    (row,) = deliveries()
    assert hook.headers["content-type"] == "application/json"
    assert hook.headers["x-hitl-event"] == "approval.created"
    assert hook.headers["x-hitl-delivery"] == row.id
    payload = hook.json
    assert payload["type"] == "approval.created"
    assert payload["approval"]["id"] == approval.id
    assert payload["approval"]["status"] == "pending"
    assert payload["id"] and datetime.fromisoformat(payload["created_at"])
    header = hook.headers["x-hitl-signature"]
    assert verify_signature(SECRET, header, hook.body)
    assert verify_signature(SECRET, header, hook.body.decode())
    assert not verify_signature("another-secret-0123456789", header, hook.body)
    assert not verify_signature(SECRET, header, hook.body.replace(b"pending", b"approved"))
    stamp = int(header.split(",")[0].removeprefix("t="))
    moved = header.replace(f"t={stamp}", f"t={stamp + 1}")
    assert not verify_signature(SECRET, moved, hook.body)
    assert not verify_signature(SECRET, header, hook.body, now=stamp + 301)
    assert verify_signature(SECRET, header, hook.body, now=stamp + 299)
    assert not verify_signature(SECRET, "v1=abc", hook.body)
    assert not verify_signature(SECRET, "", hook.body)
    row = wait_for_attempts(row.id, 1)
    assert (row.status, row.attempts, row.status_code, row.last_error) == ("delivered", 1, 204, None)
    assert row.delivered_at is not None and row.next_retry_at is None


def test_a_failed_delivery_is_retried_with_a_doubling_wait_until_it_succeeds(
    people: dict[str, User], receiver: Receiver
) -> None:
    receiver.fail_next(3, status=500)
    subscribe(people["requester"], receiver.url(), ["approval.created"])
    ask(people["requester"], people["approver"])
    (row,) = deliveries()

    first = wait_for_attempts(row.id, 1)
    assert (first.status, first.status_code) == ("pending", 500)
    assert first.last_error == "HTTP 500: receiver is down"
    retry = get_queue().result(notifications.delivery_job_id(row.id, 2))
    assert retry.status is JobStatus.SCHEDULED

    assert first.next_retry_at is not None
    waits = [first.next_retry_at - first.created_at]
    for expected in ("pending", "pending", "delivered"):
        before = utcnow()
        assert notifications.deliver(row.id) == expected
        current = delivery(row.id)
        if expected == "pending":
            assert current.next_retry_at is not None
            waits.append(current.next_retry_at - before)
    assert [round(wait.total_seconds() / 60) for wait in waits] == [1, 2, 4]
    done = delivery(row.id)
    assert (done.status, done.attempts, done.status_code, done.last_error) == ("delivered", 4, 204, None)
    assert len(receiver.hooks) == 4
    assert len({hook.headers["x-hitl-delivery"] for hook in receiver.hooks}) == 1


def test_the_backoff_doubles_from_one_minute() -> None:
    waits = [notifications.backoff(attempt) for attempt in range(1, notifications.MAX_ATTEMPTS)]

    assert waits == [timedelta(minutes=minutes) for minutes in (1, 2, 4, 8, 16)]


def test_a_delivery_gives_up_after_the_last_attempt(people: dict[str, User], receiver: Receiver) -> None:
    receiver.fail_next(100, status=503)
    subscribe(people["requester"], receiver.url(), ["approval.created"])
    ask(people["requester"], people["approver"])
    (row,) = deliveries()
    wait_for_attempts(row.id, 1)

    outcomes = [notifications.deliver(row.id) for _ in range(notifications.MAX_ATTEMPTS - 1)]

    assert outcomes == ["pending"] * (notifications.MAX_ATTEMPTS - 2) + ["failed"]
    final = delivery(row.id)
    assert (final.status, final.attempts, final.status_code) == ("failed", notifications.MAX_ATTEMPTS, 503)
    assert final.next_retry_at is None and final.delivered_at is None
    assert notifications.deliver(row.id) == "failed"
    assert len(receiver.hooks) == notifications.MAX_ATTEMPTS


def test_an_unreachable_receiver_counts_as_a_failed_attempt(people: dict[str, User], receiver: Receiver) -> None:
    subscribe(people["requester"], "http://127.0.0.1:9/nobody-listens", ["approval.created"])
    ask(people["requester"], people["approver"])
    (row,) = deliveries()

    failed = wait_for_attempts(row.id, 1)

    assert failed.status == "pending" and failed.status_code is None
    assert failed.last_error and failed.last_error.startswith("ConnectError")


def test_subscriptions_get_only_the_events_they_name_of_requests_their_owner_may_see(
    people: dict[str, User], receiver: Receiver
) -> None:
    decisions = subscribe(people["requester"], receiver.url("/decisions"), ["decision.approved"])
    everything = subscribe(people["requester"], receiver.url("/all"), ["*"])
    addressed = subscribe(people["approver"], receiver.url("/approver"), ["approval.created"])
    admin = subscribe(people["admin"], receiver.url("/admin"), ["*"])
    unrelated = subscribe(people["stranger"], receiver.url("/stranger"), ["*"])

    approval = ask(people["requester"], people["approver"])
    decide(approval.id, "approve", Decider(people["approver"]))

    def types(subscription_id: str) -> list[str]:
        return [row.event_type for row in deliveries(subscription_id=subscription_id)]

    assert types(decisions) == ["decision.approved"]
    assert types(everything) == ["approval.created", "decision.approved"]
    assert types(addressed) == ["approval.created"]
    assert types(admin) == ["approval.created", "decision.approved"]
    assert types(unrelated) == []
    hooks = receiver.wait_for(6)
    assert sorted(hook.path for hook in hooks) == ["/admin", "/admin", "/all", "/all", "/approver", "/decisions"]


def test_the_callback_url_hears_the_decision_signed_with_the_requesters_callback_secret(
    people: dict[str, User], receiver: Receiver
) -> None:
    approval = ask(people["requester"], people["approver"], callback_url=receiver.url("/agent"))
    assert deliveries() == []

    decide(approval.id, "reject", Decider(people["approver"]), feedback="too much")

    (hook,) = receiver.wait_for(1)
    (row,) = deliveries()
    assert row.subscription_id is None and row.url == receiver.url("/agent")
    assert hook.headers["x-hitl-event"] == "decision.rejected"
    assert hook.json["approval"]["feedback"] == "too much"
    own = notifications.callback_signing_secret(people["requester"].id)
    assert verify_signature(own, hook.headers["x-hitl-signature"], hook.body)
    other = notifications.callback_signing_secret(people["stranger"].id)
    assert other != own
    assert not verify_signature(other, hook.headers["x-hitl-signature"], hook.body)


def test_the_callback_url_hears_a_cancellation_but_not_votes(people: dict[str, User], receiver: Receiver) -> None:
    second = make_user(Role.APPROVER)
    approval = create_approval(
        ApprovalInput(
            title="Two keys", approvers=[people["approver"].email, second.email], quorum=2, callback_url=receiver.url()
        ),
        requested_by=people["requester"],
    )

    decide(approval.id, "approve", Decider(people["approver"]))
    assert deliveries() == []
    cancel_approval(approval.id, actor=people["requester"], source=EventSource.API)

    assert [row.event_type for row in deliveries()] == ["approval.cancelled"]


def test_notify_without_subscriptions_costs_one_query(people: dict[str, User]) -> None:
    approval = ask(people["requester"], people["approver"])
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        notifications.notify(approval, "vote.recorded")
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)

    assert len(statements) == 1
    assert deliveries() == []


def test_notify_never_raises_and_the_reconciler_rebooks_what_was_not_enqueued(
    people: dict[str, User], receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(people["requester"], receiver.url(), ["approval.created"])

    def down() -> None:
        raise QueueUnavailable("Redis is not reachable")

    monkeypatch.setattr(notifications, "get_queue", down)
    ask(people["requester"], people["approver"])
    broken = Approval(title="never saved")
    broken.created_at = None  # type: ignore[assignment]
    notifications.notify(broken, "approval.created")
    logged = [record.getMessage() for record in caplog.records if record.name == notifications.__name__]
    assert any(message.startswith("could not enqueue webhook delivery") for message in logged)
    assert any(message.startswith("could not record webhook deliveries") for message in logged)
    (row,) = deliveries()
    assert (row.status, row.attempts) == ("pending", 0)

    monkeypatch.undo()
    assert notifications.reschedule_deliveries() >= 1

    receiver.wait_for(1)
    assert wait_for_attempts(row.id, 1).status == "delivered"


def test_a_deleted_subscription_stops_its_pending_deliveries(people: dict[str, User], receiver: Receiver) -> None:
    receiver.fail_next(1)
    subscription_id = subscribe(people["requester"], receiver.url(), ["approval.created"])
    ask(people["requester"], people["approver"])
    (row,) = deliveries()
    wait_for_attempts(row.id, 1)

    notifications.delete_subscription(subscription_id, people["requester"])

    assert notifications.deliver(row.id) == "gone"
    assert len(receiver.hooks) == 1
    assert deliveries() == []
    assert [entry.target_id for entry in audit_rows("webhook.deleted")] == [subscription_id]


def test_a_switched_off_subscription_cancels_its_deliveries(people: dict[str, User], receiver: Receiver) -> None:
    receiver.fail_next(1)
    subscription_id = subscribe(people["requester"], receiver.url(), ["approval.created"])
    ask(people["requester"], people["approver"])
    (row,) = deliveries()
    wait_for_attempts(row.id, 1)
    with session_scope() as session:
        subscription = session.get(WebhookSubscription, subscription_id)
        assert subscription is not None
        subscription.active = False
        session.add(subscription)

    assert notifications.deliver(row.id) == "cancelled"
    assert len(receiver.hooks) == 1


def test_the_secret_is_generated_when_left_out_and_stored_encrypted(people: dict[str, User]) -> None:
    created = notifications.create_subscription(people["requester"], "https://example.com/hook", ["*"])

    assert created.secret.startswith("whsec_") and len(created.secret) > 30
    with session_scope() as session:
        row = session.get(WebhookSubscription, created.subscription.id)
    assert row is not None
    assert created.secret not in row.encrypted_secret
    assert row.encrypted_secret.startswith(f"v1:{row.key_id}:")
    assert "secret" not in notifications.public_fields(row)
    assert audit_rows("webhook.created")[0].after == {"url": "https://example.com/hook", "events": ["*"]}


@pytest.mark.parametrize(
    ("url", "events", "secret", "field_name"),
    [
        ("ftp://example.com/hook", ["*"], None, "url"),
        ("example.com/hook", ["*"], None, "url"),
        ("https://", ["*"], None, "url"),
        ("https://example.com/a b", ["*"], None, "url"),
        ("https://example.com/hook", [], None, "events"),
        ("https://example.com/hook", ["approval.created", "approval.exploded"], None, "events"),
        ("https://example.com/hook", ["*"], "short", "secret"),
    ],
)
def test_a_wrong_field_is_named(
    people: dict[str, User], url: str, events: list[str], secret: str | None, field_name: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        notifications.create_subscription(people["requester"], url, events, secret)

    assert list(caught.value.field_errors) == [field_name]


def test_only_roles_that_request_approvals_may_subscribe(sqlite_database: Settings) -> None:
    with pytest.raises(Forbidden):
        notifications.create_subscription(make_user(Role.VIEWER), "https://example.com/hook", ["*"])


def test_subscriptions_are_listed_and_deleted_by_their_owner_or_an_admin(people: dict[str, User]) -> None:
    mine = subscribe(people["requester"], "https://example.com/mine", ["*"])
    theirs = subscribe(people["stranger"], "https://example.com/theirs", ["*"])

    def list_ids(user: User) -> list[str]:
        return [row.id for row in notifications.list_subscriptions(user)]

    assert list_ids(people["requester"]) == [mine]
    assert list_ids(people["admin"]) == [mine, theirs]
    with pytest.raises(NotFound):
        notifications.delete_subscription(theirs, people["requester"])
    with pytest.raises(NotFound):
        notifications.list_deliveries(theirs, people["requester"])

    notifications.delete_subscription(theirs, people["admin"])

    assert list_ids(people["admin"]) == [mine]
