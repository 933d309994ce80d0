"""A real GraphQL server on 127.0.0.1 speaking the part of Linear's API the Linear nodes use (graphql-core).

Routes:
    ``POST /graphql``   ``{"query", "variables"}`` with ``Authorization: <API key>`` (the key itself, no "Bearer"),
                        else 400 with an ``AUTHENTICATION_ERROR``; ``application/json`` only.

The schema (:data:`SDL`, a slice of Linear's): ``viewer``; ``issue(id)`` by id or identifier (``ENG-1``);
``issues(filter, first, after, orderBy, includeArchived)`` newest first, paged by ``pageInfo.endCursor`` with
``first`` at most 250, filtered by ``team.id.eq``, ``assignee.id.eq`` and ``state.name.eq``/``eqIgnoreCase``;
``issueCreate(input)``, ``issueUpdate(id, input)`` and ``issueDelete(id, permanentlyDelete)`` (to the trash: archived,
left out of lists unless ``includeArchived``). Unknown issues, teams, states, users and labels answer an error with
``extensions.code`` ``INVALID_INPUT`` and a ``userPresentableMessage``, as Linear does, and ``data: null``. Set
:attr:`FakeLinear.rate_limited` to answer the next that many requests with HTTP 400, a ``RATELIMITED`` error and
``X-RateLimit-Requests-Reset``. Every request is recorded.
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

import graphql

from tests.fakes.serving import FakeServer, serve

API_KEY = "lin_api_fakeFAKEfake0123456789"
VIEWER = {"id": "u-0001-viewer", "name": "HITL Bot", "email": "bot@example.com"}
ALICE = {"id": "u-0002-alice", "name": "Alice", "email": "alice@example.com"}
TEAM = {"id": "t-0001-eng", "key": "ENG", "name": "Engineering"}
OTHER_TEAM = {"id": "t-0002-ops", "key": "OPS", "name": "Operations"}
LABELS = {"l-0001-bug": "Bug", "l-0002-feature": "Feature"}
STATE_NAMES = (("Todo", "unstarted"), ("In Progress", "started"), ("Done", "completed"))
PRIORITY_LABELS = ("No priority", "Urgent", "High", "Medium", "Low")
MAX_FIRST = 250
RESET_MS = "1767225600000"

SDL = """
scalar DateTime
scalar TimelessDate

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type User { id: ID! name: String! email: String! }
type Team { id: ID! key: String! name: String! }
type WorkflowState { id: ID! name: String! type: String! }
type IssueLabel { id: ID! name: String! }
type IssueLabelConnection { nodes: [IssueLabel!]! }
type Issue {
  id: ID! identifier: String! title: String! description: String priority: Float! priorityLabel: String!
  dueDate: TimelessDate url: String! createdAt: DateTime! updatedAt: DateTime! archivedAt: DateTime
  state: WorkflowState! team: Team! assignee: User labels: IssueLabelConnection!
}
type IssueConnection { nodes: [Issue!]! pageInfo: PageInfo! }
type IssuePayload { success: Boolean! lastSyncId: Float! issue: Issue }
type IssueArchivePayload { success: Boolean! lastSyncId: Float! entity: Issue }

input IDComparator { eq: ID neq: ID in: [ID!] }
input StringComparator { eq: String neq: String eqIgnoreCase: String in: [String!] }
input TeamFilter { id: IDComparator key: StringComparator }
input NullableUserFilter { id: IDComparator null: Boolean }
input WorkflowStateFilter { id: IDComparator name: StringComparator type: StringComparator }
input IssueFilter { team: TeamFilter assignee: NullableUserFilter state: WorkflowStateFilter }
enum PaginationOrderBy { createdAt updatedAt }

input IssueCreateInput {
  teamId: String! title: String description: String priority: Int assigneeId: String stateId: String
  labelIds: [String!] dueDate: TimelessDate
}
input IssueUpdateInput {
  teamId: String title: String description: String priority: Int assigneeId: String stateId: String
  labelIds: [String!] dueDate: TimelessDate
}

type Query {
  viewer: User!
  issue(id: String!): Issue!
  issues(filter: IssueFilter, first: Int, after: String, orderBy: PaginationOrderBy, includeArchived: Boolean):
    IssueConnection!
}
type Mutation {
  issueCreate(input: IssueCreateInput!): IssuePayload!
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
  issueDelete(id: String!, permanentlyDelete: Boolean): IssueArchivePayload!
}
"""
SCHEMA = graphql.build_schema(SDL)


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; the JSON body)."""

    headers: dict[str, str]
    body: Any

    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.body.get("variables") or {})


