"""A real HTTP server on 127.0.0.1 speaking the part of Intercom's REST API (version 2.11) the Intercom nodes use.

Routes (``Authorization: Bearer <token>``, else 401 ``unauthorized``; an ``Intercom-Version`` not in
:data:`VERSIONS` is 400 ``intercom_version_invalid``); errors are ``{"type": "error.list", "request_id",
"errors": [{"code", "message"}]}``:
    ``GET /me``                              the token's admin and workspace (:data:`ADMIN`).
    ``POST /contacts``                       create a user (needs an email or external id; a second user with the
                                             same email is 409 ``conflict``) or a lead; custom attributes must be in
                                             :attr:`FakeIntercom.attributes` (else 400 ``parameter_invalid``).
    ``GET|PUT|DELETE /contacts/<id>``        one contact; update; delete (``{"id", "type", "deleted": true}``).
    ``POST /contacts/search``                ``{"query": {field, operator, value} | {operator: AND|OR, value: [...]},
                                             "pagination": {"per_page" (up to 150), "starting_after"}}``, oldest
                                             first, with ``pages.next.starting_after`` while more remain.
    ``POST /tags``                           find or create a tag by ``name``.
    ``POST /contacts/<id>/tags``             tag a contact by tag ``id`` (404 ``tag_not_found`` for another).
Unknown contacts are 404 ``not_found``. Set :attr:`FakeIntercom.rate_limited` to answer the next that many requests
with 429 ``rate_limit_exceeded`` and ``X-RateLimit-Reset``. Every request is recorded.
"""

from __future__ import annotations

import base64
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
from urllib.parse import unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "dG9rOmZha2VfaW50ZXJjb21fdG9rZW5fMDEyMzQ1Njc4OQ=="
VERSIONS = ("2.10", "2.11", "2.12", "2.13", "Unstable")
ADMIN = {
    "type": "admin",
    "id": "991267",
    "name": "Ada Admin",
    "email": "ada@acme.test",
    "app": {"type": "app", "id_code": "abc123", "name": "Acme Support", "region": "US"},
}
RESET_AT = 1767225600
"""2026-01-01 00:00:00 UTC, when a rate-limited answer says the limit resets."""


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "type": "error.list",
            "request_id": uuid.uuid4().hex[:20],
            "errors": [{"code": code, "message": message}],
        }


def _not_found() -> _Refusal:
    return _Refusal(404, "not_found", "User Not Found")


def _matches(contact: dict[str, Any], query: dict[str, Any]) -> bool:
    operator = query.get("operator")
    if operator in ("AND", "OR"):
        results = [_matches(contact, inner) for inner in query.get("value") or []]
        return all(results) if operator == "AND" else any(results)
    name = str(query.get("field") or "")
    actual: Any = contact
    for part in name.split("."):
        actual = actual.get(part) if isinstance(actual, dict) else None
    if name == "tag_id":
        actual = [tag["id"] for tag in contact["tags"]["data"]]
    wanted = query.get("value")
    text, value = str(actual or ""), str(wanted)
    checks = {
        "=": lambda: actual == wanted,
        "!=": lambda: actual != wanted,
        "IN": lambda: (set(actual) & set(wanted)) if isinstance(actual, list) else actual in wanted,
        "NIN": lambda: actual not in wanted,
        ">": lambda: actual is not None and actual > wanted,
        "<": lambda: actual is not None and actual < wanted,
        "~": lambda: value in text,
        "!~": lambda: value not in text,
        "^": lambda: text.startswith(value),
        "$": lambda: text.endswith(value),
    }
    if operator not in checks:
        raise _Refusal(400, "parameter_invalid", f"operator {operator!r} is not supported")
    return bool(checks[operator]())


