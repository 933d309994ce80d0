"""A real HTTP server on 127.0.0.1 speaking the part of Pushover's API the Pushover node uses.

Routes (the application token as the ``token`` form field or query parameter; an unknown one is 400
``{"token": "invalid", "errors": ["application token is invalid"], "status": 0}``):
    ``POST /1/messages.json``       a form, or multipart with an ``attachment`` image: ``user`` (a key of
                                    :attr:`FakePushover.users`, else 400 ``{"user": "invalid"}``), ``message``
                                    (required, at most 1024 characters), ``title``, ``priority`` (-2..2; 2 needs
                                    ``retry`` >= 30 and ``expire`` <= 10800 and answers a ``receipt``),
                                    ``device`` (the user's devices, else 400 ``{"device": "invalid"}``), ``sound``,
                                    ``url``, ``url_title``, ``html``, ``callback``; 200 ``{"status": 1, "request"}``.
                                    Each accepted notification is in :attr:`FakePushover.pushed`.
    ``GET /1/apps/limits.json``     ``{"limit", "remaining", "reset", "status": 1}``.
Errors are Pushover's ``{"<param>": "invalid", "errors": [...], "status": 0, "request"}`` with HTTP 400. Set
:attr:`FakePushover.remaining` to 0 to answer messages with 429 (the monthly limit is used up). Every request
is recorded.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
USER = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
DEVICES = ("iphone", "pixel")
LIMIT = 10_000
RESET = 1769904000
SOUNDS = frozenset({"pushover", "bike", "bugle", "cashregister", "classical", "cosmic", "siren", "none"})


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart part."""

    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; the form's single values by name)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    files: dict[str, Upload]


class _Refusal(Exception):
    def __init__(self, status: int, errors: list[str], invalid: str = "") -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.body: dict[str, Any] = {"errors": errors, "status": 0, "request": str(uuid.uuid4())}
        if invalid:
            self.body[invalid] = "invalid"


@dataclass
class FakePushover:
    host: str
    port: int
    users: dict[str, tuple[str, ...]] = field(default_factory=lambda: {USER: DEVICES})
    """User keys and each one's devices."""
    pushed: list[dict[str, Any]] = field(default_factory=list)
    """Each accepted notification's form (without the token), its ``request`` id and its ``attachment``."""
    remaining: int = LIMIT - 2504
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def received(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]


def _form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        form: dict[str, str] = {}
        files: dict[str, Upload] = {}
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            data = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = Upload(str(part.get_filename()), str(part.get_content_type()), data)
            else:
                form[name] = data.decode()
        return form, files
    return {name: values[0] for name, values in parse_qs(body.decode(), keep_blank_values=True).items()}, {}


def _check(fake: FakePushover, form: dict[str, str], files: dict[str, Upload]) -> str | None:
    """The receipt of an emergency notification, after refusing what Pushover refuses."""
    devices = fake.users.get(form.get("user", ""))
    if devices is None:
        raise _Refusal(400, ["user identifier is not a valid user, group, or subscribed user key"], "user")
    message = form.get("message", "")
    if not message.strip():
        raise _Refusal(400, ["message cannot be blank"], "message")
    if len(message) > 1024:
        raise _Refusal(400, ["message cannot be longer than 1024 characters"], "message")
    for device in filter(None, form.get("device", "").split(",")):
        if device not in devices:
            raise _Refusal(400, [f"device name is not valid for user: {device}"], "device")
    if form.get("sound") and form["sound"] not in SOUNDS:
        raise _Refusal(400, ["sound is invalid"], "sound")
    priority = int(form.get("priority", "0"))
    if not -2 <= priority <= 2:
        raise _Refusal(400, ["priority is invalid"], "priority")
    attachment = files.get("attachment")
    if attachment is not None and not attachment.content_type.startswith("image/"):
        raise _Refusal(400, ["attachment must be an image"], "attachment")
    if priority != 2:
        return None
    if int(form.get("retry", "0")) < 30:
        raise _Refusal(400, ["retry must be at least 30 seconds"], "retry")
    if not 0 < int(form.get("expire", "0")) <= 10800:
        raise _Refusal(400, ["expire must be supplied with priority=2 and at most 10800 seconds"], "expire")
    return f"r{next(fake._ids):029d}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakePushover]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
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
        headers = {name.lower(): value for name, value in self.headers.items()}
        form, files = _form(headers.get("content-type", ""), raw) if raw else ({}, {})
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, form, files))
        try:
            if form.get("token", query.get("token")) != TOKEN:
                raise _Refusal(400, ["application token is invalid"], "token")
            with fake.lock:
                self._reply(*self._route(fake, parts.path, form, files))
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)

    do_GET = do_POST = _handle

    def _route(
        self, fake: FakePushover, path: str, form: dict[str, str], files: dict[str, Upload]
    ) -> tuple[int, Any, dict[str, str]]:
        request = str(uuid.UUID(int=next(fake._ids)))
        limits = {"X-Limit-App-Limit": str(LIMIT), "X-Limit-App-Reset": str(RESET)}
        if self.command == "GET" and path == "/1/apps/limits.json":
            return (
                200,
                {"limit": LIMIT, "remaining": fake.remaining, "reset": RESET, "status": 1, "request": request},
                {},
            )
        if self.command == "POST" and path == "/1/messages.json":
            if fake.remaining <= 0:
                raise _Refusal(429, ["application has exceeded its monthly message limit"])
            receipt = _check(fake, form, files)
            fake.remaining -= 1
            accepted = {key: value for key, value in form.items() if key != "token"}
            fake.pushed.append({**accepted, "request": request, "attachment": files.get("attachment")})
            answer: dict[str, Any] = {"status": 1, "request": request}
            if receipt:
                answer["receipt"] = receipt
            return 200, answer, {**limits, "X-Limit-App-Remaining": str(fake.remaining)}
        raise _Refusal(404, ["not found"])


@contextmanager
def fake_pushover_server() -> Iterator[FakePushover]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakePushover, name="fake-pushover") as fake:
        yield fake
