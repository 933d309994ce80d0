"""A real HTTP server on 127.0.0.1 speaking the part of Asana's REST API 1.0 the Asana node uses.

Routes (``Authorization: Bearer <token>``, else 401 ``Not Authorized``); bodies and answers in ``{"data": ...}``,
errors as ``{"errors": [{"message", "help"}]}``:
    ``GET /users/me``                          the token's user (:data:`ME`).
    ``GET|POST /tasks``                        list by ``project``, or ``assignee`` (gid, email or me) with
                                               ``workspace`` (else 400), ``completed_since=now`` for incomplete ones,
                                               ``opt_fields``, ``limit`` (1 to 100, else 400) and ``offset`` (an opaque
                                               token from ``next_page``); compact tasks (gid, name, resource_type)
                                               plus the ``opt_fields`` asked for. Create needs ``workspace`` or
                                               ``projects`` (400 otherwise), checks the assignee, projects and tags.
    ``GET|PUT|DELETE /tasks/<gid>``            one task (404 ``Unknown object: <gid>``; 400 ``task: Not a Long`` for a
                                               gid that is not a number), with ``opt_fields``; update; delete.
    ``POST /tasks/<gid>/stories``              a comment from ``text`` (400 when empty), 201.
    ``POST /sections/<gid>/addTask``           move ``task`` to the section (and its project).
Workspace :data:`WORKSPACE`, projects :data:`PROJECTS` with :data:`SECTIONS`, users :data:`USERS`, tags :data:`TAGS`.
Set :attr:`FakeAsana.rate_limited` to answer the next that many requests with 429 and ``Retry-After``. Every request
is recorded.
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
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "2/1200000000000001/1200000000000002:fakeFAKEfake0123456789"
HELP = (
    "For more information on API status codes and how to handle them, read the docs on errors: "
    "https://developers.asana.com/docs/errors"
)
WORKSPACE = {"gid": "1001", "resource_type": "workspace", "name": "Acme"}
ME = {"gid": "4001", "resource_type": "user", "name": "Ada Lovelace", "email": "ada@acme.test"}
USERS = [ME, {"gid": "4002", "resource_type": "user", "name": "Bob Builder", "email": "bob@acme.test"}]
PROJECTS = {"2001": "Launch", "2002": "Ops"}
SECTIONS = {"3001": ("2001", "To do"), "3002": ("2001", "Doing"), "3003": ("2002", "Inbox")}
TAGS = {"5001": "urgent", "5002": "customer"}
COMPACT = ("gid", "name", "resource_type", "resource_subtype")
MAX_LIMIT = 100


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": [{"message": message, "help": HELP}]}


def _user(key: str) -> dict[str, Any]:
    for user in USERS:
        if key in (user["gid"], user["email"]) or (key == "me" and user is ME):
            return {"gid": user["gid"], "resource_type": "user", "name": user["name"]}
    raise _Refusal(400, f"assignee: Not a recognized ID: {key}")


def _offset(index: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{index}".encode()).decode()


@dataclass
class FakeAsana:
    host: str
    port: int
    token: str = TOKEN
    tasks: list[dict[str, Any]] = field(default_factory=list)
    stories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _gids: Iterator[int] = field(default_factory=lambda: itertools.count(1_200_000_000_000_001))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        """The ``asana_api`` credential that reaches this server."""
        return {"token": token, "api_url": self.url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_task(self, name: str, project: str = "2001", **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"name": name, "projects": [project], **fields})

    def task(self, gid: str) -> dict[str, Any]:
        if not gid.isdigit():
            raise _Refusal(400, f"task: Not a Long: {gid}")
        for task in self.tasks:
            if task["gid"] == gid:
                return task
        raise _Refusal(404, f"Unknown object: {gid}")

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        projects = list(data.get("projects") or [])
        if not projects and not data.get("workspace"):
            raise _Refusal(400, "You should specify one of workspace, parent, projects")
        if data.get("workspace") not in (None, WORKSPACE["gid"]):
            raise _Refusal(404, f"workspace: Unknown object: {data['workspace']}")
        for project in projects:
            if project not in PROJECTS:
                raise _Refusal(404, f"projects: Unknown object: {project}")
        for tag in data.get("tags") or []:
            if tag not in TAGS:
                raise _Refusal(404, f"tags: Unknown object: {tag}")
        gid = str(next(self._gids))
        task: dict[str, Any] = {
            "gid": gid,
            "resource_type": "task",
            "resource_subtype": "default_task",
            "name": "",
            "notes": "",
            "completed": False,
            "completed_at": None,
            "due_on": None,
            "assignee": None,
            "workspace": WORKSPACE,
            "projects": [{"gid": p, "resource_type": "project", "name": PROJECTS[p]} for p in projects],
            "memberships": [],
            "tags": [{"gid": t, "resource_type": "tag", "name": TAGS[t]} for t in data.get("tags") or []],
            "permalink_url": f"https://app.asana.com/0/0/{gid}",
            "created_at": "2026-01-01T00:00:00.000Z",
            "modified_at": "2026-01-01T00:00:00.000Z",
        }
        for project in projects:
            section = next(s for s, (owner, _) in SECTIONS.items() if owner == project)
            task["memberships"].append(_membership(project, section))
        self._apply(task, data)
        self.tasks.append(task)
        self.stories[gid] = []
        return task

    def _apply(self, task: dict[str, Any], data: dict[str, Any]) -> None:
        for key in ("name", "notes"):
            if key in data:
                task[key] = str(data[key])
        if "due_on" in data:
            if data["due_on"] is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(data["due_on"])):
                raise _Refusal(400, f"due_on: Invalid date string: {data['due_on']}")
            task["due_on"] = data["due_on"]
        if "assignee" in data:
            task["assignee"] = None if data["assignee"] is None else _user(str(data["assignee"]))
        if "completed" in data:
            task["completed"] = bool(data["completed"])
            task["completed_at"] = "2026-01-02T00:00:00.000Z" if task["completed"] else None
        task["modified_at"] = "2026-01-02T00:00:00.000Z"


def _membership(project: str, section: str) -> dict[str, Any]:
    return {
        "project": {"gid": project, "resource_type": "project", "name": PROJECTS[project]},
        "section": {"gid": section, "resource_type": "section", "name": SECTIONS[section][1]},
    }


def _shape(task: dict[str, Any], opt_fields: str | None) -> dict[str, Any]:
    """A task with only its compact fields plus those asked for (``assignee.name`` keeps ``assignee``)."""
    if opt_fields is None:
        return task
    wanted = set(COMPACT) | {name.split(".")[0] for name in opt_fields.split(",") if name}
    return {key: value for key, value in task.items() if key in wanted}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeAsana]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
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
            message = "You have made too many requests recently. Please, be chill."
            self._reply(429, {"errors": [{"message": message, "help": HELP}]}, {"Retry-After": "30"})
            return
        if headers.get("authorization") != f"Bearer {fake.token}":
            self._reply(401, {"errors": [{"message": "Not Authorized", "help": HELP}]})
            return
        data = (body or {}).get("data") if isinstance(body, dict) else None
        if self.command in ("POST", "PUT") and not isinstance(data, dict):
            self._reply(400, {"errors": [{"message": "Request data must be a JSON object, not null", "help": HELP}]})
            return
        try:
            with fake.lock:
                status, answer = _route(fake, self.command, path, query, data or {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


TASK = re.compile(r"^/tasks/([^/]+)(/stories)?$")
ADD_TASK = re.compile(r"^/sections/([^/]+)/addTask$")


def _route(
    fake: FakeAsana, method: str, path: str, query: dict[str, str], data: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    if method == "GET" and path == "/users/me":
        return 200, {"data": {**ME, "workspaces": [WORKSPACE]}}
    if path == "/tasks" and method == "POST":
        return 201, {"data": fake._create(data)}
    if path == "/tasks" and method == "GET":
        return 200, _list(fake, query)
    found = ADD_TASK.match(path)
    if found and method == "POST":
        section = found.group(1)
        if section not in SECTIONS:
            raise _Refusal(404, f"section: Unknown object: {section}")
        task = fake.task(str(data.get("task") or ""))
        project = SECTIONS[section][0]
        task["memberships"] = [m for m in task["memberships"] if m["project"]["gid"] != project]
        task["memberships"].append(_membership(project, section))
        if all(p["gid"] != project for p in task["projects"]):
            task["projects"].append({"gid": project, "resource_type": "project", "name": PROJECTS[project]})
        return 200, {"data": {}}
    found = TASK.match(path)
    if not found:
        raise _Refusal(404, f"No matching route for request: {method} {path}")
    task = fake.task(found.group(1))
    if found.group(2) and method == "POST":
        if not str(data.get("text") or "").strip():
            raise _Refusal(400, "text: Missing input")
        story = {
            "gid": str(next(fake._gids)),
            "resource_type": "story",
            "resource_subtype": "comment_added",
            "type": "comment",
            "text": data["text"],
            "created_at": "2026-01-02T00:00:00.000Z",
            "created_by": {"gid": ME["gid"], "resource_type": "user", "name": ME["name"]},
            "target": {"gid": task["gid"], "resource_type": "task", "name": task["name"]},
        }
        fake.stories[task["gid"]].append(story)
        return 201, {"data": story}
    if method == "GET" and not found.group(2):
        return 200, {"data": _shape(task, query.get("opt_fields"))}
    if method == "PUT" and not found.group(2):
        fake._apply(task, data)
        return 200, {"data": task}
    if method == "DELETE" and not found.group(2):
        fake.tasks.remove(task)
        return 200, {"data": {}}
    raise _Refusal(404, f"No matching route for request: {method} {path}")


def _list(fake: FakeAsana, query: dict[str, str]) -> dict[str, Any]:
    project, assignee, workspace = query.get("project"), query.get("assignee"), query.get("workspace")
    if bool(project) == bool(assignee and workspace):
        raise _Refusal(
            400, "Must specify exactly one of project, tag, section, user task list, or assignee + workspace"
        )
    limit_text = query.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise _Refusal(400, f"limit: Value out of range: {limit_text}")
    limit = int(limit_text)
    if project:
        if project not in PROJECTS:
            raise _Refusal(404, f"project: Unknown object: {project}")
        chosen = [t for t in fake.tasks if any(p["gid"] == project for p in t["projects"])]
    else:
        if workspace != WORKSPACE["gid"]:
            raise _Refusal(404, f"workspace: Unknown object: {workspace}")
        user = _user(str(assignee))
        chosen = [t for t in fake.tasks if (t["assignee"] or {}).get("gid") == user["gid"]]
    if query.get("completed_since") == "now":
        chosen = [task for task in chosen if not task["completed"]]
    start = 0
    if query.get("offset"):
        try:
            start = int(base64.urlsafe_b64decode(query["offset"].encode()).decode().removeprefix("offset:"))
        except ValueError as err:
            raise _Refusal(400, "offset: Your pagination token is invalid.") from err
    page = chosen[start : start + limit]
    following = None
    if start + limit < len(chosen):
        token = _offset(start + limit)
        following = {"offset": token, "path": f"/tasks?limit={limit}&offset={token}", "uri": f"{fake.url}/tasks"}
    return {"data": [_shape(task, query.get("opt_fields") or "") for task in page], "next_page": following}


@contextmanager
def fake_asana_server(token: str = TOKEN) -> Iterator[FakeAsana]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeAsana(host, port, token=token), name="fake-asana") as fake:
        yield fake
