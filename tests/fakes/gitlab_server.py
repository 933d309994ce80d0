"""A real HTTP server on 127.0.0.1 speaking the part of GitLab's REST API v4 the GitLab nodes use.

Routes (under ``/api/v4``, ``PRIVATE-TOKEN: <token>``, else 401 ``{"message": "401 Unauthorized"}``):
    ``GET /user``                                           the token's user (:data:`USERNAME`).
    ``GET|POST /projects/<id>/issues``                      list (``state``, ``labels``, ``search``, ``order_by``,
                                                            ``sort``) or create (400 ``{"error": "title is missing"}``;
                                                            400 ``{"message": {"title": [...]}}`` over 255 characters).
    ``GET|PUT|DELETE /projects/<id>/issues/<iid>``          one issue; ``state_event`` close/reopen; delete is 204,
                                                            403 unless :attr:`FakeGitLab.may_delete`.
    ``POST /projects/<id>/issues/<iid>/notes``              a comment.
    ``GET|POST /projects/<id>/merge_requests``              list (``state``, ``labels``, ``search``, ``target_branch``)
                                                            or create (422 with a list ``message`` for a branch the
                                                            project lacks or an open merge request of the same branch).
    ``GET|PUT /projects/<id>/merge_requests/<iid>``         one merge request.
    ``PUT /projects/<id>/merge_requests/<iid>/merge``       405 unless open and not a draft, 406 with conflicts, 409
                                                            when ``sha`` is not the head; else merged.
    ``POST /projects/<id>/merge_requests/<iid>/notes``      a comment.
A project is addressed by its id or its full path with the slash escaped (``group%2Fapp``); unknown projects, issues
and merge requests are 404 (``404 Project Not Found``...). Lists page with ``per_page`` (at most 100) and ``page``,
answering ``X-Page``, ``X-Per-Page``, ``X-Total``, ``X-Next-Page`` and a ``Link`` header with ``rel="next"`` (set
:attr:`FakeGitLab.send_links` false to leave the ``Link`` out, :attr:`FakeGitLab.link_base` to point it at another
host). Set :attr:`FakeGitLab.rate_limited` to answer the next that many requests with 429, ``Retry-After`` and
GitLab's text body. Every request is recorded.
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
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "glpat-fakeFAKEfake0123456789"
USERNAME = "hitl-bot"
USERS = {1: USERNAME, 7: "alice", 8: "bob"}
CREATED = "2026-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased, the path as sent, still escaped)."""

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


def _not_found(what: str) -> _Refusal:
    return _Refusal(404, {"message": f"404 {what} Not Found"})


@dataclass
class Project:
    id: int
    path_with_namespace: str
    branches: set[str] = field(default_factory=lambda: {"main"})
    issues: list[dict[str, Any]] = field(default_factory=list)
    merge_requests: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeGitLab:
    host: str
    port: int
    token: str = TOKEN
    projects: list[Project] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    may_delete: bool = True
    send_links: bool = True
    link_base: str | None = None
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(5001))

    @property
    def server_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, str]:
        """The ``gitlab_api`` credential's data that reaches this server."""
        return {"server_url": self.server_url, "token": token}

    def add_project(self, path: str, *, branches: set[str] | None = None) -> Project:
        with self.lock:
            project = Project(len(self.projects) + 1, path, branches or {"main"})
            self.projects.append(project)
            return project

    def add_issue(self, project: Project, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_issue(project, {"title": title, **fields})

    def add_merge_request(self, project: Project, source: str, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            project.branches |= {source, fields.get("target_branch", "main")}
            return self._new_merge_request(project, {"source_branch": source, "title": title, **fields})

    def received(self, method: str | None = None, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_part in r.path]

    def _common(self, project: Project, kind: str, iid: int, fields: dict[str, Any]) -> dict[str, Any]:
        labels = fields.get("labels") or []
        if isinstance(labels, str):
            labels = [name for name in labels.split(",") if name]
        assignees = [{"id": uid, "username": USERS[uid]} for uid in fields.get("assignee_ids") or [] if uid in USERS]
        return {
            "id": next(self._ids),
            "iid": iid,
            "project_id": project.id,
            "title": fields["title"],
            "description": fields.get("description"),
            "state": fields.get("state", "opened"),
            "labels": labels,
            "assignees": assignees,
            "author": {"id": 1, "username": USERNAME},
            "created_at": fields.get("created_at", f"2026-01-01T00:{iid // 60 % 60:02d}:{iid % 60:02d}.000Z"),
            "updated_at": fields.get("updated_at", CREATED),
            "web_url": f"https://gitlab.example/{project.path_with_namespace}/-/{kind}/{iid}",
            "user_notes_count": 0,
        }

    def _new_issue(self, project: Project, fields: dict[str, Any]) -> dict[str, Any]:
        issue = self._common(project, "issues", len(project.issues) + 1, fields)
        issue.update(due_date=fields.get("due_date"), confidential=bool(fields.get("confidential")), closed_at=None)
        project.issues.append(issue)
        return issue

    def _new_merge_request(self, project: Project, fields: dict[str, Any]) -> dict[str, Any]:
        merge_request = self._common(project, "merge_requests", len(project.merge_requests) + 1, fields)
        merge_request.update(
            source_branch=fields["source_branch"],
            target_branch=fields.get("target_branch", "main"),
            draft=bool(fields.get("draft")) or str(fields["title"]).startswith("Draft:"),
            has_conflicts=bool(fields.get("has_conflicts")),
            sha=fields.get("sha", f"{next(self._ids):040x}"),
            squash=bool(fields.get("squash")),
            force_remove_source_branch=bool(fields.get("remove_source_branch")),
            merge_status="can_be_merged",
            merged_at=None,
            merge_commit_sha=None,
        )
        project.merge_requests.append(merge_request)
        return merge_request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeGitLab]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None, text: str | None = None) -> None:
        body = text.encode() if text is not None else (b"" if data is None else json.dumps(data).encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text is not None else "application/json")
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
            self._reply(429, None, {"Retry-After": "60"}, text="Retry later")
            return
        if headers.get("private-token") != fake.token:
            self._reply(401, {"message": "401 Unauthorized"})
            return
        if not parts.path.startswith("/api/v4/"):
            self._reply(404, None, text="<html><body>Page Not Found</body></html>")
            return
        segments = [unquote(segment) for segment in parts.path.removeprefix("/api/v4/").split("/")]
        try:
            with fake.lock:
                status, data, extra = _route(self, fake, self.command, segments, query, body)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, data, extra)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