def _not_found(kind: str) -> graphql.GraphQLError:
    return graphql.GraphQLError(
        f"Entity not found: {kind}",
        extensions={
            "type": "invalid input",
            "code": "INVALID_INPUT",
            "statusCode": 400,
            "userError": True,
            "userPresentableMessage": f"Could not find referenced {kind}.",
        },
    )


def _invalid(problem: str) -> graphql.GraphQLError:
    return graphql.GraphQLError(
        "Argument Validation Error",
        extensions={
            "type": "invalid input",
            "code": "INVALID_INPUT",
            "statusCode": 400,
            "userError": True,
            "userPresentableMessage": problem,
        },
    )


@dataclass
class FakeLinear:
    host: str
    port: int
    api_key: str = API_KEY
    teams: list[dict[str, Any]] = field(default_factory=lambda: [dict(TEAM), dict(OTHER_TEAM)])
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Workflow states by id; each remembers its team's id."""
    issues: list[dict[str, Any]] = field(default_factory=list)
    """Every issue, trashed ones too (with ``archivedAt``), in creation order."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        for team in self.teams:
            for name, kind in STATE_NAMES:
                state_id = f"s-{team['key'].lower()}-{kind}"
                self.states[state_id] = {"id": state_id, "name": name, "type": kind, "team_id": team["id"]}

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, api_key: str = API_KEY) -> dict[str, str]:
        """The ``linear_api`` credential's data that reaches this server."""
        return {"api_key": api_key, "api_url": self.api_url}

    def state_id(self, name: str, team: dict[str, Any] = TEAM) -> str:
        return next(s["id"] for s in self.states.values() if s["name"] == name and s["team_id"] == team["id"])

    def add_issue(self, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"teamId": TEAM["id"], "title": title, **fields})

    def issue(self, key: str) -> dict[str, Any]:
        with self.lock:
            return self._find(key, archived=True)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def _stamp(self) -> str:
        tick = next(self._clock)
        return f"2026-01-01T{tick // 3600:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}.000Z"

    def _find(self, key: str, *, archived: bool = False) -> dict[str, Any]:
        for issue in self.issues:
            if key in (issue["id"], issue["identifier"]) and (archived or not issue["archivedAt"]):
                return issue
        raise _not_found("Issue")

    def _team(self, team_id: str) -> dict[str, Any]:
        for team in self.teams:
            if team["id"] == team_id:
                return team
        raise _not_found("Team")

    def _apply(self, issue: dict[str, Any], data: dict[str, Any]) -> None:
        if "teamId" in data:
            issue["team"] = self._team(data["teamId"])
        if "stateId" in data:
            state = self.states.get(data["stateId"])
            if state is None:
                raise _not_found("WorkflowState")
            if state["team_id"] != issue["team"]["id"]:
                raise _invalid("The workflow state does not belong to the issue's team.")
            issue["state"] = {key: state[key] for key in ("id", "name", "type")}
        elif "teamId" in data or "state" not in issue:
            default = self.states[self.state_id("Todo", issue["team"])]
            issue["state"] = {key: default[key] for key in ("id", "name", "type")}
        if "title" in data:
            if not str(data["title"] or "").strip():
                raise _invalid("title should not be empty")
            issue["title"] = data["title"]
        if "description" in data:
            issue["description"] = data["description"]
        if "priority" in data:
            if data["priority"] not in range(5):
                raise _invalid("priority must not be greater than 4")
            issue["priority"] = float(data["priority"])
            issue["priorityLabel"] = PRIORITY_LABELS[data["priority"]]
        if "assigneeId" in data:
            users = {user["id"]: user for user in (VIEWER, ALICE)}
            if data["assigneeId"] not in users:
                raise _not_found("User")
            issue["assignee"] = dict(users[data["assigneeId"]])
        if "labelIds" in data:
            unknown = [label for label in data["labelIds"] if label not in LABELS]
            if unknown:
                raise _not_found("IssueLabel")
            issue["labels"] = {"nodes": [{"id": label, "name": LABELS[label]} for label in data["labelIds"]]}
        if "dueDate" in data:
            issue["dueDate"] = data["dueDate"]
        issue["updatedAt"] = self._stamp()

    def _create(self, data: dict[str, Any]) -> dict[str, Any]:
        team = self._team(data["teamId"])
        if not str(data.get("title") or "").strip():
            raise _invalid("title should not be empty")
        number = 1 + sum(1 for issue in self.issues if issue["team"]["id"] == team["id"])
        identifier = f"{team['key']}-{number}"
        stamp = self._stamp()
        issue: dict[str, Any] = {
            "id": f"i-{len(self.issues) + 1:04d}",
            "identifier": identifier,
            "title": "",
            "description": None,
            "priority": 0.0,
            "priorityLabel": PRIORITY_LABELS[0],
            "dueDate": None,
            "url": f"https://linear.app/acme/issue/{identifier}",
            "createdAt": stamp,
            "archivedAt": None,
            "team": team,
            "assignee": None,
            "labels": {"nodes": []},
        }
        self._apply(issue, data)
        self.issues.append(issue)
        return issue


