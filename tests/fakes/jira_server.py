"""A real HTTP server on 127.0.0.1 speaking the part of the Jira Cloud REST API v3 the Jira nodes use.

Routes (``Authorization: Basic <email:api token>``, else 401 with Jira's text body):
    ``GET /rest/api/3/myself``                              the account (:data:`ME`).
    ``POST /rest/api/3/issue``                              create: 201 ``{id, key, self}``; 400 with ``errors`` by
                                                            field for a missing summary, an unknown project, issue
                                                            type, priority or assignee, a description that is not an
                                                            Atlassian Document, a label with spaces, or a field id
                                                            the screen lacks (see :data:`SETTABLE`).
    ``GET|PUT|DELETE /rest/api/3/issue/<key or id>``        one issue (``fields`` picks fields); edit (204, or 200
                                                            with the issue when ``returnIssue=true``); delete (204;
                                                            400 for an issue with subtasks unless ``deleteSubtasks``).
    ``GET|POST /rest/api/3/issue/<key>/transitions``        the transitions from its status; apply one by ``id``
                                                            (400 for one not offered), optionally with a comment.
    ``POST /rest/api/3/search/jql``                         ``{jql, fields, maxResults, nextPageToken}`` →
                                                            ``{issues, nextPageToken, isLast}``; the JQL is clauses
                                                            ``field = value`` / ``!=`` joined by AND (project,
                                                            status, labels, assignee, issuetype) and ``ORDER BY``;
                                                            400 for JQL without a restriction or it cannot read.
    ``GET|POST /rest/api/3/issue/<key>/comment``            ``{startAt, maxResults, total, comments}`` (``orderBy``)
                                                            or add one (``body`` must be an Atlassian Document).
    ``GET|PUT|DELETE /rest/api/3/issue/<key>/comment/<id>`` one comment.
Unknown issues and comments are 404 with ``errorMessages``. Pages hold at most 100 entries. Set
:attr:`FakeJira.rate_limited` to answer the next that many requests with 429 and ``Retry-After``. Every request is
recorded.
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

EMAIL = "bot@example.com"
API_TOKEN = "ATATTfakeFAKEfake0123456789"
ME = {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "HITL Bot", "emailAddress": EMAIL, "active": True}
ALICE = {"accountId": "712020:a11ce", "displayName": "Alice", "active": True}
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
ISSUE_TYPES = ("Task", "Bug", "Story", "Epic", "Subtask")
SETTABLE = {
    "project",
    "issuetype",
    "summary",
    "description",
    "labels",
    "priority",
    "assignee",
    "parent",
    "duedate",
    "customfield_10016",
}
TRANSITIONS = [
    {"id": "11", "name": "Back to do", "to": "To Do"},
    {"id": "21", "name": "Start work", "to": "In Progress"},
    {"id": "31", "name": "Done", "to": "Done"},
]
MAX_RESULTS = 100


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__(str(messages or errors))
        self.status = status
        self.body = {"errorMessages": messages or [], "errors": errors or {}}


def is_document(value: Any) -> bool:
    """Whether ``value`` looks like an Atlassian Document (``{"type": "doc", "version": 1, "content": [...]}``)."""
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


@dataclass
class FakeJira:
    host: str
    port: int
    email: str = EMAIL
    token: str = API_TOKEN
    projects: set[str] = field(default_factory=lambda: {"PROJ"})
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Comments by issue id, oldest first."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(10001))
    _seconds: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def site_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = API_TOKEN) -> dict[str, str]:
        """The ``jira_cloud_api`` credential's data that reaches this server."""
        return {"site_url": self.site_url, "email": self.email, "api_token": token}

    def add_issue(self, summary: str, project: str = "PROJ", **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_issue({"project": {"key": project}, "summary": summary, **fields})

    def add_comment(self, issue: dict[str, Any], text: str) -> dict[str, Any]:
        with self.lock:
            return self._new_comment(issue, document(text))

    def issue(self, key: str) -> dict[str, Any]:
        with self.lock:
            return _issue(self, key)

    def received(self, method: str | None = None, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_part in r.path]

    def _stamp(self) -> str:
        second = next(self._seconds)
        return f"2026-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000+0000"

    def _new_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        project = fields["project"]["key"]
        number = 1 + sum(1 for issue in self.issues if issue["fields"]["project"]["key"] == project)
        issue_id = str(next(self._ids))
        stamp = self._stamp()
        issue: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue_id,
            "self": f"{self.site_url}/rest/api/3/issue/{issue_id}",
            "key": f"{project}-{number}",
            "fields": {
                "project": {"key": project, "name": project.title()},
                "issuetype": {"name": (fields.get("issuetype") or {}).get("name", "Task")},
                "summary": fields["summary"],
                "description": fields.get("description"),
                "status": {"name": fields.get("status", "To Do")},
                "labels": list(fields.get("labels") or []),
                "priority": {"name": (fields.get("priority") or {}).get("name", "Medium")},
                "assignee": None,
                "reporter": {"accountId": ME["accountId"], "displayName": ME["displayName"]},
                "subtasks": [],
                "created": stamp,
                "updated": stamp,
            },
        }
        self._apply(issue, {key: value for key, value in fields.items() if key not in ("status",)})
        parent = fields.get("parent")
        if parent:
            owner = _issue(self, parent["key"])
            issue["fields"]["parent"] = {"id": owner["id"], "key": owner["key"]}
            owner["fields"]["subtasks"].append({"id": issue_id, "key": issue["key"]})
        self.issues.append(issue)
        return issue

    def _apply(self, issue: dict[str, Any], fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if name == "assignee":
                issue["fields"]["assignee"] = _account(value)
            elif name in ("project", "parent"):
                continue
            else:
                issue["fields"][name] = value

    def _new_comment(self, issue: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        comment_id = str(next(self._ids))
        stamp = self._stamp()
        author = {"accountId": ME["accountId"], "displayName": ME["displayName"]}
        comment = {
            "self": f"{self.site_url}/rest/api/3/issue/{issue['id']}/comment/{comment_id}",
            "id": comment_id,
            "author": author,
            "updateAuthor": author,
            "body": body,
            "created": stamp,
            "updated": stamp,
            "jsdPublic": True,
        }
        self.comments.setdefault(issue["id"], []).append(comment)
        return comment


def document(text: str) -> dict[str, Any]:
    """A one-paragraph Atlassian Document, for comments a test sets up."""
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def _account(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    account = value.get("accountId") if isinstance(value, dict) else None
    for known in (ME, ALICE):
        if known["accountId"] == account:
            return {"accountId": account, "displayName": known["displayName"]}
    raise _Refusal(400, errors={"assignee": f"User '{account}' does not exist."})


def _issue(fake: FakeJira, key: str) -> dict[str, Any]:
    for issue in fake.issues:
        if key in (issue["key"], issue["id"]):
            return issue
    raise _Refusal(404, ["Issue does not exist or you do not have permission to see it."])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeJira]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None, text: str | None = None) -> None:
        body = text.encode() if text is not None else (b"" if data is None else json.dumps(data).encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/plain;charset=UTF-8" if text is not None else "application/json")
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
            self._reply(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, {"Retry-After": "5"})
            return
        expected = "Basic " + base64.b64encode(f"{fake.email}:{fake.token}".encode()).decode()
        if headers.get("authorization") != expected:
            self._reply(401, None, text="Client must be authenticated to access this resource.")
            return
        segments = [unquote(segment) for segment in parts.path.split("/")[1:]]
        if segments[:3] != ["rest", "api", "3"]:
            self._reply(404, None, text="<html><body>Page not found</body></html>")
            return
        try:
            with fake.lock:
                status, data = _route(fake, self.command, segments[3:], query, body)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


Answer = tuple[int, Any]


def _route(fake: FakeJira, method: str, segments: list[str], query: dict[str, str], body: Any) -> Answer:
    if segments == ["myself"] and method == "GET":
        return 200, ME
    if segments == ["search", "jql"] and method == "POST":
        return 200, _search(fake, body)
    if segments == ["issue"] and method == "POST":
        return 201, _create(fake, body)
    if len(segments) < 2 or segments[0] != "issue":
        raise _Refusal(404, ["null for uri: " + "/".join(segments)])
    issue = _issue(fake, segments[1])
    rest = segments[2:]
    if not rest:
        return _one_issue(fake, issue, method, query, body)
    if rest == ["transitions"]:
        return _transitions(fake, issue, method, body)
    if rest[0] == "comment":
        return _comments(fake, issue, method, rest[1:], query, body)
    raise _Refusal(404, ["null for uri: " + "/".join(segments)])


def _check_fields(fake: FakeJira, fields: dict[str, Any], *, creating: bool) -> None:
    errors: dict[str, str] = {}
    for name in fields:
        if name not in SETTABLE:
            errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
    if creating:
        if (fields.get("project") or {}).get("key") not in fake.projects:
            errors["project"] = "valid project is required"
        if (fields.get("issuetype") or {}).get("name") not in ISSUE_TYPES:
            errors["issuetype"] = "Specify a valid issue type"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
    if "description" in fields and fields["description"] is not None and not is_document(fields["description"]):
        errors["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    spaced = [label for label in fields.get("labels") or [] if " " in label]
    if spaced:
        errors["labels"] = f"The label '{spaced[0]}' contains spaces which is invalid."
    if "priority" in fields and (fields["priority"] or {}).get("name") not in PRIORITIES:
        errors["priority"] = "Specify the Priority (id or name) in the string format"
    if errors:
        raise _Refusal(400, errors=errors)
    if "assignee" in fields:
        _account(fields["assignee"])


def _create(fake: FakeJira, body: Any) -> dict[str, Any]:
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise _Refusal(400, ["Issue must be created with fields."])
    _check_fields(fake, fields, creating=True)
    issue = fake._new_issue(fields)
    return {"id": issue["id"], "key": issue["key"], "self": issue["self"]}


def _shaped(issue: dict[str, Any], wanted: str | list[str] | None) -> dict[str, Any]:
    """The issue with only the fields asked for (all for none, ``*all`` or ``*navigable``)."""
    names = [name.strip() for name in wanted.split(",")] if isinstance(wanted, str) else list(wanted or [])
    names = [name for name in names if name]
    if not names or "*all" in names or "*navigable" in names:
        return issue
    return {**issue, "fields": {name: issue["fields"][name] for name in names if name in issue["fields"]}}


def _one_issue(fake: FakeJira, issue: dict[str, Any], method: str, query: dict[str, str], body: Any) -> Answer:
    if method == "GET":
        return 200, _shaped(issue, query.get("fields"))
    if method == "PUT":
        fields = body.get("fields") or {}
        _check_fields(fake, fields, creating=False)
        fake._apply(issue, fields)
        issue["fields"]["updated"] = fake._stamp()
        return (200, issue) if query.get("returnIssue") == "true" else (204, None)
    if method == "DELETE":
        subtasks = issue["fields"]["subtasks"]
        if subtasks and query.get("deleteSubtasks") != "true":
            raise _Refusal(400, ["The issue has subtasks. To delete it, delete its subtasks too (deleteSubtasks)."])
        doomed = {issue["id"]} | {subtask["id"] for subtask in subtasks}
        fake.issues[:] = [entry for entry in fake.issues if entry["id"] not in doomed]
        return 204, None
    raise _Refusal(405, ["Method not allowed."])


def _offered(issue: dict[str, Any]) -> list[dict[str, Any]]:
    status = issue["fields"]["status"]["name"]
    return [
        {"id": t["id"], "name": t["name"], "to": {"name": t["to"]}, "hasScreen": False, "isAvailable": True}
        for t in TRANSITIONS
        if t["to"] != status
    ]


def _transitions(fake: FakeJira, issue: dict[str, Any], method: str, body: Any) -> Answer:
    offered = _offered(issue)
    if method == "GET":
        return 200, {"expand": "transitions", "transitions": offered}
    wanted = str((body.get("transition") or {}).get("id") or "")
    chosen = next((t for t in offered if t["id"] == wanted), None)
    if chosen is None:
        raise _Refusal(400, [f"Transition id '{wanted}' is not valid for this issue."])
    issue["fields"]["status"] = {"name": chosen["to"]["name"]}
    for change in (body.get("update") or {}).get("comment") or []:
        added = change.get("add") or {}
        if not is_document(added.get("body")):
            raise _Refusal(400, errors={"comment": "Comment body must be an Atlassian Document."})
        fake._new_comment(issue, added["body"])
    return 204, None


JQL_CLAUSE = re.compile(r'^\s*(\w+)\s*(!=|=)\s*("([^"]*)"|(\S+))\s*$')
JQL_FIELDS = {
    "project": lambda issue: [issue["fields"]["project"]["key"]],
    "status": lambda issue: [issue["fields"]["status"]["name"]],
    "labels": lambda issue: issue["fields"]["labels"],
    "issuetype": lambda issue: [issue["fields"]["issuetype"]["name"]],
    "assignee": lambda issue: [(issue["fields"]["assignee"] or {}).get("accountId")],
}


def _search(fake: FakeJira, body: Any) -> dict[str, Any]:
    text = str(body.get("jql") or "").strip()
    ordering = re.search(r"(?:^|\s)ORDER\s+BY\s+(.*)$", text, flags=re.I)
    order = ordering.group(1) if ordering else ""
    where = text[: ordering.start()] if ordering else text
    clauses = [clause for clause in re.split(r"\s+AND\s+", where.strip(), flags=re.I) if clause.strip()]
    if not clauses:
        raise _Refusal(
            400, ["Unbounded JQL queries are not allowed here. Please add a search restriction to your query."]
        )
    chosen = list(fake.issues)
    for clause in clauses:
        found = JQL_CLAUSE.match(clause)
        if not found or found.group(1).lower() not in JQL_FIELDS:
            raise _Refusal(400, [f"Error in the JQL Query: cannot read '{clause.strip()}'."])
        name, operator = found.group(1).lower(), found.group(2)
        value = found.group(4) if found.group(4) is not None else found.group(5)
        if value == "currentUser()":
            value = ME["accountId"]
        values = JQL_FIELDS[name]
        chosen = [issue for issue in chosen if (value in values(issue)) == (operator == "=")]
    sort_key, _, direction = (order.strip() or "created DESC").partition(" ")
    chosen.sort(key=lambda issue: (issue["fields"].get(sort_key.lower()) or "", int(issue["id"])))
    if direction.strip().upper() != "ASC":
        chosen.reverse()
    start = int(base64.b64decode(body["nextPageToken"]).decode()) if body.get("nextPageToken") else 0
    size = min(int(body.get("maxResults") or 50), MAX_RESULTS)
    page = chosen[start : start + size]
    wanted = body.get("fields")
    shaped = [_shaped(issue, wanted) if wanted else {"id": issue["id"]} for issue in page]
    answer: dict[str, Any] = {"issues": shaped, "isLast": start + size >= len(chosen)}
    if not answer["isLast"]:
        answer["nextPageToken"] = base64.b64encode(str(start + size).encode()).decode()
    return answer


def _comment(fake: FakeJira, issue: dict[str, Any], comment_id: str) -> dict[str, Any]:
    for comment in fake.comments.get(issue["id"], []):
        if comment["id"] == comment_id:
            return comment
    raise _Refusal(404, [f"Can not find a comment for the id: {comment_id}."])


def _comments(
    fake: FakeJira, issue: dict[str, Any], method: str, rest: list[str], query: dict[str, str], body: Any
) -> Answer:
    existing = fake.comments.setdefault(issue["id"], [])
    if not rest and method == "GET":
        ordered = list(reversed(existing)) if query.get("orderBy") == "-created" else list(existing)
        start = int(query.get("startAt", 0))
        size = min(int(query.get("maxResults", 50)), MAX_RESULTS)
        page = ordered[start : start + size]
        return 200, {"startAt": start, "maxResults": size, "total": len(ordered), "comments": page}
    if not rest and method == "POST":
        if not is_document(body.get("body")):
            raise _Refusal(400, errors={"comment": "Comment body can not be empty!"})
        return 201, fake._new_comment(issue, body["body"])
    comment = _comment(fake, issue, rest[0])
    if method == "GET":
        return 200, comment
    if method == "PUT":
        if not is_document(body.get("body")):
            raise _Refusal(400, errors={"comment": "Comment body can not be empty!"})
        comment.update(body=body["body"], updated=fake._stamp())
        return 200, comment
    if method == "DELETE":
        existing.remove(comment)
        return 204, None
    raise _Refusal(405, ["Method not allowed."])


@contextmanager
def fake_jira_server() -> Iterator[FakeJira]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeJira, name="fake-jira") as fake:
        yield fake