Answer = tuple[int, Any, dict[str, str] | None]


def _page(handler: _Handler, entries: list[dict[str, Any]], query: dict[str, str]) -> Answer:
    fake = handler.server.fake
    try:
        per_page = min(int(query.get("per_page", 20)), 100)
        page = max(int(query.get("page", 1)), 1)
    except ValueError as err:
        raise _Refusal(400, {"error": "per_page is invalid, page is invalid"}) from err
    chunk = entries[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(entries)
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(entries)),
        "X-Next-Page": str(page + 1) if more else "",
    }
    if more and fake.send_links:
        following = urlencode({**query, "page": page + 1, "per_page": per_page})
        headers["Link"] = f'<{fake.link_base or fake.server_url}{urlsplit(handler.path).path}?{following}>; rel="next"'
    return 200, chunk, headers


def _project(fake: FakeGitLab, key: str) -> Project:
    for project in fake.projects:
        if key in (str(project.id), project.path_with_namespace):
            return project
    raise _not_found("Project")


def _route(
    handler: _Handler, fake: FakeGitLab, method: str, segments: list[str], query: dict[str, str], body: Any
) -> Answer:
    if method == "GET" and segments == ["user"]:
        return 200, {"id": 1, "username": USERNAME, "name": "HITL Bot", "state": "active"}, None
    if len(segments) < 3 or segments[0] != "projects":
        raise _Refusal(404, {"error": "404 Not Found"})
    project = _project(fake, segments[1])
    kind, rest = segments[2], segments[3:]
    if kind == "issues":
        return _issues(handler, fake, project, method, rest, query, body)
    if kind == "merge_requests":
        return _merge_requests(handler, fake, project, method, rest, query, body)
    raise _Refusal(404, {"error": "404 Not Found"})


