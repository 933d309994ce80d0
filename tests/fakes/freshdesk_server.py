"""A real HTTP server on 127.0.0.1 speaking the part of the Freshdesk API v2 the Freshdesk nodes use.

Routes (HTTP basic ``<api key>:X``, else 401 ``{"code": "invalid_credentials", "message"}``), under ``/api/v2``:
    ``GET /agents/me``                        the key's agent (:data:`AGENT`).
    ``GET|POST /tickets``                     list (``filter`` new_and_my_open, watching, spam or deleted; else the
                                              tickets created in the 30 days before :data:`NOW`, or those updated at
                                              or after ``updated_since``; ``order_by``, ``order_type``; ``page`` and
                                              ``per_page`` up to 100, with ``Link: <…>; rel="next"``), or create
                                              (400 ``{"description": "Validation failed", "errors": [{"field",
                                              "message", "code"}]}`` without a requester, subject or description, for
                                              a malformed email, a priority, status or source out of range, or a
                                              custom field not in :attr:`FakeFreshdesk.custom_fields`).
    ``GET|PUT|DELETE /tickets/<id>``          one ticket; update; delete (to the trash: ``deleted``), 204.
    ``POST /tickets/<id>/reply``              a reply to the requester, 201.
    ``POST /tickets/<id>/notes``              a private or public note, 201.
Unknown tickets are 404 with an empty body. Set :attr:`FakeFreshdesk.rate_limited` to answer the next that many
requests with 429 and ``Retry-After``, and :attr:`FakeFreshdesk.link_base` to point ``Link`` headers at another
host. Every request is recorded, with every conversation (replies and notes) of each ticket.
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
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "fdFAKEkey0123456789ab"
PREFIX = "/api/v2"
AGENT = {"id": 43, "available": True, "contact": {"name": "Ada Agent", "email": "ada@acme.test"}}
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
"""The fake's present: the default list holds the tickets created in the 30 days before it."""
SOURCES = (1, 2, 3, 7, 9, 10)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; ``path`` below ``/api/v2``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, body: dict[str, Any] | None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _invalid(*problems: tuple[str, str, str]) -> _Refusal:
    errors = [{"field": name, "message": message, "code": code} for name, message, code in problems]
    return _Refusal(400, {"description": "Validation failed", "errors": errors})


