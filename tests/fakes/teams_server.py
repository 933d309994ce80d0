"""A real HTTP server on 127.0.0.1 standing in for Microsoft Teams' incoming webhooks and Workflows URLs.

Routes (``POST``, JSON bodies):
    ``/webhookb2/<id>/IncomingWebhook/<key>``  an incoming webhook connector: 200 ``1`` for a message with
        ``text`` or Adaptive Card ``attachments``; 400 with Teams' sentences for an empty (``Summary or Text is
        required.``) or unreadable body (``Bad payload received by generic incoming webhook.``) and for a card
        that is not ``"type": "AdaptiveCard"``. An unknown id or key is 404 with a text body. When
        :attr:`FakeTeams.throttled` is set, answers 200 with ``Microsoft Teams endpoint returned HTTP error 429
        with ContextId ...``, as connectors do when Teams throttles the channel behind them.
    ``/workflows/<id>/triggers/manual/paths/invoke?sig=<sig>``  a Workflows (Power Automate) trigger: 202 with no
        body for a message with Adaptive Card ``attachments``; a wrong ``sig`` is 401 and a message without a card
        400 (``{"error": {"code", "message"}}``, as Power Automate answers); :attr:`FakeTeams.rate_limited` answers
        the next that many requests with 429 and ``Retry-After``.
Every request is recorded in :attr:`FakeTeams.requests`; the messages taken, in :attr:`FakeTeams.posted`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import FakeServer, serve

WEBHOOK_ID = "2f9c7c6e-0000-4000-8000-000000000001@72f988bf-0000-4000-8000-000000000002"
WEBHOOK_KEY = "b1e3f6c2d4a54f0e9d8c7b6a5f4e3d2c"
WORKFLOW_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
WORKFLOW_SIG = "FakeSig_0123456789abcdefABCDEF"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
RETRY_AFTER = "30"


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeTeams:
    host: str
    port: int
    requests: list[Received] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    throttled: bool = False
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def webhook_url(self) -> str:
        return f"http://{self.host}:{self.port}/webhookb2/{WEBHOOK_ID}/IncomingWebhook/{WEBHOOK_KEY}"

    @property
    def workflow_url(self) -> str:
        return (
            f"http://{self.host}:{self.port}/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke"
            f"?api-version=1&sig={WORKFLOW_SIG}"
        )


def _cards(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The Adaptive Cards of a message, or ``None`` when an attachment is not one."""
    cards = []
    for attachment in message.get("attachments") or []:
        content = attachment.get("content") if isinstance(attachment, dict) else None
        if attachment.get("contentType") != CARD_TYPE or not isinstance(content, dict):
            return None
        if content.get("type") != "AdaptiveCard":
            return None
        cards.append(content)
    return cards


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeTeams]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(
        self, status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str, **headers: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self._send(status, body, "application/json; charset=utf-8", **headers)

    def do_POST(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(parts.path, query, headers, body))
        try:
            message = json.loads(body)
        except ValueError:
            message = None
        if parts.path == f"/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke":
            self._workflow(fake, query, message)
        elif parts.path == f"/webhookb2/{WEBHOOK_ID}/IncomingWebhook/{WEBHOOK_KEY}":
            self._connector(fake, message)
        else:
            self._send(404, b"Webhook not found or connector removed.")

    def _connector(self, fake: FakeTeams, message: Any) -> None:
        if not isinstance(message, dict):
            self._send(400, b"Bad payload received by generic incoming webhook.")
            return
        if not str(message.get("text") or "").strip() and not message.get("attachments"):
            self._send(400, b"Summary or Text is required.")
            return
        if message.get("attachments") and _cards(message) is None:
            self._send(400, b"Webhook Bad Request - Invalid Adaptive Card attachment.")
            return
        if fake.throttled:
            text = "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi-fake-1,cv=x."
            self._send(200, text.encode())
            return
        with fake.lock:
            fake.posted.append(message)
        self._send(200, b"1")

    def _workflow(self, fake: FakeTeams, query: dict[str, str], message: Any) -> None:
        if query.get("sig") != WORKFLOW_SIG:
            self._error(
                401,
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            )
            return
        with fake.lock:
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            self._error(429, "WorkflowRequestsThrottled", "Rate limit is exceeded.", Retry_After=RETRY_AFTER)
            return
        if not isinstance(message, dict) or not message.get("attachments") or not _cards(message):
            self._error(400, "InvalidRequestContent", "The message must have an Adaptive Card in 'attachments'.")
            return
        with fake.lock:
            fake.posted.append(message)
        self._send(202)


@contextmanager
def fake_teams_server() -> Iterator[FakeTeams]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeTeams, name="fake-teams") as fake:
        yield fake
