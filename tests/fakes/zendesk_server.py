"""A real HTTP server on 127.0.0.1 speaking the part of the Zendesk REST API v2 the Zendesk nodes use.

Routes (basic auth ``<email>/token:<api token>``, else 401 ``{"error": "Couldn't authenticate you"}``):
    ``GET /api/v2/users/me.json``                 the agent (:data:`AGENT`).
    ``GET|POST /api/v2/tickets.json``             list with cursor pagination (``page[size]`` up to 100,
                                                  ``page[after]``; ``meta.has_more``, ``links.next``), or create from
                                                  ``{"ticket": {...}}`` (422 ``RecordInvalid`` without a comment, for
                                                  an unknown status, priority or type, or a malformed requester email).
    ``GET|PUT|DELETE /api/v2/tickets/<id>.json``  one ticket; update (a ``comment`` is added with its ``public`` flag,
                                                  ``tags`` replace, ``additional_tags``/``remove_tags`` edit; a closed
                                                  ticket is 422); delete, 204.
    ``GET /api/v2/search/export.json``            ``query=status:<status>`` with ``filter[type]=ticket`` (else 400),
                                                  cursor-paged like the list (``page[size]`` up to 1000).
Unknown tickets are 404 ``RecordNotFound``. Set :attr:`FakeZendesk.rate_limited` to answer the next that many requests
with 429 and ``Retry-After``, and :attr:`FakeZendesk.link_base` to point ``links.next`` at another host. Every request
is recorded, with the requester users and every comment.
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
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

EMAIL = "agent@acme.test"
API_TOKEN = "zdFAKEtoken0123456789abcdefABCDEF0123456"
AGENT = {"id": 9001, "name": "Ada Agent", "email": EMAIL, "role": "admin"}
CREATED = "2026-01-01T00:00:00Z"
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("question", "incident", "problem", "task")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _invalid(field_name: str, description: str, error: str = "InvalidValue") -> _Refusal:
    return _Refusal(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {field_name: [{"description": description, "error": error}]},
        },
    )


def _not_found() -> _Refusal:
    return _Refusal(404, {"error": "RecordNotFound", "description": "Not found"})


def _cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{ticket_id}".encode()).decode()


def _after(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("id:"))
    except ValueError as err:
        raise _Refusal(400, {"error": "InvalidPaginationParameter", "description": "Invalid page[after]"}) from err


@dataclass
class FakeZendesk:
    host: str
    port: int
    email: str = EMAIL
    api_token: str = API_TOKEN
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    """End users by email, as requesters add them."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    link_base: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _other_ids: Iterator[int] = field(default_factory=lambda: itertools.count(5001))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, api_token: str = API_TOKEN, email: str = EMAIL) -> dict[str, Any]:
        """The ``zendesk_api`` credential that reaches this server (its full address as the subdomain)."""
        return {"subdomain": self.base_url, "email": email, "api_token": api_token}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_ticket(self, subject: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"subject": subject, "comment": {"body": f"About {subject}"}, **fields})

    def _requester(self, given: Any) -> int:
        if not given:
            return int(AGENT["id"])
        email = str(given.get("email") or "").strip().lower()
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise _invalid("requester", f"Requester: Email {email} is not properly formatted")
        if email not in self.users:
            self.users[email] = {"id": next(self._other_ids), "email": email, "name": given.get("name") or email}
        return int(self.users[email]["id"])

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        comment = fields.get("comment") or {}
        if not str(comment.get("body") or "").strip():
            raise _invalid("description", "Description: cannot be blank", "BlankValue")
        _check_choices(fields)
        ticket_id = next(self._ids)
        ticket = {
            "id": ticket_id,
            "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
            "subject": fields.get("subject"),
            "description": comment["body"],
            "status": fields.get("status") or "new",
            "priority": fields.get("priority"),
            "type": fields.get("type"),
            "tags": _tags(fields.get("tags") or []),
            "custom_fields": [{"id": f["id"], "value": f["value"]} for f in fields.get("custom_fields") or []],
            "requester_id": self._requester(fields.get("requester")),
            "submitter_id": AGENT["id"],
            "assignee_id": None,
            "created_at": CREATED,
            "updated_at": CREATED,
        }
        self.tickets[ticket_id] = ticket
        self.comments[ticket_id] = []
        self._comment(ticket_id, comment)
        return ticket

    def _comment(self, ticket_id: int, comment: dict[str, Any]) -> None:
        entry = {"id": next(self._other_ids), "body": comment["body"], "public": comment.get("public", True)}
        self.comments[ticket_id].append({**entry, "author_id": AGENT["id"]})


def _tags(tags: list[str]) -> list[str]:
    # Zendesk stores tags lower-cased, without duplicates.
    return list(dict.fromkeys(str(tag).lower() for tag in tags))


def _check_choices(fields: dict[str, Any]) -> None:
    for name, allowed in (("status", STATUSES), ("priority", PRIORITIES), ("type", TYPES)):
        value = fields.get(name)
        if value is not None and value not in allowed:
            raise _invalid(name, f"{name.capitalize()}: {value} is not valid")