@dataclass
class FakeFreshdesk:
    host: str
    port: int
    api_key: str = API_KEY
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    """Contact ids by email, as new requesters add them."""
    custom_fields: set[str] = field(default_factory=lambda: {"cf_order_number"})
    watching: set[int] = field(default_factory=set)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    link_base: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _other_ids: Iterator[int] = field(default_factory=lambda: itertools.count(5001))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, api_key: str = API_KEY) -> dict[str, Any]:
        """The ``freshdesk_api`` credential that reaches this server (its full address as the domain)."""
        return {"domain": self.base_url, "api_key": api_key}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_ticket(self, subject: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            extra = {name: fields.pop(name) for name in ("created_at", "updated_at", "spam") if name in fields}
            base = {"email": "customer@example.com", "description": f"<p>About {subject}</p>", "priority": 1}
            ticket = self._create({**base, "status": 2, "source": 2, "subject": subject, **fields})
            ticket.update(extra)
            return ticket

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        problems = []
        email = fields.get("email")
        if not fields.get("requester_id") and not email:
            problems.append(
                (
                    "requester_id",
                    "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, "
                    "unique_external_id fields",
                    "missing_field",
                )
            )
        if email and not EMAIL.fullmatch(str(email)):
            problems.append(("email", "It should be in the 'valid email address' format", "invalid_value"))
        for name in ("subject", "description"):
            if not str(fields.get(name) or "").strip():
                problems.append((name, "It should be a/an String", "missing_field"))
        problems.extend(self._check(fields))
        if problems:
            raise _invalid(*problems)
        ticket_id = next(self._ids)
        requester = fields.get("requester_id") or self.contacts.setdefault(str(email).lower(), next(self._other_ids))
        created = stamp(NOW - timedelta(hours=ticket_id))
        ticket = {
            "id": ticket_id,
            "subject": fields["subject"],
            "description": fields["description"],
            "description_text": re.sub(r"<[^>]+>", "", fields["description"]),
            "status": fields.get("status", 2),
            "priority": fields.get("priority", 1),
            "source": fields.get("source", 2),
            "type": fields.get("type"),
            "tags": list(fields.get("tags") or []),
            "custom_fields": {name: None for name in sorted(self.custom_fields)} | (fields.get("custom_fields") or {}),
            "requester_id": requester,
            "responder_id": fields.get("responder_id"),
            "group_id": fields.get("group_id"),
            "cc_emails": list(fields.get("cc_emails") or []),
            "spam": False,
            "deleted": False,
            "created_at": created,
            "updated_at": created,
        }
        self.tickets[ticket_id] = ticket
        self.conversations[ticket_id] = []
        return ticket

    def _check(self, fields: dict[str, Any]) -> list[tuple[str, str, str]]:
        problems = []
        for name, allowed in (("priority", (1, 2, 3, 4)), ("status", (2, 3, 4, 5)), ("source", SOURCES)):
            if name in fields and fields[name] not in allowed:
                listed = ",".join(str(value) for value in allowed)
                problems.append((name, f"It should be one of these values: '{listed}'", "invalid_value"))
        for name in fields.get("custom_fields") or {}:
            if name not in self.custom_fields:
                problems.append((name, "Unexpected/invalid field in request", "invalid_field"))
        return problems

    def _conversation(self, ticket: dict[str, Any], body: dict[str, Any], kind: str) -> dict[str, Any]:
        text = str(body.get("body") or "")
        if not text.strip():
            raise _invalid(("body", "It should be a/an String", "missing_field"))
        entry = {
            "id": next(self._other_ids),
            "body": text,
            "body_text": re.sub(r"<[^>]+>", "", text),
            "ticket_id": ticket["id"],
            "user_id": AGENT["id"],
            "created_at": stamp(NOW),
        }
        if kind == "reply":
            entry.update(from_email="support@acme.test", cc_emails=list(body.get("cc_emails") or []), private=False)
        else:
            entry.update(private=bool(body.get("private", True)), notified_to=list(body.get("notify_emails") or []))
        self.conversations[ticket["id"]].append({**entry, "kind": kind})
        return entry


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeFreshdesk]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = parts.path.removeprefix(PREFIX)
        with fake.lock:
            fake.requests.append(Received(self.command, path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            message = "You have exceeded the limit of requests per minute. Please try again after sometime."
            self._reply(429, {"message": message}, {"Retry-After": "30"})
            return
        user = ""
        if headers.get("authorization", "").startswith("Basic "):
            user = base64.b64decode(headers["authorization"].removeprefix("Basic ")).decode().partition(":")[0]
        if user != fake.api_key:
            self._reply(
                401, {"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}
            )
            return
        try:
            with fake.lock:
                status, answer, extra = _route(fake, self.command, path, query, body or {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer, extra)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


TICKET = re.compile(r"^/tickets/(\d+)(/reply|/notes)?$")


def _route(
    fake: FakeFreshdesk, method: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any, dict[str, str] | None]:
    if method == "GET" and path == "/agents/me":
        return 200, AGENT, None
    if path == "/tickets" and method == "POST":
        return 201, fake._create(body), None
    if path == "/tickets" and method == "GET":
        return _list(fake, query)
    found = TICKET.match(path)
    ticket = fake.tickets.get(int(found.group(1))) if found else None
    if found is None or ticket is None:
        raise _Refusal(404, None)
    action = found.group(2)
    if action == "/reply" and method == "POST":
        return 201, fake._conversation(ticket, body, "reply"), None
    if action == "/notes" and method == "POST":
        return 201, fake._conversation(ticket, body, "note"), None
    if action is None and method == "GET":
        return 200, ticket, None
    if action is None and method == "PUT":
        problems = fake._check(body)
        if problems:
            raise _invalid(*problems)
        for name, value in body.items():
            if name == "custom_fields":
                ticket["custom_fields"].update(value)
            else:
                ticket[name] = value
        ticket["updated_at"] = stamp(NOW)
        return 200, ticket, None
    if action is None and method == "DELETE":
        ticket["deleted"] = True
        return 204, None, None
    raise _Refusal(404, None)


def _list(fake: FakeFreshdesk, query: dict[str, str]) -> tuple[int, Any, dict[str, str] | None]:
    per_page, page = query.get("per_page", "30"), query.get("page", "1")
    if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
        raise _invalid(("per_page", "It should be a Positive Integer less than or equal to 100", "invalid_value"))
    view = query.get("filter")
    if view is not None and "updated_since" in query:
        raise _invalid(("filter", "filter and updated_since cannot be used together", "incompatible_field"))
    tickets = list(fake.tickets.values())
    if view == "spam":
        chosen = [t for t in tickets if t["spam"] and not t["deleted"]]
    elif view == "deleted":
        chosen = [t for t in tickets if t["deleted"]]
    elif view == "watching":
        chosen = [t for t in tickets if t["id"] in fake.watching and not t["deleted"]]
    elif view == "new_and_my_open":
        chosen = [
            t
            for t in tickets
            if t["status"] == 2 and t["responder_id"] in (None, AGENT["id"]) and not t["deleted"] and not t["spam"]
        ]
    elif view is None:
        since = query.get("updated_since")
        if since:
            cutoff = datetime.fromisoformat(since)
            chosen = [t for t in tickets if datetime.fromisoformat(t["updated_at"]) >= cutoff]
        else:
            chosen = [t for t in tickets if datetime.fromisoformat(t["created_at"]) >= NOW - timedelta(days=30)]
        chosen = [t for t in chosen if not t["deleted"] and not t["spam"]]
    else:
        raise _invalid(
            ("filter", "It should be one of these values: 'new_and_my_open,watching,spam,deleted'", "invalid_value")
        )
    order_by = query.get("order_by", "created_at")
    chosen.sort(key=lambda t: (t[order_by], t["id"]), reverse=query.get("order_type", "desc") == "desc")
    size, number = int(per_page), int(page)
    chunk = chosen[(number - 1) * size : number * size]
    headers: dict[str, str] = {}
    if number * size < len(chosen):
        base = fake.link_base or fake.base_url
        following = urlencode({**query, "page": number + 1})
        headers["Link"] = f'<{base}{PREFIX}/tickets?{following}>; rel="next"'
    return 200, chunk, headers


@contextmanager
def fake_freshdesk_server(api_key: str = API_KEY) -> Iterator[FakeFreshdesk]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeFreshdesk(host, port, api_key=api_key), name="fake-freshdesk") as fake:
        yield fake
