"""The agents' Python client against the real API, served by uvicorn in a thread of this process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn

from hitl_studio import client as client_module
from hitl_studio.api.app import create_app
from hitl_studio.client import (
    ApprovalNotGranted,
    ApprovalRejected,
    ApprovalTimedOut,
    HITLClient,
    HITLError,
    requires_approval,
    verify_signature,
)
from hitl_studio.models.approvals import Approval
from hitl_studio.models.users import Role, User
from hitl_studio.services import approvals
from hitl_studio.services.approvals import Decider
from hitl_studio.settings import Settings
from tests.factories import make_api_key, make_user

FORM = {
    "type": "object",
    "properties": {"amount": {"type": "number", "maximum": 100}, "note": {"type": "string"}},
}


@pytest.fixture
def server_url(sqlite_database: Settings) -> Iterator[str]:
    """The studio's API on a free port of 127.0.0.1, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hitl-test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def agent(sqlite_database: Settings) -> User:
    return make_user(Role.BUILDER, email="agent@example.com")


@pytest.fixture
def ana(sqlite_database: Settings) -> User:
    return make_user(Role.APPROVER, email="ana@example.com")


@pytest.fixture
def hitl(server_url: str, agent: User) -> Iterator[HITLClient]:
    with HITLClient(server_url, make_api_key(agent)) as client:
        yield client


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def answer_next(pool: ThreadPoolExecutor, approver: User, decision: str, **fields: Any) -> Future[str]:
    """In another thread: wait for a request addressed to ``approver`` and decide it (through the service)."""

    def run() -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows, _ = approvals.list_approvals(approver, status="pending", mine_to_decide=True)
            if rows:
                approvals.decide(rows[0].id, decision, Decider(approver), **fields)  # type: ignore[arg-type]
                return rows[0].id
            time.sleep(0.05)
        raise AssertionError(f"no request reached {approver.email}")

    return pool.submit(run)


def stored(approval_id: str, viewer: User) -> Approval:
    return approvals.get_approval(approval_id, viewer)


class CountingTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)


def test_a_request_is_pending_with_what_the_agent_sent(hitl: HITLClient, agent: User, ana: User) -> None:
    request = hitl.request_approval(
        "Refund 40 €?",
        ana.email,
        description="Parcel lost.",
        ui_schema=FORM,
        action_type="refund",
        action_data={"order": "#1234", "amount": 40},
        timeout_seconds=600,
        channels=["email"],
    )

    assert request.status == "pending" and not request.decided and not request.approved
    assert request.decision is None and request.response_data is None
    assert request.data["approvers"] == [ana.email]
    assert request.data["channels"] == ["studio", "email"]
    assert request.data["action_data"] == {"order": "#1234", "amount": 40}
    assert request.data["expires_at"] is not None
    assert hitl.get(request.id).data == request.data
    assert [event["type"] for event in request.events() if event["type"].startswith("approval.")] == [
        "approval.created"
    ]
    assert hitl.verify(request.id)["valid"] is True
    assert [item.id for item in hitl.list_approvals(status="pending")] == [request.id]
    assert stored(request.id, agent).requested_by == agent.id


def test_wait_returns_as_soon_as_an_approver_decides(hitl: HITLClient, ana: User, pool: ThreadPoolExecutor) -> None:
    request = hitl.request_approval("Refund?", [ana.email], ui_schema=FORM)

    def approve_later() -> None:
        time.sleep(0.3)
        approvals.decide(request.id, "approve", Decider(ana), response_data={"amount": 35}, feedback="ok, 35")

    decided = pool.submit(approve_later)
    started = time.monotonic()
    returned = request.wait(timeout=20)
    elapsed = time.monotonic() - started

    decided.result()
    assert returned is request
    assert request.status == "approved" and request.approved and request.decision == "approve"
    assert request.response_data == {"amount": 35}
    assert request.feedback == "ok, 35"
    assert request.responded_by == ana.email
    assert 0.2 < elapsed < 5


def test_wait_long_polls_in_slices_and_returns_pending_at_its_timeout(
    server_url: str, agent: User, ana: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module, "WAIT_SLICE_SECONDS", 0.4)
    transport = CountingTransport()
    with HITLClient(server_url, make_api_key(agent), transport=transport) as client:
        request = client.request_approval("Refund?", [ana.email])
        started = time.monotonic()
        request.wait(timeout=1.0)
        elapsed = time.monotonic() - started

    assert request.status == "pending" and not request.decided
    assert 0.9 < elapsed < 3
    polls = [path for path in transport.paths if path.endswith("/wait")]
    assert 3 <= len(polls) <= 4, polls  # 0.4 + 0.4 + 0.2 seconds: no busy loop