def _audit(ticket: dict[str, Any]) -> dict[str, Any]:
    return {"id": 700000 + ticket["id"], "ticket_id": ticket["id"], "created_at": CREATED, "author_id": AGENT["id"]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeZendesk]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
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
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            answer = {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            }
            self._reply(429, answer, {"Retry-After": "7"})
            return
        expected = "Basic " + base64.b64encode(f"{fake.email}/token:{fake.api_token}".encode()).decode()
        if headers.get("authorization") != expected:
            self._reply(401, {"error": "Couldn't authenticate you"})
            return
        try:
            with fake.lock:
                status, answer = _route(fake, self.command, parts.path, query, body or {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


TICKET = re.compile(r"^/api/v2/tickets/(\d+)\.json$")


def _route(fake: FakeZendesk, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    if method == "GET" and path == "/api/v2/users/me.json":
        return 200, {"user": AGENT}
    if path == "/api/v2/tickets.json" and method == "POST":
        ticket = fake._create(body.get("ticket") or {})
        return 201, {"ticket": ticket, "audit": _audit(ticket)}
    if path == "/api/v2/tickets.json" and method == "GET":
        return 200, _page(fake, path, "tickets", list(fake.tickets.values()), query, 100)
    if path == "/api/v2/search/export.json" and method == "GET":
        if query.get("filter[type]") != "ticket":
            raise _Refusal(400, {"error": "InvalidSearchParameter", "description": "filter[type] is required"})
        wanted = re.findall(r"status:(\w+)", query.get("query", ""))
        found = [{**t, "result_type": "ticket"} for t in fake.tickets.values() if not wanted or t["status"] in wanted]
        return 200, {**_page(fake, path, "results", found, query, 1000), "facets": None}
    found = TICKET.match(path)
    if not found:
        raise _Refusal(404, {"error": "InvalidEndpoint", "description": "Not found"})
    ticket = fake.tickets.get(int(found.group(1)))
    if ticket is None:
        raise _not_found()
    if method == "GET":
        return 200, {"ticket": ticket}
    if method == "PUT":
        return 200, {"ticket": _update(fake, ticket, body.get("ticket") or {}), "audit": _audit(ticket)}
    if method == "DELETE":
        del fake.tickets[ticket["id"]]
        return 204, None
    raise _Refusal(404, {"error": "InvalidEndpoint", "description": "Not found"})


def _update(fake: FakeZendesk, ticket: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    if ticket["status"] == "closed":
        raise _invalid("status", "Status: closed prevents ticket update")
    _check_choices(changes)
    comment = changes.get("comment")
    if comment is not None and not str(comment.get("body") or "").strip():
        raise _invalid("comment", "Comment: cannot be blank", "BlankValue")
    for name in ("subject", "status", "priority", "type"):
        if name in changes:
            ticket[name] = changes[name]
    if "tags" in changes:
        ticket["tags"] = _tags(changes["tags"])
    ticket["tags"] = _tags([*ticket["tags"], *changes.get("additional_tags", [])])
    removed = {str(tag).lower() for tag in changes.get("remove_tags", [])}
    ticket["tags"] = [tag for tag in ticket["tags"] if tag not in removed]
    if "custom_fields" in changes:
        values = {f["id"]: f["value"] for f in ticket["custom_fields"]}
        values.update({f["id"]: f["value"] for f in changes["custom_fields"]})
        ticket["custom_fields"] = [{"id": key, "value": value} for key, value in values.items()]
    if comment is not None:
        fake._comment(ticket["id"], comment)
        if ticket["status"] == "new":
            ticket["status"] = "open"
    ticket["updated_at"] = "2026-01-02T00:00:00Z"
    return ticket


def _page(
    fake: FakeZendesk, path: str, key: str, entries: list[dict[str, Any]], query: dict[str, str], most: int
) -> dict[str, Any]:
    size_text = query.get("page[size]", "100")
    if not size_text.isdigit() or not 1 <= int(size_text) <= most:
        description = f"page[size] must be a number from 1 to {most}"
        raise _Refusal(400, {"error": "InvalidPaginationParameter", "description": description})
    size = int(size_text)
    ordered = sorted(entries, key=lambda entry: entry["id"])
    if query.get("page[after]"):
        after = _after(query["page[after]"])
        ordered = [entry for entry in ordered if entry["id"] > after]
    chunk = ordered[:size]
    more = len(ordered) > size
    after_cursor = _cursor(chunk[-1]["id"]) if chunk else None
    following = None
    if more and after_cursor:
        base = fake.link_base or fake.base_url
        rest = {name: value for name, value in query.items() if name != "page[after]"}
        following = f"{base}{path}?{urlencode({**rest, 'page[after]': after_cursor})}"
    return {
        key: chunk,
        "meta": {
            "has_more": more,
            "after_cursor": after_cursor,
            "before_cursor": _cursor(chunk[0]["id"]) if chunk else None,
        },
        "links": {"next": following, "prev": None},
    }


@contextmanager
def fake_zendesk_server(email: str = EMAIL, api_token: str = API_TOKEN) -> Iterator[FakeZendesk]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(
        _Handler, lambda host, port: FakeZendesk(host, port, email=email, api_token=api_token), name="fake-zendesk"
    ) as fake:
        yield fake
