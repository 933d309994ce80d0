"""A real HTTP server on 127.0.0.1 speaking the part of GitHub's REST API the GitHub nodes use.

Routes (``Authorization: Bearer <token>``, else 401 ``Bad credentials``):
    ``GET /user``                                       the token's user (:data:`LOGIN`).
    ``GET /user/repos``, ``GET /orgs/<org>/repos``      repositories of the user or an organisation.
    ``GET /repos/<o>/<r>``                              one repository.
    ``GET /repos/<o>/<r>/branches``, ``.../tags``       branches and tags.
    ``GET|POST /repos/<o>/<r>/issues``                  list (``state``, ``labels``, ``sort``, ``direction``) or
                                                        create (422 without a title or with an assignee who is not a
                                                        collaborator).
    ``GET|PATCH /repos/<o>/<r>/issues/<n>``             one issue.
    ``POST /repos/<o>/<r>/issues/<n>/comments``         a comment.
    ``PUT|DELETE /repos/<o>/<r>/issues/<n>/lock``       lock (422 for an unknown ``lock_reason``) and unlock, 204.
    ``GET|PUT|DELETE /repos/<o>/<r>/contents/<path>``   files (base64 with a git blob ``sha``, per branch; ``ref`` or
                                                        ``branch``), folders as lists; a PUT over a file without its
                                                        ``sha`` is 422, with a stale one 409. Files over
                                                        :attr:`FakeGitHub.large_file_bytes` come without contents
                                                        (``encoding: none``) unless asked for the raw media type.
    ``GET|POST /repos/<o>/<r>/releases``, ``.../releases/latest``, ``GET|PATCH|DELETE .../releases/<id>``.
Every list pages with ``per_page`` (at most 100) and ``page``, and a ``Link`` header with ``rel="next"``.
Unknown repositories, issues, files and releases are 404 ``Not Found``. Set :attr:`FakeGitHub.rate_limited`
to answer the next that many requests with 403 and ``X-RateLimit-Remaining: 0``, and
:attr:`FakeGitHub.link_base` to point ``Link`` headers at another host. Every request is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
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

TOKEN = "ghp_fakeFAKEfake0123456789abcdefABCDEF"
LOGIN = "octo-bot"
CREATED = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": "https://docs.github.com/rest"}
        if errors is not None:
            self.body["errors"] = errors


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data``, as GitHub reports a file's ``sha``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    private: bool = False
    default_branch: str = "main"
    collaborators: set[str] = field(default_factory=set)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """File contents by branch, then path."""
    tags: list[str] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)

    def json(self, base: str) -> dict[str, Any]:
        full = f"{self.owner}/{self.name}"
        return {
            "id": self.id,
            "name": self.name,
            "full_name": full,
            "owner": {"login": self.owner},
            "private": self.private,
            "default_branch": self.default_branch,
            "html_url": f"https://github.com/{full}",
            "url": f"{base}/repos/{full}",
        }


@dataclass
class FakeGitHub:
    host: str
    port: int
    token: str = TOKEN
    repos: dict[tuple[str, str], Repo] = field(default_factory=dict)
    organizations: set[str] = field(default_factory=set)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    large_file_bytes: int = 1_000_000
    link_base: str | None = None
    """Where ``Link`` headers point, instead of this server (to test that the nodes refuse another host)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    _commits: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_repo(self, owner: str, name: str, *, organization: bool = False, **options: Any) -> Repo:
        with self.lock:
            if organization:
                self.organizations.add(owner)
            repo = Repo(owner, name, next(self._ids), **options)
            repo.collaborators |= {LOGIN}
            repo.files[repo.default_branch] = {}
            self.repos[(owner, name)] = repo
            return repo

    def add_file(self, repo: Repo, path: str, data: bytes | str, branch: str | None = None) -> str:
        raw = data.encode() if isinstance(data, str) else data
        with self.lock:
            repo.files.setdefault(branch or repo.default_branch, {})[path] = raw
        return blob_sha(raw)

    def add_issue(self, repo: Repo, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_issue(repo, {"title": title, **fields})

    def received(self, method: str | None = None, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_part in r.path]

    def _new_issue(self, repo: Repo, fields: dict[str, Any]) -> dict[str, Any]:
        number = len(repo.issues) + 1
        labels = fields.get("labels") or []
        issue = {
            "id": next(self._ids),
            "number": number,
            "title": fields["title"],
            "body": fields.get("body"),
            "state": fields.get("state", "open"),
            "labels": [{"name": name} for name in labels],
            "assignees": [{"login": login} for login in fields.get("assignees") or []],
            "comments": fields.get("comments", 0),
            "locked": False,
            "active_lock_reason": None,
            "created_at": fields.get(
                "created_at", f"2026-01-01T{number // 3600:02d}:{number // 60 % 60:02d}:{number % 60:02d}Z"
            ),
            "updated_at": fields.get("updated_at", CREATED),
            "html_url": f"https://github.com/{repo.owner}/{repo.name}/issues/{number}",
            "user": {"login": LOGIN},
        }
        repo.issues.append(issue)
        return issue


def _page(
    handler: _Handler, entries: list[dict[str, Any]], query: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    try:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
    except ValueError as err:
        raise _Refusal(422, "per_page and page must be numbers") from err
    chunk = entries[(page - 1) * per_page : page * per_page]
    headers: dict[str, str] = {}
    if page * per_page < len(entries):
        path = urlsplit(handler.path).path
        following = urlencode({**query, "page": page + 1, "per_page": per_page})
        base = handler.server.fake.link_base or handler.server.fake.api_url
        headers["Link"] = f'<{base}{path}?{following}>; rel="next"'
    return chunk, headers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeGitHub]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else (b"" if data is None else json.dumps(data).encode())
        self.send_response(status)
        self.send_header(
            "Content-Type", "application/vnd.github.raw" if raw is not None else "application/json; charset=utf-8"
        )
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
        raw_body = self.rfile.read(length) if length else b""
        body = json.loads(raw_body) if raw_body else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            if limited:
                fake.rate_limited -= 1
        if limited:
            self._reply(
                403,
                {"message": "API rate limit exceeded for user ID 1."},
                {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1767225600"},
            )
            return
        if headers.get("authorization") != f"Bearer {fake.token}":
            self._reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            return
        try:
            with fake.lock:
                answer = _route(self, fake, self.command, unquote(parts.path), query, body, headers)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(*answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


Answer = tuple[int, Any, dict[str, str] | None, bytes | None]
REPO = re.compile(r"^/repos/([^/]+)/([^/]+)(?:/(.*))?$")


def _route(
    handler: _Handler,
    fake: FakeGitHub,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    headers: dict[str, str],
) -> Answer:
    if method == "GET" and path == "/user":
        return 200, {"login": LOGIN, "id": 1}, None, None
    if method == "GET" and path == "/user/repos":
        mine = [repo.json(fake.api_url) for repo in fake.repos.values() if LOGIN in repo.collaborators]
        return 200, *_page(handler, mine, query), None
    organization = re.match(r"^/orgs/([^/]+)/repos$", path)
    if method == "GET" and organization:
        if organization.group(1) not in fake.organizations:
            raise _Refusal(404, "Not Found")
        theirs = [repo.json(fake.api_url) for repo in fake.repos.values() if repo.owner == organization.group(1)]
        return 200, *_page(handler, theirs, query), None
    found = REPO.match(path)
    if not found:
        raise _Refusal(404, "Not Found")
    repo = fake.repos.get((found.group(1), found.group(2)))
    if repo is None:
        raise _Refusal(404, "Not Found")
    rest = found.group(3) or ""
    if rest == "" and method == "GET":
        return 200, repo.json(fake.api_url), None, None
    if rest == "branches" and method == "GET":
        branches = [
            {"name": name, "commit": {"sha": blob_sha(name.encode())}, "protected": False} for name in repo.files
        ]
        return 200, *_page(handler, branches, query), None
    if rest == "tags" and method == "GET":
        tags = [{"name": name, "commit": {"sha": blob_sha(name.encode())}} for name in repo.tags]
        return 200, *_page(handler, tags, query), None
    if rest == "issues" or rest.startswith("issues/"):
        return _issues(handler, fake, repo, method, rest, query, body)
    if rest == "contents" or rest.startswith("contents/"):
        return _contents(fake, repo, method, rest.removeprefix("contents").strip("/"), query, body, headers)
    if rest == "releases" or rest.startswith("releases/"):
        return _releases(handler, fake, repo, method, rest, query, body)
    raise _Refusal(404, "Not Found")


def _issue(repo: Repo, number: str) -> dict[str, Any]:
    for issue in repo.issues:
        if str(issue["number"]) == number:
            return issue
    raise _Refusal(404, "Not Found")


def _check_assignees(repo: Repo, resource: str, logins: list[str]) -> None:
    strangers = [login for login in logins if login not in repo.collaborators]
    if strangers:
        raise _Refusal(
            422,
            "Validation Failed",
            [{"resource": resource, "field": "assignees", "code": "invalid", "value": login} for login in strangers],
        )


def _issues(
    handler: _Handler, fake: FakeGitHub, repo: Repo, method: str, rest: str, query: dict[str, str], body: Any
) -> Answer:
    parts = rest.split("/")
    body = body or {}
    if len(parts) == 1 and method == "POST":
        if not str(body.get("title") or "").strip():
            raise _Refusal(422, "Validation Failed", [{"resource": "Issue", "field": "title", "code": "missing_field"}])
        _check_assignees(repo, "Issue", body.get("assignees") or [])
        return 201, fake._new_issue(repo, body), None, None
    if len(parts) == 1 and method == "GET":
        state = query.get("state", "open")
        chosen = [issue for issue in repo.issues if state == "all" or issue["state"] == state]
        wanted = {name for name in query.get("labels", "").split(",") if name}
        chosen = [i for i in chosen if wanted <= {label["name"] for label in i["labels"]}]
        key = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[query.get("sort", "created")]
        chosen.sort(key=lambda issue: (issue[key], issue["number"]), reverse=query.get("direction", "desc") == "desc")
        return 200, *_page(handler, chosen, query), None
    issue = _issue(repo, parts[1])
    if len(parts) == 2 and method == "GET":
        return 200, issue, None, None
    if len(parts) == 2 and method == "PATCH":
        if "title" in body and not str(body["title"]).strip():
            raise _Refusal(422, "Validation Failed", [{"resource": "Issue", "field": "title", "code": "missing_field"}])
        if body.get("state") not in (None, "open", "closed"):
            raise _Refusal(422, "Validation Failed", [{"resource": "Issue", "field": "state", "code": "invalid"}])
        _check_assignees(repo, "Issue", body.get("assignees") or [])
        for key in ("title", "body", "state"):
            if key in body:
                issue[key] = body[key]
        if "labels" in body:
            issue["labels"] = [{"name": name} for name in body["labels"]]
        if "assignees" in body:
            issue["assignees"] = [{"login": login} for login in body["assignees"]]
        return 200, issue, None, None
    if parts[2:] == ["comments"] and method == "POST":
        if not str(body.get("body") or "").strip():
            raise _Refusal(
                422, "Validation Failed", [{"resource": "IssueComment", "field": "body", "code": "missing_field"}]
            )
        comment = {
            "id": next(fake._ids),
            "body": body["body"],
            "user": {"login": LOGIN},
            "issue_url": f"{fake.api_url}/repos/{repo.owner}/{repo.name}/issues/{issue['number']}",
            "html_url": f"{issue['html_url']}#issuecomment-1",
        }
        repo.comments.append({**comment, "issue_number": issue["number"]})
        issue["comments"] += 1
        return 201, comment, None, None
    if parts[2:] == ["lock"] and method == "PUT":
        reason = body.get("lock_reason")
        if reason not in (None, "off-topic", "too heated", "resolved", "spam"):
            raise _Refusal(422, "Validation Failed", [{"resource": "Issue", "field": "lock_reason", "code": "invalid"}])
        issue["locked"], issue["active_lock_reason"] = True, reason
        return 204, None, None, None
    if parts[2:] == ["lock"] and method == "DELETE":
        issue["locked"], issue["active_lock_reason"] = False, None
        return 204, None, None, None
    raise _Refusal(404, "Not Found")


def _entry(fake: FakeGitHub, repo: Repo, path: str, data: bytes | None) -> dict[str, Any]:
    name = path.rsplit("/", 1)[-1]
    entry: dict[str, Any] = {"name": name, "path": path, "type": "dir" if data is None else "file"}
    entry["sha"] = blob_sha(path.encode() if data is None else data)
    entry["size"] = 0 if data is None else len(data)
    entry["url"] = f"{fake.api_url}/repos/{repo.owner}/{repo.name}/contents/{path}"
    entry["download_url"] = None if data is None else f"https://raw.example/{repo.owner}/{repo.name}/{path}"
    return entry


def _contents(
    fake: FakeGitHub, repo: Repo, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
) -> Answer:
    body = body or {}
    branch = query.get("ref") or body.get("branch") or repo.default_branch
    if branch not in repo.files:
        raise _Refusal(404, f"No commit found for the ref {branch}")
    files = repo.files[branch]
    current = files.get(path)
    if method == "GET":
        if current is not None:
            if "raw" in headers.get("accept", ""):
                return 200, None, None, current
            entry = _entry(fake, repo, path, current)
            if len(current) > fake.large_file_bytes:
                entry.update(content="", encoding="none")
            else:
                encoded = base64.b64encode(current).decode()
                # GitHub wraps the base64 text in lines of 60 characters.
                entry.update(content="\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n")
                entry["encoding"] = "base64"
            return 200, entry, None, None
        prefix = f"{path}/" if path else ""
        children: dict[str, bytes | None] = {}
        for name, data in files.items():
            if name.startswith(prefix):
                child, _, deeper = name[len(prefix) :].partition("/")
                children[prefix + child] = None if deeper else data
        if not children:
            raise _Refusal(404, "Not Found")
        return 200, [_entry(fake, repo, name, data) for name, data in sorted(children.items())], None, None
    if method == "PUT":
        if not body.get("message"):
            raise _Refusal(422, 'Invalid request.\n\n"message" wasn\'t supplied.')
        if current is not None and not body.get("sha"):
            raise _Refusal(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and body["sha"] != blob_sha(current):
            raise _Refusal(409, f"{path} does not match {body['sha']}")
        data = base64.b64decode(body.get("content") or "")
        files[path] = data
        commit = {"sha": f"c0ffee{next(fake._commits):034d}", "message": body["message"]}
        return (
            (200 if current is not None else 201),
            {"content": _entry(fake, repo, path, data), "commit": commit},
            None,
            None,
        )
    if method == "DELETE":
        if current is None:
            raise _Refusal(404, "Not Found")
        if body.get("sha") != blob_sha(current):
            raise _Refusal(409, f"{path} does not match {body.get('sha')}")
        del files[path]
        commit = {"sha": f"c0ffee{next(fake._commits):034d}", "message": body.get("message")}
        return 200, {"content": None, "commit": commit}, None, None
    raise _Refusal(404, "Not Found")


def _release(repo: Repo, release_id: str) -> dict[str, Any]:
    for release in repo.releases:
        if str(release["id"]) == release_id:
            return release
    raise _Refusal(404, "Not Found")


def _releases(
    handler: _Handler, fake: FakeGitHub, repo: Repo, method: str, rest: str, query: dict[str, str], body: Any
) -> Answer:
    parts = rest.split("/")
    body = body or {}
    if len(parts) == 1 and method == "GET":
        newest_first = sorted(repo.releases, key=lambda release: release["id"], reverse=True)
        return 200, *_page(handler, newest_first, query), None
    if len(parts) == 1 and method == "POST":
        tag = str(body.get("tag_name") or "")
        if not tag:
            raise _Refusal(
                422, "Validation Failed", [{"resource": "Release", "field": "tag_name", "code": "missing_field"}]
            )
        if any(release["tag_name"] == tag for release in repo.releases):
            raise _Refusal(
                422, "Validation Failed", [{"resource": "Release", "field": "tag_name", "code": "already_exists"}]
            )
        if tag not in repo.tags:
            repo.tags.append(tag)
        release_id = next(fake._ids)
        release = {
            "id": release_id,
            "tag_name": tag,
            "target_commitish": body.get("target_commitish") or repo.default_branch,
            "name": body.get("name") or tag,
            "body": body.get("body"),
            "draft": bool(body.get("draft")),
            "prerelease": bool(body.get("prerelease")),
            "html_url": f"https://github.com/{repo.owner}/{repo.name}/releases/tag/{tag}",
        }
        repo.releases.append(release)
        return 201, release, None, None
    if parts[1:] == ["latest"] and method == "GET":
        published = [r for r in repo.releases if not r["draft"] and not r["prerelease"]]
        if not published:
            raise _Refusal(404, "Not Found")
        return 200, max(published, key=lambda release: release["id"]), None, None
    release = _release(repo, parts[1])
    if method == "GET":
        return 200, release, None, None
    if method == "PATCH":
        for key in ("tag_name", "name", "body", "draft", "prerelease"):
            if key in body:
                release[key] = body[key]
        return 200, release, None, None
    if method == "DELETE":
        repo.releases.remove(release)
        return 204, None, None, None
    raise _Refusal(404, "Not Found")


@contextmanager
def fake_github_server(token: str = TOKEN) -> Iterator[FakeGitHub]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeGitHub(host, port, token=token), name="fake-github") as fake:
        yield fake
