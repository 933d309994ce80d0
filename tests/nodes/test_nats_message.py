"""NATS (nats.message) run through the engine against the real NATS server with JetStream, on subjects of its own.

Logins are checked against private nats-server processes started with a user or a token, since the shared
server takes anonymous clients.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from hitl_studio.engine.runner import RunResult
from nodes.nats.credentials import NatsCredential, NatsFields
from nodes.sdk import NodeError
from tests.fakes.smtp_server import free_port
from tests.loops import run_loop
from tests.nodes.integrations import failure, host_for, outputs, run_node
from tests.servers import nats_url_or_skip, unavailable

T = TypeVar("T")


class Peer:
    """A second NATS client on an event loop of its own thread: the test's subscriber, service and stream admin."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="nats-peer", daemon=True)
        self.thread.start()
        self.client: Client = self.call(nats.connect(url, name="hitl-test-peer"))

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(10)

    def collect(self, subject: str) -> list[Msg]:
        """Subscribe to ``subject``; the returned list fills as messages arrive."""
        received: list[Msg] = []

        async def keep(message: Msg) -> None:
            received.append(message)

        async def subscribe() -> None:
            await self.client.subscribe(subject, cb=keep)
            await self.client.flush()

        self.call(subscribe())
        return received

    def serve(self, subject: str, answer: Callable[[Msg], Awaitable[bytes | None]]) -> None:
        """Answer requests on ``subject`` with what ``answer`` returns (``None``: stay silent)."""

        async def respond(message: Msg) -> None:
            reply = await answer(message)
            if reply is not None:
                await message.respond(reply)

        async def subscribe() -> None:
            await self.client.subscribe(subject, cb=respond)
            await self.client.flush()

        self.call(subscribe())

    def close(self) -> None:
        self.call(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Server:
    """The test NATS server, this test's subject prefix, and the JetStream streams to delete afterwards."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.credential: dict[str, Any] = {"servers": url}
        self.prefix = f"hitl-test.{uuid.uuid4().hex[:12]}"
        self.peer = Peer(url)
        self.streams: list[str] = []

    def stream(self, subjects: list[str]) -> str:
        name = f"HITL_TEST_{uuid.uuid4().hex[:12].upper()}"
        self.peer.call(self.peer.client.jetstream().add_stream(name=name, subjects=subjects))
        self.streams.append(name)
        return name

    def run(
        self,
        parameters: dict[str, Any],
        items: list[dict[str, Any]] | None = None,
        credential: dict[str, Any] | None = None,
        **settings: Any,
    ) -> RunResult:
        return run_node(
            "nats.message",
            parameters,
            items,
            credential_type="nats",
            host=host_for(credential or self.credential),
            **settings,
        )

    def close(self) -> None:
        for name in self.streams:
            self.peer.call(self.peer.client.jetstream().delete_stream(name))
        self.peer.close()


@pytest.fixture
def server() -> Iterator[Server]:
    test_server = Server(nats_url_or_skip())
    try:
        yield test_server
    finally:
        test_server.close()


def wait_for(received: list[Msg], count: int) -> list[Msg]:
    deadline = time.monotonic() + 5
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return received


def test_publish_sends_each_item_with_its_headers(server: Server) -> None:
    received = server.peer.collect(server.prefix + ".orders.>")
    parameters = {"subject": server.prefix + ".orders.{{ $json.region }}", "headers": {"source": "{{ $json.by }}"}}

    result = server.run(parameters, [{"region": "eu", "by": "shop"}, {"region": "us", "by": "für", "n": 2}])

    sent = outputs(result)
    messages = wait_for(received, 2)
    assert [(message.subject, json.loads(message.data)) for message in messages] == [
        (server.prefix + ".orders.eu", {"region": "eu", "by": "shop"}),
        (server.prefix + ".orders.us", {"region": "us", "by": "für", "n": 2}),
    ]
    assert [message.headers for message in messages] == [{"source": "shop"}, {"source": "für"}]
    assert sent == [
        {"subject": server.prefix + ".orders.eu", "size": len(messages[0].data)},
        {"subject": server.prefix + ".orders.us", "size": len(messages[1].data)},
    ]
    assert [item.paired_item for item in result.last_outputs["Node"][0]] == [0, 1]


def test_publish_a_field_or_a_text(server: Server) -> None:
    received = server.peer.collect(server.prefix + ".*")

    outputs(
        server.run(
            {"subject": server.prefix + ".a", "payload_from": "field", "payload_field": "order.note"},
            [{"order": {"note": "hi"}}, {"order": {"note": [1, 2]}}],
        )
    )
    outputs(
        server.run(
            {"subject": server.prefix + ".b", "payload_from": "text", "payload_text": "n={{ $json.n }}", "headers": {}},
            [{"n": 3}],
        )
    )

    assert [(message.subject, message.data, message.headers) for message in wait_for(received, 3)] == [
        (server.prefix + ".a", b"hi", None),
        (server.prefix + ".a", b"[1, 2]", None),
        (server.prefix + ".b", b"n=3", None),
    ]


def test_request_outputs_the_reply_as_the_item(server: Server) -> None:
    async def answer(message: Msg) -> bytes:
        asked = json.loads(message.data)
        if asked.get("want") == "text":
            return b"plain words"
        if asked.get("want") == "binary":
            return b"\xff\x00"
        if asked.get("want") == "number":
            return b"42"
        return json.dumps({"echo": asked, "tag": (message.headers or {}).get("tag")}).encode()

    server.peer.serve(server.prefix + ".svc", answer)
    parameters = {"operation": "request", "subject": server.prefix + ".svc", "headers": {"tag": "{{ $json.tag }}"}}
    items = [
        {"id": 1, "tag": "t1"},
        {"want": "text", "tag": "t2"},
        {"want": "number", "tag": "t3"},
        {"want": "binary", "tag": "t4"},
    ]

    result = server.run(parameters, items)
    unparsed = outputs(server.run({**parameters, "parse_json": False}, [{"want": "number", "tag": "x"}]))

    assert outputs(result) == [
        {"echo": {"id": 1, "tag": "t1"}, "tag": "t1"},
        {"reply": "plain words"},
        {"reply": 42},
        {"reply": base64.b64encode(b"\xff\x00").decode(), "reply_encoding": "base64"},
    ]
    assert [item.paired_item for item in result.last_outputs["Node"][0]] == [0, 1, 2, 3]
    assert unparsed == [{"reply": "42"}]


def test_a_request_nobody_answers_names_the_item(server: Server) -> None:
    async def silent(_message: Msg) -> None:
        return None

    server.peer.serve(server.prefix + ".slow", silent)

    nobody = failure(server.run({"operation": "request", "subject": server.prefix + ".none"}))
    too_slow = failure(
        server.run({"operation": "request", "subject": server.prefix + ".slow", "timeout_seconds": 0.2}, [{}])
    )

    assert nobody["item_index"] == 0
    assert nobody["message"] == f"item 0: no service answers requests on '{server.prefix}.none'"
    assert too_slow["message"] == f"item 0: no reply to the message on '{server.prefix}.slow' within 0.2 s"
    assert "raise the timeout" in too_slow["description"]


def test_jetstream_publish_reports_the_stream_and_sequence(server: Server) -> None:
    stream = server.stream([server.prefix + ".events.>"])
    parameters = {
        "operation": "jetstream_publish",
        "subject": server.prefix + ".events.{{ $json.kind }}",
        "message_id": "event-{{ $json.id }}",
    }

    first = outputs(server.run(parameters, [{"id": 1, "kind": "paid"}, {"id": 2, "kind": "sent"}]))
    again = outputs(server.run(parameters, [{"id": 1, "kind": "paid"}]))

    assert [(entry["stream"], entry["sequence"], entry["duplicate"]) for entry in first] == [
        (stream, 1, False),
        (stream, 2, False),
    ]
    assert again[0]["duplicate"] is True and again[0]["sequence"] == 1
    info = server.peer.call(server.peer.client.jetstream().stream_info(stream))
    assert info.state.messages == 2
    stored = server.peer.call(server.peer.client.jetstream().get_msg(stream, 2))
    assert json.loads(stored.data or b"") == {"id": 2, "kind": "sent"}
    assert stored.subject == server.prefix + ".events.sent"
    assert (stored.headers or {}).get("Nats-Msg-Id") == "event-2"


def test_jetstream_refusals_are_explained(server: Server) -> None:
    stream = server.stream([server.prefix + ".kept.>"])
    parameters = {"operation": "jetstream_publish", "subject": server.prefix + ".kept.a"}

    no_stream = failure(server.run({**parameters, "subject": server.prefix + ".lost"}))
    wrong_stream = failure(server.run({**parameters, "expected_stream": "ELSEWHERE"}))

    assert no_stream["message"] == f"item 0: no JetStream stream captures the subject '{server.prefix}.lost'"
    assert wrong_stream["message"] == (
        f"item 0: JetStream refused the message to '{server.prefix}.kept.a': expected stream does not match "
        "(400, error 10060)"
    )
    info = server.peer.call(server.peer.client.jetstream().stream_info(stream))
    assert info.state.messages == 0


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"subject": "orders.*"}, "'orders.*' has a wildcard (* or >); send to one subject"),
        ({"subject": "orders..created"}, "has an empty token"),
        ({"subject": "orders created"}, "contains white space"),
        ({"subject": "a", "headers": {"bad name": "x"}}, "must be printable ASCII without spaces or colons"),
        ({"subject": "a", "headers": {"x": "one\r\nInjected: yes"}}, "has a line break in its value"),
        ({"subject": "a", "payload_from": "field"}, "a payload from a field needs the field's name"),
    ],
)
def test_parameters_are_checked_before_sending(server: Server, parameters: dict[str, Any], message: str) -> None:
    error = failure(server.run(parameters))

    assert message in error["message"]
    assert error["item_index"] == 0


def test_a_missing_payload_field_names_the_item_and_can_continue(server: Server) -> None:
    parameters = {"subject": server.prefix + ".x", "payload_from": "field", "payload_field": "value"}

    error = failure(server.run(parameters, [{"value": 1}, {}]))
    (entry,) = outputs(server.run(parameters, [{}], on_error="continue"))

    assert error["item_index"] == 1
    assert error["message"] == "item 1 has no field 'value' for the payload"
    assert entry["error"] == "item 0 has no field 'value' for the payload"


def test_connection_test_connects(server: Server) -> None:
    message = NatsCredential.test_connection(NatsFields.model_validate(server.credential))

    assert message.startswith(f"Connected to {server.url} (NATS ")


def test_connection_test_works_from_inside_an_event_loop(server: Server) -> None:
    async def from_async_code() -> str:
        return NatsCredential.test_connection(NatsFields.model_validate(server.credential))

    assert run_loop(from_async_code).startswith("Connected to ")


def test_connection_test_names_an_unreachable_server() -> None:
    fields = NatsFields(servers=f"nats://127.0.0.1:{free_port()}")

    with pytest.raises(NodeError, match=r"cannot connect to NATS at nats://127\.0\.0\.1:\d+: .*Connect call failed"):
        NatsCredential.test_connection(fields)


def test_server_urls_must_be_nats_urls() -> None:
    with pytest.raises(ValueError, match="'http://x:4222' must start with nats:// or tls://"):
        NatsFields(servers="nats://a:4222, http://x:4222")

    assert NatsFields(servers=" nats://a:4222 ,tls://b:4222,").urls == ["nats://a:4222", "tls://b:4222"]


@pytest.fixture
def private_server() -> Iterator[Callable[..., str]]:
    """Start nats-server processes with the given login options; each is stopped after the test."""
    binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")
    if binary is None:
        unavailable("nats-server is not installed")
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> str:
        port = free_port()
        process = subprocess.Popen(
            [str(binary), "-a", "127.0.0.1", "-p", str(port), *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return f"nats://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.02)
        raise AssertionError("the private nats-server did not start")

    yield start
    for process in started:
        process.terminate()
        process.wait(5)


def test_a_user_and_password_are_sent_and_checked(private_server: Callable[..., str]) -> None:
    url = private_server("--user", "ada", "--pass", "s3cret")

    good = NatsFields(servers=url, user="ada", password="s3cret")
    bad = NatsFields(servers=url, user="ada", password="wrong")

    assert NatsCredential.test_connection(good).startswith(f"Connected to {url}")
    with pytest.raises(NodeError, match=rf"NATS at {url} refused the login: .*Authorization Violation") as caught:
        NatsCredential.test_connection(bad)
    assert caught.value.description == "Check the credential's user and password, or its token."


def test_a_token_is_sent_and_checked_by_the_node(private_server: Callable[..., str]) -> None:
    url = private_server("--auth", "t0ken")
    parameters = {"subject": "hitl-test.token"}

    sent = run_node(
        "nats.message", parameters, credential_type="nats", host=host_for({"servers": url, "token": "t0ken"})
    )
    refused = run_node(
        "nats.message", parameters, credential_type="nats", host=host_for({"servers": url, "token": "wrong"})
    )

    assert outputs(sent) == [{"subject": "hitl-test.token", "size": 2}]
    error = failure(refused)
    assert error["message"].startswith(f"NATS at {url} refused the login: ")
    assert "wrong" not in json.dumps(error)
