"""A real HTTP server on 127.0.0.1 speaking the part of Twilio's REST API (2010-04-01) the Twilio node uses.

Routes (under ``/2010-04-01/Accounts/<AccountSid>``, HTTP basic auth with the Account SID and Auth Token or an
API key SID and secret, else 401 error 20003 ``Authenticate``; another account's SID in the path is 401 too):
    ``GET .json``                           the account (``friendly_name``, ``status``).
    ``POST /Messages.json``                 form fields ``To`` (E.164, optionally ``whatsapp:``, else 400 error
                                            21211), ``From`` (one of :attr:`FakeTwilio.numbers`, else 400 error
                                            21606) or ``MessagingServiceSid``, ``Body`` and/or repeated
                                            ``MediaUrl`` (neither: 400 error 21602), ``StatusCallback``; a
                                            WhatsApp ``To`` with an SMS ``From`` is 400 error 21910; 201 with the
                                            message, ``queued``.
    ``GET /Messages.json``                  newest first; ``To``, ``From``, ``DateSent``, ``DateSent>`` and
                                            ``DateSent<`` (days, inclusive); ``PageSize`` (at most 1000), ``Page``
                                            and ``PageToken``; ``next_page_uri`` keeps the filters.
    ``GET|DELETE /Messages/<sid>.json``     one message; DELETE answers 204; unknown SIDs are 404 error 20404.
Errors are Twilio's ``{"code", "message", "more_info", "status"}``. Set :attr:`FakeTwilio.rate_limited` to answer
the next that many requests with 429 error 20429. Every request is recorded, form bodies as lists per field.
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
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
API_KEY_SID = "SK" + "fedcba9876543210" * 2
API_KEY_SECRET = "fake-api-key-secret-0123456789"
NUMBER = "+15017122661"
MESSAGING_SERVICE_SID = "MG" + "00112233445566778899aabbccddeeff"
API_VERSION = "2010-04-01"
MAX_PAGE_SIZE = 1000
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; a form body as its values per field)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, list[str]]


class _Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }


@dataclass
class FakeTwilio:
    host: str
    port: int
    numbers: set[str] = field(default_factory=lambda: {NUMBER, "whatsapp:" + NUMBER})
    """The senders the account owns."""
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every message, by SID, in the order they were sent."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_message(self, to: str, sender: str, body: str, sent: datetime | None = None) -> dict[str, Any]:
        """A message as if sent earlier; each one a minute after the last unless ``sent`` says when."""
        with self.lock:
            return self._new(to, sender, body, [], sent, status="delivered")

    def received(self, method: str, path_end: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(path_end)]

    def _new(
        self, to: str, sender: str | None, body: str, media: list[str], sent: datetime | None, status: str
    ) -> dict[str, Any]:
        count = next(self._ids)
        sid = f"SM{count:032x}"
        when = format_datetime(sent or _START + timedelta(minutes=count), usegmt=False)
        uri = f"/{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages/{sid}"
        message = {
            "account_sid": ACCOUNT_SID,
            "api_version": API_VERSION,
            "body": body,
            "date_created": when,
            "date_sent": when,
            "date_updated": when,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": str(len(media)),
            "num_segments": str(max(1, -(-len(body) // 160))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        self.messages[sid] = message
        return message


def _sent_day(message: dict[str, Any]) -> date:
    return datetime.strptime(message["date_sent"], "%a, %d %b %Y %H:%M:%S %z").date()


def _day(query: dict[str, str], name: str) -> date | None:
    if not query.get(name):
        return None
    try:
        return date.fromisoformat(query[name][:10])
    except ValueError as err:
        raise _Refusal(400, 20001, f"Invalid {name}: {query[name]}") from err


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeTwilio]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        form = parse_qs(raw.decode(), keep_blank_values=True) if raw else {}
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, form))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        try:
            if limited:
                raise _Refusal(429, 20429, "Too Many Requests")
            account = f"/{API_VERSION}/Accounts/{ACCOUNT_SID}"
            if not _signed_in(headers.get("authorization", "")) or not parts.path.startswith(account):
                raise _Refusal(401, 20003, "Authenticate")
            with fake.lock:
                status, answer = self._route(fake, parts.path.removeprefix(account), query, form)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_DELETE = _handle

    def _route(self, fake: FakeTwilio, path: str, query: dict[str, str], form: dict[str, list[str]]) -> tuple[int, Any]:
        if self.command == "GET" and path == ".json":
            return 200, {"sid": ACCOUNT_SID, "friendly_name": "HITL Studio", "status": "active", "type": "Full"}
        if path == "/Messages.json" and self.command == "POST":
            return 201, self._send_message(fake, form)
        if path == "/Messages.json" and self.command == "GET":
            return 200, self._list(fake, query)
        match = re.fullmatch(r"/Messages/([A-Za-z0-9]+)\.json", path)
        if match:
            message = fake.messages.get(match[1])
            if message is None:
                raise _Refusal(
                    404,
                    20404,
                    f"The requested resource /{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages/{match[1]}.json "
                    "was not found",
                )
            if self.command == "GET":
                return 200, message
            if self.command == "DELETE":
                del fake.messages[match[1]]
                return 204, None
        raise _Refusal(404, 20404, f"The requested resource {path} was not found")

    def _send_message(self, fake: FakeTwilio, form: dict[str, list[str]]) -> dict[str, Any]:
        to = (form.get("To") or [""])[0]
        service = (form.get("MessagingServiceSid") or [""])[0]
        sender = (form.get("From") or [""])[0]
        body = (form.get("Body") or [""])[0]
        media = form.get("MediaUrl") or []
        if not _E164.match(to.removeprefix("whatsapp:")):
            raise _Refusal(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if service:
            if service != MESSAGING_SERVICE_SID:
                raise _Refusal(404, 20404, f"The requested resource /Services/{service} was not found")
            sender = NUMBER
        elif sender not in fake.numbers:
            raise _Refusal(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone number or short code "
                "for your account.",
            )
        if to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            raise _Refusal(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
        if not body and not media:
            raise _Refusal(400, 21602, "Message body is required.")
        message = fake._new(to, None if service else sender, body, media, None, status="queued")
        if service:
            message["messaging_service_sid"] = service
        return message

    def _list(self, fake: FakeTwilio, query: dict[str, str]) -> dict[str, Any]:
        on, after, before = _day(query, "DateSent"), _day(query, "DateSent>"), _day(query, "DateSent<")
        found = [
            message
            for message in reversed(fake.messages.values())
            if query.get("To", message["to"]) == message["to"]
            and query.get("From", message["from"]) == message["from"]
            and (on is None or _sent_day(message) == on)
            and (after is None or _sent_day(message) >= after)
            and (before is None or _sent_day(message) <= before)
        ]
        size = min(int(query.get("PageSize", "50")), MAX_PAGE_SIZE)
        page = int(query.get("Page", "0"))
        chunk = found[page * size : (page + 1) * size]
        base = f"/{API_VERSION}/Accounts/{ACCOUNT_SID}/Messages.json"
        filters = {name: value for name, value in query.items() if name not in ("Page", "PageSize", "PageToken")}
        following = None
        if (page + 1) * size < len(found):
            token = f"PASM{chunk[-1]['sid'][2:]}"
            following = f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': page + 1, 'PageToken': token})}"
        return {
            "messages": chunk,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0),
            "uri": f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': page})}",
            "first_page_uri": f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': 0})}",
            "previous_page_uri": None,
            "next_page_uri": following,
        }


def _signed_in(authorization: str) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return (user, secret) in ((ACCOUNT_SID, AUTH_TOKEN), (API_KEY_SID, API_KEY_SECRET))


@contextmanager
def fake_twilio_server() -> Iterator[FakeTwilio]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeTwilio, name="fake-twilio") as fake:
        yield fake