@dataclass
class FakeIntercom:
    host: str
    port: int
    token: str = TOKEN
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, Any]] = field(default_factory=dict)
    attributes: set[str] = field(default_factory=lambda: {"plan", "seats"})
    """Custom data attributes the workspace defines."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN, **options: Any) -> dict[str, Any]:
        """The ``intercom_api`` credential that reaches this server."""
        return {"access_token": token, "api_url": self.api_url, **options}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_contact(self, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"role": "user", **fields})

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        role = fields.get("role") or "user"
        if role not in ("user", "lead"):
            raise _Refusal(400, "parameter_invalid", "role must be one of user, lead")
        email = fields.get("email")
        if role == "user" and not email and not fields.get("external_id"):
            raise _Refusal(400, "parameter_invalid", "A user needs an email or an external_id")
        for other in self.contacts.values():
            if role == "user" and other["role"] == "user" and email and other["email"] == email:
                raise _Refusal(
                    409, "conflict", f"A contact matching those details already exists with id={other['id']}"
                )
        self._check_attributes(fields.get("custom_attributes") or {})
        number = next(self._ids)
        contact_id = f"6{number:023x}"
        contact = {
            "type": "contact",
            "id": contact_id,
            "workspace_id": ADMIN["app"]["id_code"],
            "external_id": fields.get("external_id"),
            "role": role,
            "email": email,
            "phone": fields.get("phone"),
            "name": fields.get("name"),
            "unsubscribed_from_emails": bool(fields.get("unsubscribed_from_emails")),
            "created_at": 1767225600 + number,
            "updated_at": 1767225600 + number,
            "custom_attributes": dict(fields.get("custom_attributes") or {}),
            "tags": {"type": "list", "data": [], "url": f"/contacts/{contact_id}/tags", "total_count": 0},
        }
        self.contacts[contact_id] = contact
        return contact

    def _check_attributes(self, attributes: dict[str, Any]) -> None:
        for name in attributes:
            if name not in self.attributes:
                raise _Refusal(400, "parameter_invalid", f"Custom attribute '{name}' does not exist")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeIntercom]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        path = unquote(urlsplit(self.path).path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, path, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        try:
            if limited:
                refusal = _Refusal(429, "rate_limit_exceeded", "Exceeded rate limit of 1000 in 10_seconds")
                self._reply(429, refusal.body, {"X-RateLimit-Limit": "1000", "X-RateLimit-Reset": str(RESET_AT)})
                return
            if headers.get("authorization") != f"Bearer {fake.token}":
                raise _Refusal(401, "unauthorized", "Access Token Invalid")
            if headers.get("intercom-version", "2.11") not in VERSIONS:
                raise _Refusal(400, "intercom_version_invalid", "Requested version is not valid")
            with fake.lock:
                status, answer = _route(fake, self.command, path, body or {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


CONTACT = re.compile(r"^/contacts/([^/]+)(/tags)?$")


def _route(fake: FakeIntercom, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    if method == "GET" and path == "/me":
        return 200, ADMIN
    if method == "POST" and path == "/contacts":
        return 200, fake._create(body)
    if method == "POST" and path == "/contacts/search":
        return 200, _search(fake, body)
    if method == "POST" and path == "/tags":
        name = str(body.get("name") or "").strip()
        if not name:
            raise _Refusal(400, "parameter_invalid", "Name is required")
        for tag in fake.tags.values():
            if tag["name"] == name:
                return 200, tag
        tag = {"type": "tag", "id": str(800 + len(fake.tags)), "name": name}
        fake.tags[tag["id"]] = tag
        return 200, tag
    found = CONTACT.match(path)
    if not found:
        raise _Refusal(404, "not_found", "Resource Not Found")
    contact = fake.contacts.get(found.group(1))
    if contact is None:
        raise _not_found()
    if found.group(2) and method == "POST":
        tag = fake.tags.get(str(body.get("id")))
        if tag is None:
            raise _Refusal(404, "tag_not_found", "Tag not found")
        if tag not in contact["tags"]["data"]:
            contact["tags"]["data"].append(tag)
            contact["tags"]["total_count"] += 1
        return 200, tag
    if found.group(2):
        raise _Refusal(404, "not_found", "Resource Not Found")
    if method == "GET":
        return 200, contact
    if method == "PUT":
        fake._check_attributes(body.get("custom_attributes") or {})
        for name in ("email", "external_id", "name", "phone", "unsubscribed_from_emails", "role"):
            if name in body:
                contact[name] = body[name]
        contact["custom_attributes"].update(body.get("custom_attributes") or {})
        contact["updated_at"] += 1
        return 200, contact
    if method == "DELETE":
        del fake.contacts[contact["id"]]
        return 200, {"id": contact["id"], "external_id": contact["external_id"], "type": "contact", "deleted": True}
    raise _Refusal(404, "not_found", "Resource Not Found")


def _search(fake: FakeIntercom, body: dict[str, Any]) -> dict[str, Any]:
    query = body.get("query")
    if not isinstance(query, dict):
        raise _Refusal(400, "parameter_not_found", "query parameter is required")
    pagination = body.get("pagination") or {}
    per_page = int(pagination.get("per_page") or 50)
    if not 1 <= per_page <= 150:
        raise _Refusal(400, "parameter_invalid", "per_page must be between 1 and 150")
    start = 0
    if pagination.get("starting_after"):
        try:
            start = int(base64.b64decode(pagination["starting_after"]).decode().removeprefix("offset:"))
        except ValueError as err:
            raise _Refusal(400, "parameter_invalid", "starting_after is invalid") from err
    matches = sorted((c for c in fake.contacts.values() if _matches(c, query)), key=lambda c: c["created_at"])
    chunk = matches[start : start + per_page]
    total_pages = max(1, -(-len(matches) // per_page))
    pages: dict[str, Any] = {"type": "pages", "page": start // per_page + 1, "per_page": per_page}
    pages["total_pages"] = total_pages
    if start + per_page < len(matches):
        cursor = base64.b64encode(f"offset:{start + per_page}".encode()).decode()
        pages["next"] = {"page": pages["page"] + 1, "starting_after": cursor}
    return {"type": "list", "data": chunk, "total_count": len(matches), "pages": pages}


@contextmanager
def fake_intercom_server(token: str = TOKEN) -> Iterator[FakeIntercom]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeIntercom(host, port, token=token), name="fake-intercom") as fake:
        yield fake
