"""A real HTTP server on 127.0.0.1 speaking the part of the Todoist API v1 the Todoist nodes use.

Routes (under ``/api/v1``, ``Authorization: Bearer <token>``, else 401 ``AUTH_INVALID_TOKEN``):
    ``GET /user``                               the token's user (:data:`USER`).
    ``POST /tasks``                             create: ``content`` (400 ``ARGUMENT_MISSING``), ``description``,
                                                ``project_id`` (default the Inbox), ``section_id``, ``parent_id``,
                                                ``labels``, ``priority`` 1-4, ``due_string`` (the phrases of
                                                :data:`DUE_PHRASES`, else 400 ``INVALID_DATE_FORMAT``) or
                                                ``due_date``; unknown ids are 400 ``INVALID_ARGUMENT_VALUE``.
    ``GET /tasks``                              open tasks (``project_id``, ``section_id``, ``label``).
    ``GET /tasks/filter``                       open tasks matching ``query``: terms joined by ``&`` among
                                                ``#Project``, ``@label``, ``p1``-``p4`` and ``today``; anything else is
                                                400 ``INVALID_SEARCH_QUERY``.
    ``GET|POST|DELETE /tasks/<id>``             one task (closed ones too); update; delete (204).
    ``POST /tasks/<id>/close``, ``.../reopen``  204.
Lists answer ``{"results", "next_cursor"}`` with ``limit`` (default 50, at most 200, else 400) and ``cursor``. Unknown
tasks are 404 ``NOT_FOUND``. Errors are ``{"error", "error_code", "error_extra", "error_tag", "http_code"}``. Set
:attr:`FakeTodoist.rate_limited` to answer the next that many requests with 429 and ``Retry-After``. Every request is
recorded.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "0123456789abcdef0123456789abcdef01234567"
USER = {"id": "2671355", "email": "bot@example.com", "full_name": "HITL Bot", "tz_info": {"timezone": "UTC"}}
INBOX = "6Jf8VQXxpwv56VQ7"
WORK = "6Jf8VQXxpwv56VQ8"
PROJECTS = {INBOX: "Inbox", WORK: "Work"}
SECTIONS = {"6Jf8VQXxpwv5sec1": WORK}
TODAY = "2026-01-01"
DUE_PHRASES = {
    "today": {"date": TODAY, "is_recurring": False},
    "tomorrow": {"date": "2026-01-02", "is_recurring": False},
    "tomorrow at 10": {"date": "2026-01-02T10:00:00", "is_recurring": False},
    "every monday": {"date": "2026-01-05", "is_recurring": True},
}
MAX_LIMIT = 200


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, error: str, tag: str, code: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.body = {
            "error": error,
            "error_code": code,
            "error_extra": extra or {},
            "error_tag": tag,
            "http_code": status,
        }


def _invalid(argument: str) -> _Refusal:
    return _Refusal(400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", 20, {"argument": argument})


@dataclass
class FakeTodoist:
    host: str
    port: int
    token: str = TOKEN
    tasks: list[dict[str, Any]] = field(default_factory=list)
    """Every task that was not deleted, closed ones too, in creation order."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, str]:
        """The ``todoist_api`` credential's data that reaches this server."""
        return {"token": token, "api_url": self.api_url}

    def add_task(self, content: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"content": content, **fields})

    def task(self, task_id: str) -> dict[str, Any]:
        with self.lock:
            return _task(self, task_id)

    def received(self, method: str | None = None, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_part in r.path]

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        if not str(fields.get("content") or "").strip():
            raise _Refusal(400, "Required argument is missing", "ARGUMENT_MISSING", 19, {"argument": "content"})
        project = fields.get("project_id") or INBOX
        if project not in PROJECTS:
            raise _invalid("project_id")
        section = fields.get("section_id")
        if section is not None and SECTIONS.get(section) != project:
            raise _invalid("section_id")
        parent = fields.get("parent_id")
        if parent is not None:
            _task(self, parent)
        number = next(self._ids)
        task: dict[str, Any] = {
            "id": f"6X7rM8997g{number:06d}",
            "user_id": USER["id"],
            "project_id": project,
            "section_id": section,
            "parent_id": parent,
            "added_by_uid": USER["id"],
            "responsible_uid": None,
            "content": "",
            "description": "",
            "labels": [],
            "priority": 1,
            "due": None,
            "deadline": None,
            "duration": None,
            "checked": False,
            "is_deleted": False,
            "child_order": number,
            "note_count": 0,
            "added_at": f"2026-01-01T00:00:{number % 60:02d}.000000Z",
            "completed_at": None,
            "updated_at": None,
        }
        _apply(task, fields)
        self.tasks.append(task)
        return task


def _task(fake: FakeTodoist, task_id: str) -> dict[str, Any]:
    for task in fake.tasks:
        if task["id"] == task_id:
            return task
    raise _Refusal(404, "Task not found", "NOT_FOUND", 478, {"event_id": "e0000000000000001"})


