"""A real HTTP server on 127.0.0.1 speaking the part of ClickUp's API v2 the ClickUp node uses.

Routes (``Authorization: <token>``, the token itself; else 401 ``Token invalid``, ECODE ``OAUTH_025``); errors are
``{"err", "ECODE"}``:
    ``GET /user``                        the token's user (:data:`ME`).
    ``GET|POST /list/<id>/task``         list, 100 a page by ``page`` (from 0) with ``last_page``, newest first unless
                                         ``reverse=true``, ``order_by`` created|updated|due_date|id, ``statuses[]``,
                                         ``assignees[]``, ``tags[]``, ``include_closed`` and ``archived``; or create
                                         (400 ``INPUT_005`` without a name, ``CRTSK_001`` for a status the list lacks,
                                         ``INPUT_007`` for a priority other than 1-4). A list other than :data:`LISTS`
                                         is 401 ``Team not authorized`` (``OAUTH_027``), as ClickUp answers for ids it
                                         will not show.
    ``GET|PUT|DELETE /task/<id>``        one task (404 ``Task not found, deleted``, ``ITEM_013``); update (assignees as
                                         ``{"add", "rem"}``); delete, 204.
Dates are milliseconds since 1970 as text. Set :attr:`FakeClickUp.rate_limited` to answer the next that many requests
with 429 (``APP_002``) and ``X-RateLimit-Reset``. Every request is recorded.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "pk_4001_FAKEFAKEFAKE0123456789ABCDEF"
ME = {"id": 4001, "username": "Ada Lovelace", "email": "ada@acme.test", "color": "#7b68ee"}
USERS = {4001: ME, 4002: {"id": 4002, "username": "Bob Builder", "email": "bob@acme.test", "color": "#ff0000"}}
LISTS = {"901": ("to do", "in progress", "review", "complete"), "902": ("open", "closed")}
CLOSED = ("complete", "closed")
PRIORITY_NAMES = {1: ("urgent", "#f50000"), 2: ("high", "#ffcc00"), 3: ("normal", "#6fddff"), 4: ("low", "#d8d8d8")}
PAGE_SIZE = 100
CREATED_MS = 1767225600000
"""2026-01-01T00:00:00Z."""


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; ``query`` keeps repeated names in order)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


class _Refusal(Exception):
    def __init__(self, status: int, err: str, ecode: str) -> None:
        super().__init__(err)
        self.status = status
        self.body = {"err": err, "ECODE": ecode}


def _status(list_id: str, name: str) -> dict[str, Any]:
    statuses = LISTS[list_id]
    kind = "closed" if name in CLOSED else ("open" if name == statuses[0] else "custom")
    return {"status": name, "color": "#d3d3d3", "type": kind, "orderindex": statuses.index(name)}


@dataclass
class FakeClickUp:
    host: str
    port: int
    token: str = TOKEN
    tasks: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        """The ``clickup_api`` credential that reaches this server."""
        return {"token": token, "api_url": self.url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_task(self, name: str, list_id: str = "901", **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create(list_id, {"name": name, **fields})

    def task(self, task_id: str) -> dict[str, Any]:
        for task in self.tasks:
            if task["id"] == task_id:
                return task
        raise _Refusal(404, "Task not found, deleted", "ITEM_013")

    def _create(self, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if not str(body.get("name") or "").strip():
            raise _Refusal(400, "Task name invalid", "INPUT_005")
        number = next(self._ids)
        stamp = str(CREATED_MS + number * 60_000)
        task: dict[str, Any] = {
            "id": f"86a{number:05x}",
            "custom_id": None,
            "name": "",
            "text_content": "",
            "description": "",
            "status": _status(list_id, LISTS[list_id][0]),
            "orderindex": f"{number}.0000",
            "date_created": stamp,
            "date_updated": stamp,
            "date_closed": None,
            "archived": bool(body.get("archived")),
            "creator": ME,
            "assignees": [],
            "tags": [{"name": tag, "tag_fg": "#fff", "tag_bg": "#000"} for tag in body.get("tags") or []],
            "parent": None,
            "priority": None,
            "due_date": None,
            "list": {"id": list_id},
            "url": f"https://app.clickup.com/t/86a{number:05x}",
        }
        self._apply(task, {**body, "assignees": {"add": body.get("assignees") or [], "rem": []}})
        self.tasks.append(task)
        return task

    def _apply(self, task: dict[str, Any], body: dict[str, Any]) -> None:
        list_id = task["list"]["id"]
        if "name" in body:
            if not str(body["name"]).strip():
                raise _Refusal(400, "Task name invalid", "INPUT_005")
            task["name"] = body["name"]
        for key in ("description", "markdown_content"):
            if key in body:
                task["description"] = task["text_content"] = str(body[key])
        if "status" in body:
            if body["status"] not in LISTS[list_id]:
                raise _Refusal(400, "Status does not exist", "CRTSK_001")
            task["status"] = _status(list_id, body["status"])
            task["date_closed"] = task["date_updated"] if body["status"] in CLOSED else None
        if "priority" in body:
            priority = body["priority"]
            if priority is None:
                task["priority"] = None
            elif priority in PRIORITY_NAMES:
                name, color = PRIORITY_NAMES[priority]
                task["priority"] = {"id": str(priority), "priority": name, "color": color}
            else:
                raise _Refusal(400, "Priority invalid", "INPUT_007")
        if "due_date" in body:
            task["due_date"] = None if body["due_date"] is None else str(body["due_date"])
            task["due_date_time"] = bool(body.get("due_date_time"))
        changes = body.get("assignees") or {}
        if changes:
            for user_id in changes.get("add") or []:
                if int(user_id) not in USERS:
                    raise _Refusal(400, "Assignee not found", "ITEM_114")
            current = [user["id"] for user in task["assignees"] if user["id"] not in (changes.get("rem") or [])]
            current += [int(u) for u in changes.get("add") or [] if int(u) not in current]
            task["assignees"] = [USERS[user_id] for user_id in current]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeClickUp]

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
        query = parse_qsl(parts.query, keep_blank_values=True)
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
            self._reply(429, {"err": "Rate limit reached", "ECODE": "APP_002"}, {"X-RateLimit-Reset": "1767225660"})
            return
        if not headers.get("authorization"):
            self._reply(400, {"err": "Authorization header required", "ECODE": "OAUTH_017"})
            return
        if headers["authorization"] != fake.token:
            self._reply(401, {"err": "Token invalid", "ECODE": "OAUTH_025"})
            return
        try:
            with fake.lock:
                status, answer = _route(fake, self.command, path, query, body if isinstance(body, dict) else {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


LIST_TASKS = re.compile(r"^/list/([^/]+)/task$")
TASK = re.compile(r"^/task/([^/]+)$")


def _route(
    fake: FakeClickUp, method: str, path: str, query: list[tuple[str, str]], body: dict[str, Any]
) -> tuple[int, Any]:
    if method == "GET" and path == "/user":
        return 200, {"user": ME}
    found = LIST_TASKS.match(path)
    if found:
        list_id = found.group(1)
        if list_id not in LISTS:
            raise _Refusal(401, "Team not authorized", "OAUTH_027")
        if method == "POST":
            return 200, fake._create(list_id, body)
        if method == "GET":
            return 200, _list(fake, list_id, query)
    found = TASK.match(path)
    if not found:
        raise _Refusal(404, "Route not found", "APP_001")
    task = fake.task(found.group(1))
    if method == "GET":
        return 200, task
    if method == "PUT":
        fake._apply(task, body)
        task["date_updated"] = str(int(task["date_updated"]) + 1000)
        return 200, task
    if method == "DELETE":
        fake.tasks.remove(task)
        return 204, None
    raise _Refusal(404, "Route not found", "APP_001")


def _list(fake: FakeClickUp, list_id: str, query: list[tuple[str, str]]) -> dict[str, Any]:
    values = dict(query)
    statuses = [value for key, value in query if key == "statuses[]"]
    assignees = {int(value) for key, value in query if key == "assignees[]"}
    tags = {value for key, value in query if key == "tags[]"}
    include_closed = values.get("include_closed") == "true"
    archived = values.get("archived") == "true"
    chosen = []
    for task in fake.tasks:
        if task["list"]["id"] != list_id or task["archived"] != archived:
            continue
        if statuses and task["status"]["status"] not in statuses:
            continue
        if not statuses and not include_closed and task["status"]["type"] == "closed":
            continue
        if assignees and not assignees & {user["id"] for user in task["assignees"]}:
            continue
        if tags and not tags & {tag["name"] for tag in task["tags"]}:
            continue
        chosen.append(task)
    key = {"created": "date_created", "updated": "date_updated", "due_date": "due_date", "id": "id"}.get(
        values.get("order_by", "created"), "date_created"
    )
    chosen.sort(key=lambda task: (task[key] or "", task["id"]), reverse=values.get("reverse") != "true")
    page_text = values.get("page", "0")
    page = int(page_text) if page_text.isdigit() else 0
    chunk = chosen[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    return {"tasks": chunk, "last_page": (page + 1) * PAGE_SIZE >= len(chosen)}


@contextmanager
def fake_clickup_server(token: str = TOKEN) -> Iterator[FakeClickUp]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeClickUp(host, port, token=token), name="fake-clickup") as fake:
        yield fake
