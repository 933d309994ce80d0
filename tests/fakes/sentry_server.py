"""A real HTTP server on 127.0.0.1 speaking the part of Sentry's web API the Sentry node uses.

Routes (``Authorization: Bearer <token>``, else 401 ``{"detail": "Invalid token"}``; one organization,
:data:`ORGANIZATION`, others 404):
    ``GET /api/0/organizations/<org>/``                       the organization.
    ``GET /api/0/projects/<org>/<project>/issues/``           the project's issues, most recently seen first, with
                                                              ``query`` (``is:unresolved|resolved|ignored``,
                                                              ``is:assigned|unassigned``, ``level:<level>``, other
                                                              words in the title), ``statsPeriod`` ('', 24h or 14d,
                                                              else 400), ``per_page`` (1 to 100) and ``cursor``
                                                              (``0:<offset>:0``); the ``Link`` header always has
                                                              ``rel="previous"`` and ``rel="next"`` with ``results``
                                                              saying whether that page holds anything.
    ``GET|PUT|DELETE /api/0/organizations/<org>/issues/<id>/`` one issue (404 ``The requested resource does not
                                                              exist``); update ``status`` (400 ``{"status": [...]}``
                                                              for another value), ``statusDetails``, ``assignedTo``
                                                              (``user:<id>``, a username or email, ``team:<id>``, or
                                                              empty; 400 ``Unknown actor input`` otherwise) and
                                                              ``isBookmarked``, answering the whole issue; delete, 202.
Set :attr:`FakeSentry.rate_limited` to answer the next that many requests with 429 and ``Retry-After``, and
:attr:`FakeSentry.link_base` to point ``Link`` headers at another host. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "sntrys_fakeFAKEfake0123456789abcdef"
ORGANIZATION = {"id": "11", "slug": "acme", "name": "Acme Inc."}
PROJECTS = {
    "backend": {"id": "201", "slug": "backend", "name": "Backend"},
    "web": {"id": "202", "slug": "web", "name": "Web"},
}
USERS = [{"type": "user", "id": "1234", "name": "Ada Lovelace", "username": "ada", "email": "ada@acme.test"}]
TEAMS = [{"type": "team", "id": "77", "name": "Platform"}]
STATUSES = ("resolved", "resolvedInNextRelease", "unresolved", "ignored")
STATS_PERIODS = ("", "24h", "14d")
MISSING = "The requested resource does not exist"


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


@dataclass
class FakeSentry:
    host: str
    port: int
    token: str = TOKEN
    issues: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    link_base: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN, organization: str = ORGANIZATION["slug"]) -> dict[str, Any]:
        """The ``sentry_api`` credential that reaches this server."""
        return {"token": token, "organization": organization, "api_url": self.url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_issue(self, title: str, project: str = "backend", **fields: Any) -> dict[str, Any]:
        with self.lock:
            number = len(self.issues) + 1
            issue = {
                "id": str(4000 + number),
                "shortId": f"{project.upper()}-{number:X}",
                "title": title,
                "culprit": f"app.{project}.handler",
                "permalink": f"https://acme.sentry.io/issues/{4000 + number}/",
                "level": fields.pop("level", "error"),
                "status": fields.pop("status", "unresolved"),
                "statusDetails": {},
                "isPublic": False,
                "platform": "python",
                "project": PROJECTS[project],
                "type": "error",
                "metadata": {"type": "ValueError", "value": title},
                "numComments": 0,
                "assignedTo": None,
                "isBookmarked": False,
                "isSubscribed": False,
                "hasSeen": False,
                "count": str(number * 3),
                "userCount": number,
                "firstSeen": "2026-01-01T00:00:00Z",
                "lastSeen": f"2026-01-01T{number // 3600:02d}:{number // 60 % 60:02d}:{number % 60:02d}Z",
                **fields,
            }
            self.issues.append(issue)
            return issue

    def issue(self, issue_id: str) -> dict[str, Any]:
        for issue in self.issues:
            if issue["id"] == issue_id:
                return issue
        raise _Refusal(404, {"detail": MISSING})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeSentry]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
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
        path = unquote(parts.path)
        with fake.lock:
            fake.requests.append(Received(self.command, path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            detail = "You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"
            self._reply(429, {"detail": detail}, {"Retry-After": "3"})
            return
        if headers.get("authorization") != f"Bearer {fake.token}":
            self._reply(401, {"detail": "Invalid token"})
            return
        try:
            with fake.lock:
                answer = _route(fake, self.command, path, query, body if isinstance(body, dict) else {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(*answer)

    do_GET = do_PUT = do_DELETE = _handle


ORG = re.compile(r"^/api/0/organizations/([^/]+)/(?:issues/([^/]+)/)?$")
PROJECT_ISSUES = re.compile(r"^/api/0/projects/([^/]+)/([^/]+)/issues/$")


def _route(
    fake: FakeSentry, method: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any, dict[str, str] | None]:
    found = PROJECT_ISSUES.match(path)
    if found and method == "GET":
        if found.group(1) != ORGANIZATION["slug"] or found.group(2) not in PROJECTS:
            raise _Refusal(404, {"detail": MISSING})
        return _list(fake, path, found.group(2), query)
    found = ORG.match(path)
    if not found or found.group(1) != ORGANIZATION["slug"]:
        raise _Refusal(404, {"detail": MISSING})
    if found.group(2) is None and method == "GET":
        return 200, ORGANIZATION, None
    issue = fake.issue(found.group(2))
    if method == "GET":
        return 200, issue, None
    if method == "PUT":
        return 200, _update(issue, body), None
    if method == "DELETE":
        fake.issues.remove(issue)
        return 202, None, None
    raise _Refusal(405, {"detail": f'Method "{method}" not allowed.'})


def _matches(issue: dict[str, Any], terms: list[str]) -> bool:
    for term in terms:
        key, _, value = term.partition(":")
        if key == "is" and value in ("unresolved", "resolved", "ignored"):
            if issue["status"] != value:
                return False
        elif key == "is" and value in ("assigned", "unassigned"):
            if (issue["assignedTo"] is not None) != (value == "assigned"):
                return False
        elif key == "level" and value:
            if issue["level"] != value:
                return False
        elif term.lower() not in issue["title"].lower():
            return False
    return True


def _list(fake: FakeSentry, path: str, project: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
    if query.get("statsPeriod", "24h") not in STATS_PERIODS:
        raise _Refusal(400, {"detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"})
    per_page_text = query.get("per_page", "100")
    if not per_page_text.isdigit() or not 1 <= int(per_page_text) <= 100:
        raise _Refusal(400, {"detail": "Invalid per_page parameter."})
    per_page = int(per_page_text)
    cursor = query.get("cursor", "0:0:0")
    try:
        offset = int(cursor.split(":")[1])
    except (IndexError, ValueError) as err:
        raise _Refusal(400, {"detail": "Invalid cursor parameter."}) from err
    terms = query.get("query", "").split()
    chosen = [i for i in fake.issues if i["project"]["slug"] == project and _matches(i, terms)]
    chosen.sort(key=lambda issue: issue["lastSeen"], reverse=True)
    page = chosen[offset : offset + per_page]
    if query.get("statsPeriod", "24h"):
        page = [{**issue, "stats": {query.get("statsPeriod", "24h"): [[1767225600, 1]]}} for issue in page]
    base = f"{fake.link_base or fake.url}{path}"
    rest = {name: value for name, value in query.items() if name != "cursor"}

    def link(rel: str, start: int, results: bool) -> str:
        target = f"0:{start}:{1 if rel == 'previous' else 0}"
        address = f"{base}?{urlencode({**rest, 'cursor': target})}"
        return f'<{address}>; rel="{rel}"; results="{str(results).lower()}"; cursor="{target}"'

    links = [
        link("previous", max(offset - per_page, 0), offset > 0),
        link("next", offset + per_page, offset + per_page < len(chosen)),
    ]
    return 200, page, {"Link": ", ".join(links)}


def _actor(value: str) -> dict[str, Any] | None:
    if value == "":
        return None
    kind, _, key = value.partition(":")
    if kind == "team":
        found = next((team for team in TEAMS if team["id"] == key), None)
    elif kind == "user":
        found = next((user for user in USERS if user["id"] == key), None)
    else:
        found = next((user for user in USERS if value in (user["id"], user["username"], user["email"])), None)
    if found is None:
        raise _Refusal(400, {"assignedTo": ["Unknown actor input"]})
    return {key: found[key] for key in ("type", "id", "name") if key in found} | (
        {"email": found["email"]} if "email" in found else {}
    )


def _update(issue: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    if "status" in body:
        if body["status"] not in STATUSES:
            raise _Refusal(400, {"status": [f'"{body["status"]}" is not a valid choice.']})
        if body["status"] == "resolvedInNextRelease":
            issue["status"], issue["statusDetails"] = "resolved", {"inNextRelease": True}
        else:
            issue["status"], issue["statusDetails"] = body["status"], dict(body.get("statusDetails") or {})
    if "assignedTo" in body:
        issue["assignedTo"] = _actor(str(body["assignedTo"]))
    if "isBookmarked" in body:
        issue["isBookmarked"] = bool(body["isBookmarked"])
    return issue


@contextmanager
def fake_sentry_server(token: str = TOKEN) -> Iterator[FakeSentry]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeSentry(host, port, token=token), name="fake-sentry") as fake:
        yield fake