def test_wait_zero_is_a_refresh(hitl: HITLClient, ana: User) -> None:
    request = hitl.request_approval("Refund?", [ana.email])
    approvals.decide(request.id, "reject", Decider(ana), feedback="no")

    assert request.status == "pending"
    assert request.wait(0).status == "rejected"
    assert hitl.wait(request.id, 0).feedback == "no"


def test_an_approver_decides_and_the_agent_cancels_through_the_client(
    server_url: str, hitl: HITLClient, ana: User
) -> None:
    first = hitl.request_approval("Refund?", [ana.email], ui_schema=FORM)
    second = hitl.request_approval("Refund again?", [ana.email])

    with HITLClient(server_url + "/api/v1/", make_api_key(ana)) as approver:
        # Neither has a deadline: newest first.
        assert [item.id for item in approver.list_approvals(mine=True)] == [second.id, first.id]
        with pytest.raises(HITLError) as refused:
            approver.decide(first.id, "approve", response_data={"amount": 500})
        decided = approver.decide(first.id, "approve", response_data={"amount": 50}, feedback="half")

    assert refused.value.status_code == 422 and set(refused.value.fields) == {"amount"}
    assert (decided.status, decided.response_data, decided.feedback) == ("approved", {"amount": 50}, "half")
    assert first.refresh().approved
    assert second.cancel().status == "cancelled"
    with pytest.raises(HITLError) as conflict:
        hitl.cancel(first.id)
    assert (conflict.value.status_code, conflict.value.code) == (409, "conflict")
    assert [event["type"] for event in hitl.events(first.id)] == [
        "approval.created",
        "decision.refused",
        "decision.approved",
    ]


def test_errors_carry_the_studios_code_and_fields(server_url: str, hitl: HITLClient, ana: User) -> None:
    with pytest.raises(HITLError) as unknown:
        hitl.request_approval("Refund?", [ana.email, "nobody@example.com"])
    with pytest.raises(HITLError) as bad_channel:
        hitl.request_approval("Refund?", [ana.email], channels=["pigeon"])
    with pytest.raises(HITLError) as missing:
        hitl.get("no-such-id")
    with HITLClient(server_url, "hitl_not-a-real-key") as stranger, pytest.raises(HITLError) as unauthorized:
        stranger.list_approvals()

    error = unknown.value
    assert (error.status_code, error.code) == (422, "invalid_input")
    assert "nobody@example.com" in error.fields["approvers"] and "nobody@example.com" in error.message
    assert "422 invalid_input" in str(error)
    assert "channels" in bad_channel.value.fields
    assert (missing.value.status_code, missing.value.code) == (404, "not_found")
    assert (unauthorized.value.status_code, unauthorized.value.code) == (401, "unauthorized")


def test_the_decorator_runs_the_function_once_approved_with_the_edits(
    hitl: HITLClient, agent: User, ana: User, pool: ThreadPoolExecutor
) -> None:
    calls: list[tuple[Any, ...]] = []

    @requires_approval(
        hitl,
        "Refund a customer",
        [ana.email],
        timeout=20,
        describe=lambda order, amount, **_: f"Refund {amount} on {order}",
        ui_schema=FORM,
    )
    def refund(order: str, amount: float, when: object = None, approval_edits: dict[str, Any] | None = None) -> str:
        calls.append((order, amount, approval_edits))
        return "refunded"

    answered = answer_next(pool, ana, "approve", response_data={"amount": 30, "note": "partial"})
    result = refund("#1234", 40.5, when=datetime(2030, 1, 2, tzinfo=UTC))

    assert result == "refunded"
    assert calls == [("#1234", 40.5, {"amount": 30, "note": "partial"})]
    approval = stored(answered.result(), agent)
    assert approval.action_type == f"{__name__}.{refund.__qualname__}"
    assert approval.action_data == {"order": "#1234", "amount": 40.5, "when": "2030-01-02T00:00:00+00:00"}
    assert approval.description == "Refund 40.5 on #1234"
    assert approval.ui_schema == FORM
    assert approval.expires_at is not None  # the decorator's timeout is the request's deadline too


def test_the_decorator_passes_no_edits_to_a_function_without_the_parameter(
    hitl: HITLClient, agent: User, ana: User, pool: ThreadPoolExecutor
) -> None:
    class Mailer:
        @requires_approval(hitl, "Send a newsletter", [ana.email], timeout=20)
        def send(self, audience: set[str], *, subject: str, **headers: Any) -> int:
            return len(audience)

    answered = answer_next(pool, ana, "approve", response_data={"subject": "edited"})
    assert Mailer().send({"b@example.com", "a@example.com"}, subject="News", reply_to=object) == 2

    approval = stored(answered.result(), agent)
    assert approval.action_data == {
        "audience": ["a@example.com", "b@example.com"],
        "subject": "News",
        "reply_to": repr(object),
    }


