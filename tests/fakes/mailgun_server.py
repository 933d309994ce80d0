"""A real HTTP server on 127.0.0.1 speaking the part of Mailgun's v3 API the Mailgun node uses.

Routes (HTTP basic auth ``api:<key>``, else 401 with the plain-text body ``Forbidden``, as Mailgun answers):
    ``GET /v3/domains/<domain>``        the domain (``name``, ``state``).
    ``POST /v3/<domain>/messages``      a form, or multipart with ``attachment`` files: ``from``, ``to`` (repeated
                                        or comma-separated), ``cc``, ``bcc``, ``subject``, ``text``, ``html``,
                                        ``o:tag`` (at most 3), ``o:testmode``, ``h:*``; 400 with Mailgun's message
                                        for a missing ``from``/``to``/body or an invalid address; 200 ``{"id",
                                        "message": "Queued. Thank you."}``. Each accepted message is in
                                        :attr:`FakeMailgun.sent` and logs an ``accepted`` event.
    ``GET /v3/<domain>/events``         newest first (``ascending=yes``: oldest), ``event``, ``recipient``,
                                        ``begin``/``end`` (Unix timestamps or RFC 2822 dates, else 400),
                                        ``limit`` (over 300 is 400);
                                        ``{"items", "paging": {"next", "previous", "first", "last"}}``. The next
                                        link is always there (``/v3/<domain>/events/<token>``); past the last event
                                        it leads to an empty page.
Unknown domains are 404 ``{"message": "Domain not found: <domain>"}``. Set :attr:`FakeMailgun.rate_limited` to
answer the next that many requests with 429. Every request is recorded.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import getaddresses, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "key-fakeFAKEfake0123456789abcdef"
DOMAIN = "mg.example.com"
MAX_LIMIT = 300
_START = 1767258000.0
"""2026-01-01 09:00 UTC: the first event's timestamp; each next one is a minute later."""


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart part."""

    field: str
    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; form fields as their values per name)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, list[str]]
    files: list[Upload]


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"message": message}


@dataclass
class FakeMailgun:
    host: str
    port: int
    domains: set[str] = field(default_factory=lambda: {DOMAIN})
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Each accepted message: its ``id``, ``form`` and ``files``."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every event, oldest first."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_event(self, event: str, recipient: str, subject: str = "Hello") -> dict[str, Any]:
        with self.lock:
            return self._event(event, recipient, f"<seed.{len(self.events) + 1}@{DOMAIN}>", subject, [])

    def received(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _event(self, event: str, recipient: str, message_id: str, subject: str, tags: list[str]) -> dict[str, Any]:
        count = len(self.events) + 1
        entry = {
            "id": f"ev{count:08d}",
            "event": event,
            "timestamp": _START + 60 * (count - 1),
            "recipient": recipient,
            "tags": tags,
            "message": {"headers": {"message-id": message_id.strip("<>"), "subject": subject}},
        }
        self.events.append(entry)
        return dict(entry)


def _form(content_type: str, body: bytes) -> tuple[dict[str, list[str]], list[Upload]]:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        form: dict[str, list[str]] = {}
        files: list[Upload] = []
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            data = part.get_payload(decode=True) or b""
            if part.get_filename():
                files.append(Upload(name, str(part.get_filename()), str(part.get_content_type()), data))
            else:
                form.setdefault(name, []).append(data.decode())
        return form, files
    return parse_qs(body.decode(), keep_blank_values=True), []


def _recipients(values: list[str], name: str) -> list[str]:
    found = []
    for value in values:
        for _, address in getaddresses([value]):
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise _Refusal(400, f"{name} parameter is not a valid address. please check documentation")
            found.append(address.lower())
    return found


def _moment(query: dict[str, Any], name: str, default: float) -> float:
    """A ``begin`` or ``end`` as a Unix timestamp; Mailgun takes those and RFC 2822 dates."""
    value = str(query.get(name, "")).strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError) as err:
        raise _Refusal(400, f"'{name}' parameter is not a valid datetime: {value}") from err


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeMailgun]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, content_type: str = "application/json") -> None:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        form, files = _form(headers.get("content-type", ""), raw) if raw else ({}, [])
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, form, files))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            self._reply(429, {"message": "Too many requests"})
            return
        if headers.get("authorization") != "Basic " + base64.b64encode(f"api:{API_KEY}".encode()).decode():
            self._reply(401, b"Forbidden", "text/plain; charset=utf-8")
            return
        try:
            with fake.lock:
                self._reply(200, self._route(fake, parts.path, query, form, files))
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)

    do_GET = do_POST = _handle

    def _route(
        self, fake: FakeMailgun, path: str, query: dict[str, str], form: dict[str, list[str]], files: list[Upload]
    ) -> Any:
        segments = path.strip("/").split("/")
        if self.command == "GET" and segments[:2] == ["v3", "domains"] and len(segments) == 3:
            return {"domain": {"name": self._domain(fake, segments[2]), "state": "active"}, "sending_dns_records": []}
        if len(segments) < 3 or segments[0] != "v3":
            raise _Refusal(404, "Not Found")
        domain = self._domain(fake, segments[1])
        if self.command == "POST" and segments[2:] == ["messages"]:
            return self._send(fake, domain, form, files)
        if self.command == "GET" and segments[2] == "events" and len(segments) <= 4:
            if len(segments) == 4:
                query = json.loads(base64.urlsafe_b64decode(segments[3]))
            return self._events(fake, domain, query)
        raise _Refusal(404, "Not Found")

    def _domain(self, fake: FakeMailgun, name: str) -> str:
        if name not in fake.domains:
            raise _Refusal(404, f"Domain not found: {name}")
        return name

    def _send(self, fake: FakeMailgun, domain: str, form: dict[str, list[str]], files: list[Upload]) -> Any:
        if not form.get("from"):
            raise _Refusal(400, "'from' parameter is missing")
        if not form.get("to"):
            raise _Refusal(400, "'to' parameter is missing")
        recipients = _recipients(form["to"], "to")
        for key in ("cc", "bcc"):
            recipients += _recipients(form.get(key, []), key)
        if not form.get("text") and not form.get("html"):
            raise _Refusal(400, "Need at least one of 'text', 'html' or 'template' parameters specified")
        tags = form.get("o:tag", [])
        if len(tags) > 3:
            raise _Refusal(400, "Too many tags: at most 3 are allowed per message")
        message_id = f"<20260101090000.{next(fake._ids)}@{domain}>"
        fake.sent.append({"id": message_id, "form": form, "files": files})
        for recipient in recipients:
            fake._event("accepted", recipient, message_id, (form.get("subject") or [""])[0], tags)
        return {"id": message_id, "message": "Queued. Thank you."}

    def _events(self, fake: FakeMailgun, domain: str, query: dict[str, Any]) -> Any:
        limit = int(query.get("limit", 100))
        if limit > MAX_LIMIT:
            raise _Refusal(400, f"Limit is too big: {limit}; max allowed is {MAX_LIMIT}")
        found = [
            event
            for event in fake.events
            if query.get("event", event["event"]) == event["event"]
            and query.get("recipient", event["recipient"]).lower() == event["recipient"]
            and _moment(query, "begin", 0) <= event["timestamp"] <= _moment(query, "end", 1e12)
        ]
        if query.get("ascending") != "yes":
            found.reverse()
        offset = int(query.get("offset", 0))
        chunk = found[offset : offset + limit]

        def link(at: int) -> str:
            token = base64.urlsafe_b64encode(json.dumps({**query, "offset": at}).encode()).decode()
            return f"{fake.api_url}/v3/{domain}/events/{token}"

        return {
            "items": [dict(event) for event in chunk],
            "paging": {
                "first": link(0),
                "last": link(max(len(found) - limit, 0)),
                "next": link(offset + len(chunk)),
                "previous": link(max(offset - limit, 0)),
            },
        }


@contextmanager
def fake_mailgun_server() -> Iterator[FakeMailgun]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeMailgun, name="fake-mailgun") as fake:
        yield fake