def _listed(
    entries: list[dict[str, Any]], query: dict[str, str], *, extra: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    state = query.get("state", "all")
    chosen = [entry for entry in entries if state == "all" or entry["state"] == state]
    wanted = {name for name in query.get("labels", "").split(",") if name}
    chosen = [entry for entry in chosen if wanted <= set(entry["labels"])]
    if query.get("search"):
        text = query["search"].lower()
        chosen = [e for e in chosen if text in (e["title"] + " " + (e["description"] or "")).lower()]
    for name in extra:
        if query.get(name):
            chosen = [entry for entry in chosen if entry.get(name) == query[name]]
    key = query.get("order_by", "created_at")
    chosen.sort(
        key=lambda entry: (str(entry.get(key) or ""), entry["iid"]), reverse=query.get("sort", "desc") == "desc"
    )
    return chosen


def _find(entries: list[dict[str, Any]], iid: str, what: str) -> dict[str, Any]:
    for entry in entries:
        if str(entry["iid"]) == iid:
            return entry
    raise _not_found(what)


def _check_title(body: dict[str, Any], required: bool) -> None:
    if required and not str(body.get("title") or "").strip():
        raise _Refusal(400, {"error": "title is missing"})
    if len(str(body.get("title") or "")) > 255:
        raise _Refusal(400, {"message": {"title": ["is too long (maximum is 255 characters)"]}})


def _edit(entry: dict[str, Any], body: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in body:
            entry[key] = body[key]
    if "labels" in body:
        entry["labels"] = [name for name in str(body["labels"]).split(",") if name]
    if "assignee_ids" in body:
        entry["assignees"] = [{"id": uid, "username": USERS[uid]} for uid in body["assignee_ids"] if uid in USERS]
    event = body.get("state_event")
    if event not in (None, "close", "reopen"):
        raise _Refusal(400, {"error": "state_event does not have a valid value"})
    if event:
        entry["state"] = "closed" if event == "close" else "opened"
    entry["updated_at"] = "2026-02-01T00:00:00.000Z"


def _note(fake: FakeGitLab, project: Project, entry: dict[str, Any], kind: str, body: Any) -> Answer:
    if not str(body.get("body") or "").strip():
        raise _Refusal(400, {"error": "body is missing"})
    note = {
        "id": next(fake._ids),
        "body": body["body"],
        "author": {"id": 1, "username": USERNAME},
        "noteable_type": kind,
        "noteable_iid": entry["iid"],
        "system": False,
        "created_at": CREATED,
    }
    project.notes.append(note)
    entry["user_notes_count"] += 1
    return 201, note, None


def _issues(
    handler: _Handler,
    fake: FakeGitLab,
    project: Project,
    method: str,
    rest: list[str],
    query: dict[str, str],
    body: Any,
) -> Answer:
    if not rest and method == "GET":
        return _page(handler, _listed(project.issues, query), query)
    if not rest and method == "POST":
        _check_title(body, required=True)
        return 201, fake._new_issue(project, body), None
    issue = _find(project.issues, rest[0], "Issue")
    if rest[1:] == [] and method == "GET":
        return 200, issue, None
    if rest[1:] == [] and method == "PUT":
        _check_title(body, required=False)
        _edit(issue, body, ("title", "description", "due_date"))
        issue["closed_at"] = CREATED if issue["state"] == "closed" else None
        return 200, issue, None
    if rest[1:] == [] and method == "DELETE":
        if not fake.may_delete:
            raise _Refusal(403, {"message": "403 Forbidden"})
        project.issues.remove(issue)
        return 204, None, None
    if rest[1:] == ["notes"] and method == "POST":
        return _note(fake, project, issue, "Issue", body)
    raise _Refusal(404, {"error": "404 Not Found"})


def _merge_requests(
    handler: _Handler,
    fake: FakeGitLab,
    project: Project,
    method: str,
    rest: list[str],
    query: dict[str, str],
    body: Any,
) -> Answer:
    if not rest and method == "GET":
        return _page(handler, _listed(project.merge_requests, query, extra=("target_branch",)), query)
    if not rest and method == "POST":
        missing = [name for name in ("source_branch", "target_branch", "title") if not body.get(name)]
        if missing:
            raise _Refusal(400, {"error": ", ".join(f"{name} is missing" for name in missing)})
        problems = [
            f'{side.title()} branch "{body[f"{side}_branch"]}" does not exist'
            for side in ("source", "target")
            if body[f"{side}_branch"] not in project.branches
        ]
        for other in project.merge_requests:
            if other["state"] == "opened" and (other["source_branch"], other["target_branch"]) == (
                body["source_branch"],
                body["target_branch"],
            ):
                problems.append(f"Another open merge request already exists for this source branch: !{other['iid']}")
        if problems:
            raise _Refusal(422, {"message": problems})
        return 201, fake._new_merge_request(project, body), None
    merge_request = _find(project.merge_requests, rest[0], "Merge Request")
    if rest[1:] == [] and method == "GET":
        return 200, merge_request, None
    if rest[1:] == [] and method == "PUT":
        _check_title(body, required=False)
        if "target_branch" in body and body["target_branch"] not in project.branches:
            raise _Refusal(422, {"message": [f'Target branch "{body["target_branch"]}" does not exist']})
        _edit(merge_request, body, ("title", "description", "target_branch"))
        return 200, merge_request, None
    if rest[1:] == ["merge"] and method == "PUT":
        if merge_request["state"] != "opened" or merge_request["draft"]:
            raise _Refusal(405, {"message": "405 Method Not Allowed"})
        if merge_request["has_conflicts"]:
            raise _Refusal(406, {"message": "Branch cannot be merged"})
        if body.get("sha") and body["sha"] != merge_request["sha"]:
            raise _Refusal(409, {"message": f"SHA does not match HEAD of source branch: {merge_request['sha']}"})
        merge_request.update(
            state="merged",
            merged_at="2026-02-01T00:00:00.000Z",
            merge_commit_sha=f"{next(fake._ids):040x}",
            squash=bool(body.get("squash")),
            merge_status="merged",
        )
        if body.get("should_remove_source_branch"):
            project.branches.discard(merge_request["source_branch"])
        return 200, merge_request, None
    if rest[1:] == ["notes"] and method == "POST":
        return _note(fake, project, merge_request, "MergeRequest", body)
    raise _Refusal(404, {"error": "404 Not Found"})


@contextmanager
def fake_gitlab_server(token: str = TOKEN) -> Iterator[FakeGitLab]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeGitLab(host, port, token=token), name="fake-gitlab") as fake:
        yield fake