def test_the_decorator_raises_on_a_rejection_without_calling(
    hitl: HITLClient, ana: User, pool: ThreadPoolExecutor
) -> None:
    calls: list[str] = []

    @requires_approval(hitl, "Delete the customer", [ana.email], timeout=20)
    def delete(customer: str) -> None:
        calls.append(customer)

    answer_next(pool, ana, "reject", feedback="not without a ticket")
    with pytest.raises(ApprovalRejected) as refused:
        delete("c_42")

    assert calls == []
    assert refused.value.request.status == "rejected"
    assert refused.value.request.feedback == "not without a ticket"
    assert "rejected by ana@example.com: not without a ticket" in str(refused.value)


def test_the_decorator_raises_when_the_requests_deadline_passes(hitl: HITLClient, agent: User, ana: User) -> None:
    calls: list[str] = []

    @requires_approval(hitl, "Delete the customer", [ana.email], timeout=20, timeout_seconds=1)
    def delete(customer: str) -> None:
        calls.append(customer)

    started = time.monotonic()
    with pytest.raises(ApprovalTimedOut) as timed_out:
        delete("c_42")  # the embedded queue applies the timeout action at the deadline

    assert calls == []
    assert time.monotonic() - started < 10
    request = timed_out.value.request
    assert (request.status, request.responded_by) == ("timeout", "timeout")
    assert isinstance(timed_out.value, ApprovalNotGranted)
    assert stored(request.id, agent).status == "timeout"


def test_the_decorator_withdraws_a_request_its_wait_gave_up_on(hitl: HITLClient, agent: User, ana: User) -> None:
    calls: list[str] = []
    later = datetime.now(UTC) + timedelta(hours=1)

    @requires_approval(hitl, "Delete the customer", [ana.email], timeout=0.5, expires_at=later)
    def delete(customer: str) -> None:
        calls.append(customer)

    with pytest.raises(ApprovalTimedOut) as timed_out:
        delete("c_42")

    assert calls == []
    assert timed_out.value.request.status == "cancelled"
    assert stored(timed_out.value.request.id, agent).status == "cancelled"


def test_a_wrong_call_asks_nobody(hitl: HITLClient, agent: User, ana: User) -> None:
    @requires_approval(hitl, "Delete the customer", [ana.email], timeout=1)
    def delete(customer: str) -> None:
        raise AssertionError("must not run")

    with pytest.raises(TypeError):
        delete()  # type: ignore[call-arg]

    assert approvals.list_approvals(agent)[1] == 0


def test_the_decorator_awaits_approval_for_async_functions(
    hitl: HITLClient, ana: User, pool: ThreadPoolExecutor
) -> None:
    @requires_approval(hitl, "Scale the cluster", [ana.email], timeout=20)
    async def scale(nodes: int, approval_edits: dict[str, Any] | None = None) -> int:
        await asyncio.sleep(0)
        return int((approval_edits or {}).get("nodes", nodes))

    answer_next(pool, ana, "approve", response_data={"nodes": 3})

    # On a thread of its own: the browser tests' Playwright keeps an event loop running on the main thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, scale(5)).result() == 3


def test_callbacks_can_be_checked_with_the_secret_the_request_returns(hitl: HITLClient, agent: User, ana: User) -> None:
    from hitl_studio.services import approval_notifications

    request = hitl.request_approval("Refund?", [ana.email], callback_url="https://agent.example.com/approved")
    secret = request.callback_secret
    approvals.decide(request.id, "approve", Decider(ana))
    request.wait(5)

    assert secret and request.callback_secret == secret and request.approved
    assert secret == approval_notifications.callback_signing_secret(agent.id)
    body = b'{"event": "decision.approved"}'
    header = approval_notifications.signature_header(secret, body)
    assert verify_signature(secret, header, body)
    assert not verify_signature(secret, header, body + b" ")
    assert not verify_signature("another secret", header, body)
    stale = approval_notifications.signature_header(secret, body, timestamp=int(time.time()) - 3600)
    assert not verify_signature(secret, stale, body)
    assert not verify_signature(secret, "t=soon,v1=abc", body)
    assert hitl.request_approval("Refund?", [ana.email]).callback_secret is None


