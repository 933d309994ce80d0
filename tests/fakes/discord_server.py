"""A real HTTP server on 127.0.0.1 speaking the part of Discord's webhook API the Discord nodes use.

Routes (``/api/webhooks/<id>/<token>``; a wrong token is 401 ``50027 Invalid Webhook Token``, an unknown id
404 ``10015 Unknown Webhook``):
    ``GET``                            the webhook object.
    ``POST [?wait=true][&thread_id=]`` execute: a JSON body, or multipart with ``payload_json`` and ``files[n]``
                                       parts; answers the message with ``wait=true``, else 204. An empty message
                                       is 400 ``50006``; content over 2000 characters or an embed title over 256
                                       is 400 ``50035 Invalid Form Body`` with Discord's nested ``errors``.
    ``PATCH /messages/<id>``           edit a message the webhook sent (404 ``10008 Unknown Message`` otherwise).
    ``DELETE /messages/<id>``          delete it: 204.
An unknown ``thread_id`` is 404 ``10003 Unknown Channel``. Set :attr:`FakeDiscord.rate_limited` to answer the
next that many requests with 429, ``retry_after`` and a ``Retry-After`` header, as Discord does. Every request is
recorded in :attr:`FakeDiscord.requests`.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import FakeServer, serve

WEBHOOK_ID = "112233445566778899"
WEBHOOK_TOKEN = "fAkE-WeBhOoK-tOkEn_0123456789abcdefghij"
CHANNEL_ID = "998877665544332211"
RETRY_AFTER = 1.5


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart part."""

    part: str
    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Received:
    """One request: method, path, query, headers (lower-cased), the JSON payload and uploaded files."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    payload: dict[str, Any]
    files: list[Upload]


class _Refusal(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def _too_long(name: str, limit: int) -> dict[str, Any]:
    return {name: {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}}


@dataclass
class FakeDiscord:
    host: str
    port: int
    webhook_id: str = WEBHOOK_ID
    token: str = WEBHOOK_TOKEN
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every message the webhook sent, by id."""
    threads: set[str] = field(default_factory=set)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def webhook_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/webhooks/{self.webhook_id}/{self.token}"

    def received(self, method: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.method == method]


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], list[Upload]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    payload: dict[str, Any] = {}
    files: list[Upload] = []
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files.append(Upload(name, str(part.get_filename()), str(part.get_content_type()), data))
        elif name == "payload_json":
            payload = json.loads(data)
    return payload, files


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeDiscord]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(self, status: int, data: Any = None, **headers: str) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        content_type = headers.get("content-type", "")
        files: list[Upload] = []
        if content_type.startswith("multipart/form-data"):
            payload, files = _multipart(content_type, body)
        else:
            payload = json.loads(body) if body else {}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, payload, files))
        try:
            status, answer = self._answer(fake, parts.path, query, payload, files)
        except _Refusal as refusal:
            if refusal.status == 429:
                self._send(429, {**refusal.body, "retry_after": RETRY_AFTER, "global": False}, Retry_After="2")
            else:
                self._send(refusal.status, refusal.body)
            return
        self._send(status, answer)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle

    def _answer(
        self, fake: FakeDiscord, path: str, query: dict[str, str], payload: dict[str, Any], files: list[Upload]
    ) -> tuple[int, Any]:
        prefix = "/api/webhooks/"
        if not path.startswith(prefix):
            raise _Refusal(404, 0, "404: Not Found")
        webhook_id, _, rest = path.removeprefix(prefix).partition("/")
        token, _, sub = rest.partition("/")
        if webhook_id != fake.webhook_id:
            raise _Refusal(404, 10015, "Unknown Webhook")
        if token != fake.token:
            raise _Refusal(401, 50027, "Invalid Webhook Token")
        with fake.lock:
            if fake.rate_limited:
                fake.rate_limited -= 1
                raise _Refusal(429, 0, "You are being rate limited.")
        thread = query.get("thread_id")
        if thread is not None and thread not in fake.threads:
            raise _Refusal(404, 10003, "Unknown Channel")
        if self.command == "GET" and not sub:
            return 200, {"id": fake.webhook_id, "type": 1, "name": "Deploy bot", "channel_id": CHANNEL_ID}
        if self.command == "POST" and not sub:
            message = self._message(payload, files, thread)
            with fake.lock:
                fake.messages[message["id"]] = message
            return (200, message) if query.get("wait") == "true" else (204, None)
        if not sub.startswith("messages/"):
            raise _Refusal(405, 0, "405: Method Not Allowed")
        message_id = sub.removeprefix("messages/")
        with fake.lock:
            stored = fake.messages.get(message_id)
            if stored is None:
                raise _Refusal(404, 10008, "Unknown Message")
            if self.command == "DELETE":
                del fake.messages[message_id]
                return 204, None
            if self.command == "PATCH":
                self._check(payload)
                stored.update({key: payload[key] for key in ("content", "embeds") if key in payload})
                stored["edited_timestamp"] = "2026-01-01T00:01:00+00:00"
                return 200, dict(stored)
            if self.command == "GET":
                return 200, dict(stored)
        raise _Refusal(405, 0, "405: Method Not Allowed")

    def _check(self, payload: dict[str, Any]) -> None:
        if len(str(payload.get("content") or "")) > 2000:
            raise _Refusal(400, 50035, "Invalid Form Body", _too_long("content", 2000))
        for number, embed in enumerate(payload.get("embeds") or []):
            if len(str(embed.get("title") or "")) > 256:
                raise _Refusal(400, 50035, "Invalid Form Body", {"embeds": {str(number): _too_long("title", 256)}})

    def _message(self, payload: dict[str, Any], files: list[Upload], thread: str | None) -> dict[str, Any]:
        if not payload.get("content") and not payload.get("embeds") and not files:
            raise _Refusal(400, 50006, "Cannot send an empty message")
        self._check(payload)
        fake = self.server.fake
        with fake.lock:
            message_id = f"12000000000000{next(fake._ids):04d}"
        return {
            "id": message_id,
            "type": 0,
            "channel_id": thread or CHANNEL_ID,
            "webhook_id": fake.webhook_id,
            "author": {
                "id": fake.webhook_id,
                "username": payload.get("username") or "Deploy bot",
                "avatar": payload.get("avatar_url"),
                "bot": True,
            },
            "content": payload.get("content") or "",
            "embeds": payload.get("embeds") or [],
            "attachments": [
                {
                    "id": f"13000000000000{index:04d}",
                    "filename": upload.file_name,
                    "size": len(upload.content),
                    "content_type": upload.content_type,
                    "url": f"https://cdn.discordapp.com/attachments/{CHANNEL_ID}/{upload.file_name}",
                }
                for index, upload in enumerate(files)
            ],
            "timestamp": "2026-01-01T00:00:00+00:00",
        }


@contextmanager
def fake_discord_server() -> Iterator[FakeDiscord]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeDiscord, name="fake-discord") as fake:
        yield fake
