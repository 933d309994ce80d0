"""A real HTTP server on 127.0.0.1 speaking the part of the Mailchimp Marketing API 3.0 the Mailchimp nodes use.

Routes (HTTP basic with any user name and the API key as password, else 401 ``API Key Invalid``), under ``/3.0``;
refusals are ``application/problem+json`` ``{"type", "title", "status", "detail", "instance"[, "errors"]}``:
    ``GET /``                                             the account (:data:`ACCOUNT`).
    ``GET /lists/<list>/members``                         contacts, ``status`` filter (archived ones only when asked
                                                          for), ``count`` (up to 1000) and ``offset``, with
                                                          ``total_items``.
    ``GET|PUT|DELETE /lists/<list>/members/<hash>``       one contact; add or update (the hash must be the MD5 of the
                                                          lower-cased ``email_address``; a new contact needs
                                                          ``status_if_new``; a fake-looking email, a missing required
                                                          merge field unless ``skip_merge_validation=true``, or a
                                                          permanently deleted contact are 400); archive, 204.
    ``POST /lists/<list>/members/<hash>/tags``            ``{"tags": [{"name", "status": active|inactive}]}``, 204.
    ``POST /lists/<list>/members/<hash>/actions/delete-permanent``   forget the contact, 204.
Unknown audiences and contacts are 404 ``Resource Not Found``. Set :attr:`FakeMailchimp.rate_limited` to answer the
next that many requests with 429 ``Too Many Requests``. Every request is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "0123456789abcdef0123456789abcdef-us21"
PREFIX = "/3.0"
ACCOUNT = {"account_id": "8d3a3db4d97663a9074efcc16", "account_name": "Acme Newsletter", "email": "owner@acme.test"}
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"


def md5(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; ``path`` below ``/3.0``)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.body: dict[str, Any] = {
            "type": ERROR_DOCS,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": str(uuid.uuid4()),
        }
        if errors is not None:
            self.body["errors"] = errors


def _not_found() -> _Refusal:
    return _Refusal(404, "Resource Not Found", "The requested resource could not be found.")


@dataclass
class Audience:
    id: str
    required_merge_fields: set[str] = field(default_factory=set)
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)
    """Hashes of contacts deleted permanently."""


@dataclass
class FakeMailchimp:
    host: str
    port: int
    api_key: str = API_KEY
    audiences: dict[str, Audience] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(501))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    def credential(self, api_key: str = API_KEY) -> dict[str, Any]:
        """The ``mailchimp_api`` credential that reaches this server."""
        return {"api_key": api_key, "api_url": self.api_url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_audience(self, list_id: str, *, required: tuple[str, ...] = ()) -> Audience:
        with self.lock:
            audience = Audience(list_id, set(required))
            self.audiences[list_id] = audience
            return audience

    def add_member(self, audience: Audience, email: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            tags = fields.pop("tags", [])
            member = self._new_member(audience, email, fields.pop("status", "subscribed"), fields)
            self._tag(member, [{"name": name, "status": "active"} for name in tags])
            return member

    def _new_member(self, audience: Audience, email: str, status: str, fields: dict[str, Any]) -> dict[str, Any]:
        number = next(self._ids)
        member = {
            "id": md5(email),
            "email_address": email,
            "unique_email_id": f"u{number:09d}",
            "contact_id": f"c{number:09d}",
            "web_id": number,
            "email_type": "html",
            "status": status,
            "merge_fields": dict(fields.get("merge_fields") or {}),
            "interests": dict(fields.get("interests") or {}),
            "tags_count": 0,
            "tags": [],
            "list_id": audience.id,
            "timestamp_signup": "2026-01-01T10:00:00+00:00",
            "last_changed": "2026-01-01T10:00:00+00:00",
        }
        audience.members[member["id"]] = member
        return member

    def _tag(self, member: dict[str, Any], tags: list[dict[str, Any]]) -> None:
        names = [tag["name"] for tag in member["tags"]]
        for tag in tags:
            name = str(tag.get("name") or "").strip()
            if not name:
                raise _Refusal(
                    400,
                    "Invalid Resource",
                    "The resource submitted could not be validated.",
                    [{"field": "tags", "message": "A tag name cannot be blank."}],
                )
            if tag.get("status") == "inactive":
                names = [existing for existing in names if existing != name]
            elif name not in names:
                names.append(name)
        member["tags"] = [{"id": 100 + sum(map(ord, name)), "name": name} for name in names]
        member["tags_count"] = len(names)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeMailchimp]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, problem: bool = False) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/problem+json" if problem else "application/json")
        self.send_header("Content-Length", str(len(body)))
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
        path = unquote(parts.path).removeprefix(PREFIX)
        with fake.lock:
            fake.requests.append(Received(self.command, path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        try:
            if limited:
                raise _Refusal(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.")
            authorization = headers.get("authorization", "")
            password = ""
            if authorization.startswith("Basic "):
                password = base64.b64decode(authorization.removeprefix("Basic ")).decode().partition(":")[2]
            if password != fake.api_key:
                raise _Refusal(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
                )
            with fake.lock:
                status, answer = _route(fake, self.command, path, query, body or {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body, problem=True)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


MEMBER = re.compile(r"^/lists/([^/]+)/members(?:/([^/]+)(/tags|/actions/delete-permanent)?)?$")


def _route(fake: FakeMailchimp, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    if method == "GET" and path in ("", "/"):
        return 200, ACCOUNT
    found = MEMBER.match(path)
    if not found or found.group(1) not in fake.audiences:
        raise _not_found()
    audience = fake.audiences[found.group(1)]
    hashed, action = found.group(2), found.group(3)
    if hashed is None and method == "GET":
        return 200, _list(audience, query)
    if hashed is None:
        raise _not_found()
    if method == "PUT" and action is None:
        return 200, _put(fake, audience, hashed, query, body)
    member = audience.members.get(hashed)
    if member is None:
        raise _not_found()
    if method == "GET" and action is None:
        return 200, member
    if method == "DELETE" and action is None:
        member["status"] = "archived"
        return 204, None
    if method == "POST" and action == "/tags":
        fake._tag(member, body.get("tags") or [])
        return 204, None
    if method == "POST" and action == "/actions/delete-permanent":
        del audience.members[hashed]
        audience.forgotten.add(hashed)
        return 204, None
    raise _not_found()


def _put(
    fake: FakeMailchimp, audience: Audience, hashed: str, query: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    email = str(body.get("email_address") or "")
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", email):
        raise _Refusal(400, "Invalid Resource", f"{email} looks fake or invalid, please enter a real email address.")
    if md5(email) != hashed:
        raise _Refusal(400, "Invalid Resource", "The subscriber hash does not match the email address.")
    if hashed in audience.forgotten:
        raise _Refusal(
            400,
            "Forgotten Email Not Subscribed",
            f"{email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back "
            "on the list.",
        )
    for name in ("status", "status_if_new"):
        if body.get(name) not in (None, *STATUSES[:-1]):
            raise _Refusal(
                400,
                "Invalid Resource",
                "The resource submitted could not be validated.",
                [{"field": name, "message": "Value is not one of the allowed values."}],
            )
    member = audience.members.get(hashed)
    merge_fields = body.get("merge_fields") or {}
    if member is None:
        if not body.get("status_if_new"):
            raise _Refusal(
                400,
                "Invalid Resource",
                "The resource submitted could not be validated.",
                [{"field": "status_if_new", "message": "This value should not be blank."}],
            )
        missing = sorted(audience.required_merge_fields - set(merge_fields))
        if missing and query.get("skip_merge_validation") != "true":
            raise _Refusal(
                400,
                "Invalid Resource",
                "Your merge fields were invalid.",
                [{"field": name, "message": "Please enter a value"} for name in missing],
            )
        return fake._new_member(audience, email, body.get("status") or body["status_if_new"], body)
    member["merge_fields"].update(merge_fields)
    member["interests"].update(body.get("interests") or {})
    if body.get("status"):
        member["status"] = body["status"]
    member["last_changed"] = "2026-01-02T10:00:00+00:00"
    return member


def _list(audience: Audience, query: dict[str, str]) -> dict[str, Any]:
    count, offset = query.get("count", "10"), query.get("offset", "0")
    if not count.isdigit() or not 1 <= int(count) <= 1000 or not offset.isdigit():
        raise _Refusal(
            400,
            "Invalid Resource",
            "The resource submitted could not be validated.",
            [{"field": "count", "message": "count must be between 1 and 1000."}],
        )
    status = query.get("status")
    chosen = [
        member
        for member in audience.members.values()
        if member["status"] == status or (status is None and member["status"] != "archived")
    ]
    start = int(offset)
    return {
        "members": chosen[start : start + int(count)],
        "list_id": audience.id,
        "total_items": len(chosen),
        "_links": [],
    }


@contextmanager
def fake_mailchimp_server(api_key: str = API_KEY) -> Iterator[FakeMailchimp]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeMailchimp(host, port, api_key=api_key), name="fake-mailchimp") as fake:
        yield fake