def scripted_client(answers: list[httpx.Response]) -> tuple[HITLClient, list[httpx.Request]]:
    """A client whose server is a script of answers (the last one repeats)."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    return HITLClient("http://studio.invalid", "hitl_key", transport=httpx.MockTransport(answer)), seen


def test_wait_rides_out_a_restart_but_not_a_refusal() -> None:
    pending = {"id": "a1", "status": "pending"}
    unavailable = httpx.Response(503, text="<html>upstream restarting</html>")
    client, seen = scripted_client(
        [unavailable, unavailable, httpx.Response(200, json={**pending, "status": "approved"})]
    )

    assert client.wait("a1", timeout=10).approved
    assert len(seen) == 3 and seen[0].headers["Authorization"] == "Bearer hitl_key"
    assert seen[0].url.path == "/api/v1/approvals/a1/wait" and seen[0].url.params["timeout"] == "10.0"

    gone = {"error": {"code": "not_found", "message": "No approval with id a1.", "fields": {}}}
    client, seen = scripted_client([httpx.Response(404, json=gone)])
    with pytest.raises(HITLError) as missing:
        client.wait("a1", timeout=10)
    assert (missing.value.status_code, missing.value.code, len(seen)) == (404, "not_found", 1)


def test_wait_paces_itself_when_long_polls_come_back_early() -> None:
    client, seen = scripted_client([httpx.Response(200, json={"id": "a1", "status": "pending"})])

    started = time.monotonic()
    assert client.wait("a1", timeout=2.5).status == "pending"

    assert 2.4 < time.monotonic() - started < 4
    assert len(seen) <= 4  # about one a second, not a busy loop


def test_an_error_page_that_is_not_the_studios_still_raises_hitl_error() -> None:
    client, _ = scripted_client([httpx.Response(502, text="Bad gateway")])

    with pytest.raises(HITLError) as failed:
        client.get("a1")

    assert (failed.value.status_code, failed.value.code, failed.value.message) == (502, "http_error", "Bad gateway")
    assert failed.value.fields == {}


class LosesFirstAnswer(httpx.HTTPTransport):
    """Sends every request to the server, but the first create's answer is "lost" (a read timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.creates: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/approvals"):
            self.creates.append(request)
            if len(self.creates) == 1:
                response.read()
                raise httpx.ReadTimeout("the answer never came back", request=request)
        return response


def test_a_create_whose_answer_is_lost_is_retried_with_its_key_and_filed_once(
    server_url: str, agent: User, ana: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_module.time, "sleep", lambda _seconds: None)
    transport = LosesFirstAnswer()

    with HITLClient(server_url, make_api_key(agent), transport=transport) as client:
        request = client.request_approval("Refund?", [ana.email], reminders=[])

    assert len(transport.creates) == 2
    keys = {sent.headers["Idempotency-Key"] for sent in transport.creates}
    assert len(keys) == 1 and request.data["idempotency_key"] in keys
    assert approvals.list_approvals(agent)[1] == 1 and request.data["reminders"] == []


def test_each_call_has_its_own_key_unless_one_is_given(hitl: HITLClient, agent: User, ana: User) -> None:
    first = hitl.request_approval("Refund?", [ana.email])
    second = hitl.request_approval("Refund?", [ana.email])
    mine = hitl.request_approval("Refund?", [ana.email], idempotency_key="order-1234")
    again = hitl.request_approval("Refund?", [ana.email], idempotency_key="order-1234")

    assert first.id != second.id and first.data["idempotency_key"] != second.data["idempotency_key"]
    assert again.id == mine.id and approvals.list_approvals(agent)[1] == 3
    with pytest.raises(HITLError) as reused:
        hitl.request_approval("Refund 50?", [ana.email], idempotency_key="order-1234")
    assert reused.value.status_code == 409 and "Idempotency-Key" in reused.value.fields


def test_creates_retry_server_trouble_a_few_times_but_never_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module.time, "sleep", lambda _seconds: None)
    unavailable = httpx.Response(503, text="<html>upstream restarting</html>")
    created = httpx.Response(201, json={"id": "a1", "status": "pending"})
    client, seen = scripted_client([unavailable, unavailable, created])

    assert client.request_approval("Refund?", ["ana@example.com"]).id == "a1"
    assert len(seen) == 3 and len({request.headers["Idempotency-Key"] for request in seen}) == 1

    client, seen = scripted_client([unavailable])
    with pytest.raises(HITLError) as down:
        client.request_approval("Refund?", ["ana@example.com"])
    assert down.value.status_code == 503 and len(seen) == client_module.CREATE_ATTEMPTS

    bad = {"error": {"code": "invalid_input", "message": "bad", "fields": {"title": "too long"}}}
    client, seen = scripted_client([httpx.Response(422, json=bad)])
    with pytest.raises(HITLError):
        client.request_approval("Refund?", ["ana@example.com"])
    assert len(seen) == 1


def test_the_client_searches_and_reads_deliveries(hitl: HITLClient, agent: User, ana: User) -> None:
    refund = hitl.request_approval("Refund order 42?", [ana.email])
    hitl.request_approval("Deploy?", [ana.email])

    assert [found.id for found in hitl.list_approvals(search="REFUND")] == [refund.id]
    (inbox,) = hitl.deliveries(refund.id)
    assert inbox["channel"] == "studio" and inbox["user"] == ana.email and inbox["status"] == "delivered"
