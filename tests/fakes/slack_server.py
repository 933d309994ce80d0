"""A real HTTP server on 127.0.0.1 speaking the part of Slack's Web API the studio uses.

Methods (``POST /api/<method>``, JSON or form bodies, ``Authorization: Bearer <token>``):
    ``chat.postMessage``  needs ``channel``; a user id (``U…``) is answered with that user's DM
                          channel (``D…``), and a fresh ``ts``.
    ``chat.update``       needs ``channel`` and ``ts`` of a message it posted, else ``message_not_found``.
Anything else is ``unknown_method`` unless :attr:`FakeSlack.extension` answers it (GET works too, with the
arguments in the query, as Slack's read methods are called); a wrong token is ``invalid_auth``, no token ``not_authed``
(all with HTTP 200 and ``{"ok": false, "error": …}``, as Slack answers).

Also ``POST /response/<id>`` stands in for an interaction's ``response_url``.

Every call is recorded (:attr:`FakeSlack.calls`); set :attr:`FakeSlack.fail_with` to make
``chat.postMessage`` answer with that error code instead.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.serving import FakeServer, serve

BOT_TOKEN = "xoxb-fake-bot-token"


class SlackExtension(Protocol):
    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to an authenticated call of ``method``, or ``None`` for one it does not know."""
        ...

    def upload(self, path: str, body: bytes) -> dict[str, Any]:
        """Take the bytes POSTed to an upload URL the extension handed out."""
        ...


@dataclass(frozen=True)
class SlackCall:
    """One Web API call: the method, its arguments (JSON-decoded where Slack would) and headers."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    host: str
    port: int
    token: str = BOT_TOKEN
    calls: list[SlackCall] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    """Bodies POSTed to ``/response/...`` (the interactions' ``response_url``)."""
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """The current text and blocks of every posted message, by (channel, ts)."""
    fail_with: str | None = None
    extension: SlackExtension | None = None
    """More of the Web API (and ``POST /upload/...``), e.g. :class:`tests.fakes.slack_workspace.SlackWorkspace`."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://{self.host}:{self.port}/response/{name}"

    def called(self, method: str) -> list[SlackCall]:
        with self.lock:
            return [call for call in self.calls if call.method == method]


def _decode(value: Any) -> Any:
    """Form-encoded ``blocks`` arrive as JSON text; decode it like Slack does."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeSlack]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _args(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/json"):
            data = json.loads(body or b"{}")
            return data if isinstance(data, dict) else {}
        return {name: _decode(value) for name, value in parse_qsl(body.decode(), keep_blank_values=True)}

    def do_POST(self) -> None:
        fake = self.server.fake
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        if path.startswith("/response/"):
            with fake.lock:
                fake.replies.append(json.loads(body or b"{}"))
            self._json({"ok": True})
            return
        if path.startswith("/upload/") and fake.extension is not None:
            self._json(fake.extension.upload(path, body))
            return
        self._call(fake, path.removeprefix("/api/"), self._args(headers, body), headers)

    def do_GET(self) -> None:
        """Slack's read methods (``conversations.list``...) come as GET with the arguments in the query."""
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        args = {name: _decode(value) for name, value in parse_qsl(parts.query, keep_blank_values=True)}
        self._call(self.server.fake, parts.path.removeprefix("/api/"), args, headers)

    def _call(self, fake: FakeSlack, method: str, args: dict[str, Any], headers: dict[str, str]) -> None:
        with fake.lock:
            fake.calls.append(SlackCall(method, args, headers))
        self._json(self._answer(fake, method, args, headers))

    def _answer(self, fake: FakeSlack, method: str, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        if not auth:
            return {"ok": False, "error": "not_authed"}
        if auth != f"Bearer {fake.token}":
            return {"ok": False, "error": "invalid_auth"}
        if method == "chat.postMessage":
            channel = str(args.get("channel") or "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if fake.fail_with:
                return {"ok": False, "error": fake.fail_with}
            if channel.startswith("U"):
                channel = "D" + channel[1:]
            with fake.lock:
                ts = f"1700000000.{next(fake._counter):06d}"
                fake.messages[(channel, ts)] = {"text": args.get("text"), "blocks": args.get("blocks")}
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text")}}
        if method == "chat.update":
            key = (str(args.get("channel") or ""), str(args.get("ts") or ""))
            with fake.lock:
                if key not in fake.messages:
                    return {"ok": False, "error": "message_not_found"}
                fake.messages[key] = {"text": args.get("text"), "blocks": args.get("blocks")}
            return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text")}
        answer = fake.extension.answer(method, args) if fake.extension is not None else None
        return answer if answer is not None else {"ok": False, "error": "unknown_method"}


@contextmanager
def fake_slack_server(token: str = BOT_TOKEN) -> Iterator[FakeSlack]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeSlack(host, port, token=token), name="fake-slack") as fake:
        yield fake
