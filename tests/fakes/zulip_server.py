"""A real HTTP server on 127.0.0.1 speaking the part of Zulip's REST API the Zulip node uses.

Routes (under ``/api/v1``, HTTP basic auth with the bot's email and API key, else 401 ``INVALID_API_KEY``; form
bodies):
    ``GET /users/me``                   the bot.
    ``POST /messages``                  ``type`` stream (or channel) with ``to`` a stream's name or id and
                                        ``topic``, or private (or direct) with ``to`` a JSON list of emails or user
                                        ids; ``content``. Unknown streams are 400 ``STREAM_DOES_NOT_EXIST``,
                                        unknown people 400 ``BAD_REQUEST``; answers ``{"id"}``.
    ``GET /messages/<id>``              ``{"message", "raw_content"}``; ``apply_markdown=false`` gives the content
                                        as written, otherwise as HTML.
    ``PATCH /messages/<id>``            ``content``, ``topic`` and ``propagate_mode``; only the bot's own messages.
    ``DELETE /messages/<id>``           only the bot's own messages.
Unknown message ids are 400 ``BAD_REQUEST`` ``Invalid message(s)``, as Zulip answers; other paths under
``/api/v1`` are 404. Errors are Zulip's ``{"result": "error", "msg", "code"}``. Set :attr:`FakeZulip.rate_limited`
to answer the next that many requests with 429 ``RATE_LIMIT_HIT`` and ``Retry-After``. Every request is recorded.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import FakeServer, serve

BOT_EMAIL = "hitl-bot@example.zulipchat.com"
API_KEY = "fakeZulipKey0123456789abcdefABCD"
BOT = {"user_id": 9, "email": BOT_EMAIL, "full_name": "HITL Bot", "is_bot": True}
PEOPLE = {10: "ada@example.com", 11: "grace@example.com"}
STREAMS = {1: "general", 2: "ops"}
RETRY_AFTER = 2.5


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; the form's single values by name)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"result": "error", "msg": message, "code": code, **extra}


@dataclass
class FakeZulip:
    host: str
    port: int
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Every message by id; ``content`` as written."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(101))

    @property
    def server_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_message(self, stream: str, topic: str, content: str, sender: str = BOT_EMAIL) -> dict[str, Any]:
        """A stream message, sent by the bot unless ``sender`` says who."""
        with self.lock:
            return dict(self._new("stream", stream, topic, content, sender))

    def received(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _new(self, kind: str, recipient: Any, topic: str, content: str, sender: str) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "id": message_id,
            "type": kind,
            "sender_email": sender,
            "sender_full_name": "HITL Bot" if sender == BOT_EMAIL else sender,
            "display_recipient": recipient,
            "subject": topic,
            "content": content,
            "timestamp": 1767258000 + message_id,
        }
        if kind == "stream":
            message["stream_id"] = next(key for key, name in STREAMS.items() if name == recipient)
        self.messages[message_id] = message
        return message


def _stream(to: str) -> str:
    name = STREAMS.get(int(to)) if to.isdigit() else (to if to in STREAMS.values() else None)
    if name is None:
        raise _Refusal(400, "STREAM_DOES_NOT_EXIST", f"Channel '{to}' does not exist", stream=to)
    return name


def _people(to: str) -> list[dict[str, Any]]:
    try:
        wanted = json.loads(to)
    except ValueError as err:
        raise _Refusal(400, "BAD_REQUEST", "Invalid 'to' argument: not a JSON list") from err
    found = []
    for entry in wanted if isinstance(wanted, list) else [wanted]:
        if isinstance(entry, int) and entry in PEOPLE:
            found.append({"id": entry, "email": PEOPLE[entry]})
        elif isinstance(entry, str) and entry in PEOPLE.values():
            found.append({"id": next(k for k, v in PEOPLE.items() if v == entry), "email": entry})
        else:
            kind = "user ID" if isinstance(entry, int) else "email"
            raise _Refusal(400, "BAD_REQUEST", f"Invalid {kind} '{entry}'")
    return found


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeZulip]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        form = {name: values[0] for name, values in parse_qs(raw.decode(), keep_blank_values=True).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, form))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if not parts.path.startswith("/api/v1/"):
            # Zulip serves its web app's HTML for other paths.
            body = b"<!doctype html><title>Zulip</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        try:
            if limited:
                raise _Refusal(429, "RATE_LIMIT_HIT", "API usage exceeded rate limit", **{"retry-after": RETRY_AFTER})
            expected = "Basic " + base64.b64encode(f"{BOT_EMAIL}:{API_KEY}".encode()).decode()
            if headers.get("authorization") != expected:
                raise _Refusal(401, "INVALID_API_KEY", "Invalid API key")
            with fake.lock:
                answer = self._route(fake, parts.path.removeprefix("/api/v1"), query, form)
        except _Refusal as refusal:
            extra = {"Retry-After": str(RETRY_AFTER)} if refusal.status == 429 else None
            self._reply(refusal.status, refusal.body, extra)
            return
        self._reply(200, {"result": "success", "msg": "", **answer})

    do_GET = do_POST = do_PATCH = do_DELETE = _handle

    def _route(self, fake: FakeZulip, path: str, query: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        if self.command == "GET" and path == "/users/me":
            return dict(BOT)
        if self.command == "POST" and path == "/messages":
            return {"id": self._send(fake, form)["id"]}
        segments = path.strip("/").split("/")
        if len(segments) != 2 or segments[0] != "messages" or not segments[1].isdigit():
            raise _Refusal(404, "BAD_REQUEST", "Not Found")
        message = fake.messages.get(int(segments[1]))
        if message is None:
            raise _Refusal(400, "BAD_REQUEST", "Invalid message(s)")
        if self.command == "GET":
            shown = dict(message)
            if query.get("apply_markdown", "true") != "false":
                shown["content"] = f"<p>{html.escape(message['content'])}</p>"
            return {"message": shown, "raw_content": message["content"]}
        if message["sender_email"] != BOT_EMAIL:
            verb = "edit" if self.command == "PATCH" else "delete"
            raise _Refusal(400, "BAD_REQUEST", f"You don't have permission to {verb} this message")
        if self.command == "PATCH":
            self._update(fake, message, form)
            return {"detached_uploads": []}
        if self.command == "DELETE":
            del fake.messages[message["id"]]
            return {}
        raise _Refusal(404, "BAD_REQUEST", "Not Found")

    def _send(self, fake: FakeZulip, form: dict[str, str]) -> dict[str, Any]:
        if not form.get("content", "").strip():
            raise _Refusal(400, "BAD_REQUEST", "Message must not be empty")
        kind = form.get("type")
        if kind in ("stream", "channel"):
            if not form.get("topic", "").strip():
                raise _Refusal(400, "BAD_REQUEST", "Topic can't be empty!")
            return fake._new("stream", _stream(form.get("to", "")), form["topic"], form["content"], BOT_EMAIL)
        if kind in ("private", "direct"):
            return fake._new("private", _people(form.get("to", "")), "", form["content"], BOT_EMAIL)
        raise _Refusal(400, "BAD_REQUEST", "Invalid message type")

    def _update(self, fake: FakeZulip, message: dict[str, Any], form: dict[str, str]) -> None:
        if "content" in form:
            message["content"] = form["content"]
        if "topic" not in form:
            return
        if message["type"] != "stream":
            raise _Refusal(400, "BAD_REQUEST", "Direct messages cannot have topics.")
        mode = form.get("propagate_mode", "change_one")
        old = message["subject"]
        for other in fake.messages.values():
            same_topic = other.get("stream_id") == message["stream_id"] and other["subject"] == old
            if other is message or (
                same_topic and (mode == "change_all" or (mode == "change_later" and other["id"] > message["id"]))
            ):
                other["subject"] = form["topic"]


@contextmanager
def fake_zulip_server() -> Iterator[FakeZulip]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeZulip, name="fake-zulip") as fake:
        yield fake