def _matches(issue: dict[str, Any], wanted: dict[str, Any] | None) -> bool:
    for part, comparators in (wanted or {}).items():
        for attribute, comparator in comparators.items():
            value = (issue.get(part) or {}).get(attribute)
            for operator, expected in comparator.items():
                if operator == "eq" and value != expected:
                    return False
                if operator == "neq" and value == expected:
                    return False
                if operator == "in" and value not in expected:
                    return False
                if operator == "eqIgnoreCase" and str(value or "").casefold() != str(expected).casefold():
                    return False
    return True


class _Root:
    """Resolvers of the top-level fields; ``info.context`` is the fake, whose lock the handler holds."""

    @staticmethod
    def viewer(_info: Any) -> dict[str, Any]:
        return VIEWER

    @staticmethod
    def issue(info: Any, id: str) -> dict[str, Any]:
        return info.context._find(id)

    @staticmethod
    def issues(
        info: Any,
        filter: dict[str, Any] | None = None,
        first: int | None = None,
        after: str | None = None,
        orderBy: str = "createdAt",
        includeArchived: bool = False,
    ) -> dict[str, Any]:
        fake: FakeLinear = info.context
        size = 50 if first is None else first
        if not 0 < size <= MAX_FIRST:
            raise _invalid(f"first must be between 1 and {MAX_FIRST}")
        chosen = [i for i in fake.issues if (includeArchived or not i["archivedAt"]) and _matches(i, filter)]
        chosen.sort(key=lambda issue: (issue[orderBy], issue["id"]), reverse=True)
        start = 0
        if after:
            ids = [issue["id"] for issue in chosen]
            if after not in ids:
                raise _invalid("the cursor is not valid")
            start = ids.index(after) + 1
        page = chosen[start : start + size]
        more = start + size < len(chosen)
        return {
            "nodes": page,
            "pageInfo": {
                "hasNextPage": more,
                "hasPreviousPage": start > 0,
                "startCursor": page[0]["id"] if page else None,
                "endCursor": page[-1]["id"] if page else None,
            },
        }

    @staticmethod
    def issueCreate(info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return {"success": True, "lastSyncId": 1.0, "issue": info.context._create(input)}

    @staticmethod
    def issueUpdate(info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        fake: FakeLinear = info.context
        issue = fake._find(id)
        fake._apply(issue, input)
        return {"success": True, "lastSyncId": 2.0, "issue": issue}

    @staticmethod
    def issueDelete(info: Any, id: str, permanentlyDelete: bool = False) -> dict[str, Any]:
        fake: FakeLinear = info.context
        issue = fake._find(id)
        if permanentlyDelete:
            fake.issues.remove(issue)
        else:
            issue["archivedAt"] = fake._stamp()
        return {"success": True, "lastSyncId": 3.0, "entity": issue}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeLinear]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = json.loads(raw) if raw and headers.get("content-type", "").startswith("application/json") else {}
        with fake.lock:
            fake.requests.append(Received(headers, request))
            limited = fake.rate_limited > 0
            if limited:
                fake.rate_limited -= 1
        if self.path != "/graphql":
            self._json(404, {"errors": [{"message": f"Cannot POST {self.path}"}]})
            return
        if limited:
            error = {
                "message": "Rate limit exceeded",
                "extensions": {
                    "type": "ratelimited",
                    "code": "RATELIMITED",
                    "userPresentableMessage": "Too many requests. Please try again later.",
                },
            }
            self._json(400, {"errors": [error]}, {"X-RateLimit-Requests-Reset": RESET_MS})
            return
        if headers.get("authorization") != fake.api_key:
            error = {
                "message": "Authentication required, not authenticated",
                "extensions": {
                    "type": "authentication error",
                    "code": "AUTHENTICATION_ERROR",
                    "statusCode": 401,
                    "userError": True,
                    "userPresentableMessage": "You need to authenticate to access this operation.",
                },
            }
            self._json(400, {"errors": [error]})
            return
        if not isinstance(request.get("query"), str):
            self._json(400, {"errors": [{"message": "Must provide query string."}]})
            return
        with fake.lock:
            result = graphql.graphql_sync(
                SCHEMA,
                request["query"],
                root_value=_Root,
                context_value=fake,
                variable_values=request.get("variables"),
                operation_name=request.get("operationName"),
            )
        self._json(200 if result.data is not None or not result.errors else 400, result.formatted)


@contextmanager
def fake_linear_server() -> Iterator[FakeLinear]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeLinear, name="fake-linear") as fake:
        yield fake