def _apply(task: dict[str, Any], fields: dict[str, Any]) -> None:
    if "content" in fields:
        if not str(fields["content"]).strip():
            raise _invalid("content")
        task["content"] = fields["content"]
    if "description" in fields:
        task["description"] = fields["description"]
    if "labels" in fields:
        if not isinstance(fields["labels"], list):
            raise _invalid("labels")
        task["labels"] = list(fields["labels"])
    if "priority" in fields:
        if fields["priority"] not in (1, 2, 3, 4):
            raise _invalid("priority")
        task["priority"] = fields["priority"]
    if "due_string" in fields:
        phrase = str(fields["due_string"]).strip().lower()
        if phrase not in DUE_PHRASES:
            raise _Refusal(400, "Date is invalid", "INVALID_DATE_FORMAT", 23, {"argument": "due_string"})
        task["due"] = {**DUE_PHRASES[phrase], "string": fields["due_string"], "lang": "en", "timezone": None}
    elif "due_date" in fields:
        task["due"] = {"date": fields["due_date"], "is_recurring": False, "string": fields["due_date"], "lang": "en"}
    task["updated_at"] = "2026-01-01T12:00:00.000000Z"


def _filter_terms(query: str) -> list[str]:
    """The ``&``-joined terms of a filter query, refusing any this fake (and its docstring) does not know."""
    terms = [raw.strip() for raw in query.split("&")]
    for term in terms:
        if not (term[:1] in ("#", "@") and len(term) > 1) and term.lower() not in ("p1", "p2", "p3", "p4", "today"):
            raise _Refusal(400, f"Invalid filter query: {term}", "INVALID_SEARCH_QUERY", 482, {"argument": "query"})
    return terms


def _matches_filter(task: dict[str, Any], terms: list[str]) -> bool:
    for term in terms:
        if term.startswith("#"):
            ok = PROJECTS.get(task["project_id"], "").lower() == term[1:].lower()
        elif term.startswith("@"):
            ok = term[1:] in task["labels"]
        elif term.lower() == "today":
            ok = bool(task["due"]) and task["due"]["date"][:10] == TODAY
        else:
            ok = task["priority"] == 5 - int(term[1])
        if not ok:
            return False
    return True


def _page(tasks: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    try:
        limit = int(query.get("limit", 50))
        start = int(query["cursor"].removeprefix("c")) if query.get("cursor") else 0
    except ValueError as err:
        raise _invalid("cursor") from err
    if not 0 < limit <= MAX_LIMIT:
        raise _invalid("limit")
    page = tasks[start : start + limit]
    following = f"c{start + limit}" if start + limit < len(tasks) else None
    return {"results": page, "next_cursor": following}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeTodoist]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
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
        body = json.loads(raw) if raw else {}
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            if limited:
                fake.rate_limited -= 1
        if limited:
            refusal = _Refusal(429, "Too many requests", "TOO_MANY_REQUESTS", 429, {"retry_after": 15})
            self._reply(429, refusal.body, {"Retry-After": "15"})
            return
        if headers.get("authorization") != f"Bearer {fake.token}":
            refusal = _Refusal(401, "Invalid token", "AUTH_INVALID_TOKEN", 401)
            self._reply(401, refusal.body)
            return
        if not parts.path.startswith("/api/v1/"):
            self._reply(404, {"error": "Not found"})
            return
        segments = [unquote(segment) for segment in parts.path.removeprefix("/api/v1/").split("/")]
        try:
            with fake.lock:
                status, data = _route(fake, self.command, segments, query, body)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, data)

    do_GET = do_POST = do_DELETE = _handle


def _route(fake: FakeTodoist, method: str, segments: list[str], query: dict[str, str], body: Any) -> tuple[int, Any]:
    if segments == ["user"] and method == "GET":
        return 200, USER
    if segments == ["tasks"] and method == "POST":
        return 200, fake._create(body)
    open_tasks = [task for task in fake.tasks if not task["checked"]]
    if segments == ["tasks"] and method == "GET":
        for name in ("project_id", "section_id"):
            if query.get(name):
                open_tasks = [task for task in open_tasks if task[name] == query[name]]
        if query.get("label"):
            open_tasks = [task for task in open_tasks if query["label"] in task["labels"]]
        return 200, _page(open_tasks, query)
    if segments == ["tasks", "filter"] and method == "GET":
        if not query.get("query", "").strip():
            raise _Refusal(400, "Required argument is missing", "ARGUMENT_MISSING", 19, {"argument": "query"})
        terms = _filter_terms(query["query"])
        return 200, _page([task for task in open_tasks if _matches_filter(task, terms)], query)
    if len(segments) < 2 or segments[0] != "tasks":
        raise _Refusal(404, "Not found", "NOT_FOUND", 404)
    task = _task(fake, segments[1])
    rest = segments[2:]
    if not rest and method == "GET":
        return 200, task
    if not rest and method == "POST":
        _apply(task, body)
        return 200, task
    if not rest and method == "DELETE":
        fake.tasks.remove(task)
        return 204, None
    if rest == ["close"] and method == "POST":
        task.update(checked=True, completed_at="2026-01-01T12:00:00.000000Z")
        return 204, None
    if rest == ["reopen"] and method == "POST":
        task.update(checked=False, completed_at=None)
        return 204, None
    raise _Refusal(404, "Not found", "NOT_FOUND", 404)


@contextmanager
def fake_todoist_server() -> Iterator[FakeTodoist]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeTodoist, name="fake-todoist") as fake:
        yield fake
