"""A real HTTP server on 127.0.0.1 speaking the part of Opsgenie's Alert API v2 the Opsgenie node uses.

Routes (``Authorization: GenieKey <key>``, else 401 ``Could not authenticate``); every answer carries ``took`` and
``requestId``:
    ``POST /v2/alerts``                          create: 202 ``Request will be processed`` (422 with ``errors`` for an
                                                 empty message, a priority other than P1-P5, details that are not
                                                 texts, a responder without a known type or a reference, or a team
                                                 responder named other than :data:`TEAMS`).
    ``GET /v2/alerts``                           search with ``query`` (``field:value`` terms joined by AND, on status,
                                                 priority, tag, alias; other text matches the message), ``sort``,
                                                 ``order``, ``offset`` and ``limit`` (1 to 100, else 422);
                                                 ``paging.next`` while more remain.
    ``GET|DELETE /v2/alerts/<identifier>``       one alert by ``identifierType`` id (default), alias or tiny (404
                                                 ``Alert does not exist``); delete, 202.
    ``POST /v2/alerts/<identifier>/close``, ``/acknowledge``, ``/notes``  actions, 202 (422 for an empty note).
    ``GET /v2/alerts/requests/<requestId>``      the outcome of a write: 404 ``Request not found. It might not be
                                                 processed, yet.`` for the first :attr:`FakeOpsgenie.pending_polls`
                                                 asks, then ``{"data": {"success", "action", "isSuccess", "status",
                                                 "alertId", "alias", ...}}``; an action on an alert that does not exist
                                                 is processed with ``isSuccess: false`` and ``Alert does not exist``.
Writes are processed as Opsgenie does, after the 202: the alert changes when the request is accepted, its outcome is
readable once processed. Set :attr:`FakeOpsgenie.rate_limited` to answer the next that many requests with 429.
Every request is recorded.
"""

from __future__ import annotations

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
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "eb243592-fake-4ba2-a551-1afdf565c889"
INTEGRATION = {"id": "c9cec2cb-e782-4ebb-bc1d-1b2fa703cf03", "name": "HITL Studio", "type": "API"}
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
RESPONDER_TYPES = ("team", "user", "escalation", "schedule")
TEAMS = ("Ops", "Databases")
MAX_LIMIT = 100
TERM = re.compile(r"^(\w+):(.+)$")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message}
        if errors is not None:
            self.body["errors"] = errors


def _unprocessable(errors: dict[str, str]) -> _Refusal:
    return _Refusal(422, "Request body is not processable. Please check the errors.", errors)


@dataclass
class FakeOpsgenie:
    host: str
    port: int
    api_key: str = API_KEY
    alerts: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Processed writes by request id, as ``GET /v2/alerts/requests/<id>`` answers them."""
    polls: dict[str, int] = field(default_factory=dict)
    pending_polls: int = 0
    """How many times a new request's outcome answers 404 (not processed yet) before it is readable."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _tiny: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, api_key: str = API_KEY) -> dict[str, Any]:
        """The ``opsgenie_api`` credential that reaches this server."""
        return {"api_key": api_key, "region": "custom", "custom_url": self.url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_alert(self, message: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"message": message, **fields})

    def find(self, identifier: str, kind: str = "id") -> dict[str, Any] | None:
        key = {"id": "id", "alias": "alias", "tiny": "tinyId"}[kind]
        return next((alert for alert in self.alerts if alert[key] == identifier), None)

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        tiny = next(self._tiny)
        alert_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"alert-{tiny}"))
        stamp = body.get("createdAt") or f"2026-01-01T08:{tiny // 60 % 60:02d}:{tiny % 60:02d}.000Z"
        alert = {
            "id": alert_id,
            "tinyId": str(tiny),
            "alias": body.get("alias") or alert_id,
            "message": body["message"][:130],
            "status": body.get("status", "open"),
            "acknowledged": False,
            "isSeen": False,
            "tags": list(body.get("tags") or []),
            "snoozed": False,
            "count": 1,
            "lastOccurredAt": stamp,
            "createdAt": stamp,
            "updatedAt": stamp,
            "source": body.get("source") or "127.0.0.1",
            "owner": "",
            "priority": body.get("priority") or "P3",
            "responders": list(body.get("responders") or []),
            "integration": INTEGRATION,
            "description": body.get("description") or "",
            "details": dict(body.get("details") or {}),
            "entity": body.get("entity") or "",
            "actions": [],
        }
        self.alerts.append(alert)
        self.notes[alert_id] = []
        if body.get("note"):
            self._note(alert, body["note"], body.get("user"))
        return alert

    def _note(self, alert: dict[str, Any], text: str, user: str | None) -> None:
        self.notes[alert["id"]].append({"note": text, "owner": user or INTEGRATION["name"]})

    def _accept(self, action: str, alert: dict[str, Any] | None, status: str) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        self.outcomes[request_id] = {
            "success": alert is not None,
            "action": action,
            "processedAt": "2026-01-01T09:00:00.000Z",
            "integrationId": INTEGRATION["id"],
            "isSuccess": alert is not None,
            "status": status if alert is not None else "Alert does not exist",
            "alertId": alert["id"] if alert else "",
            "alias": alert["alias"] if alert else "",
        }
        return {"result": "Request will be processed", "took": 0.1, "requestId": request_id}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeOpsgenie]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(
            {**data, "took": data.get("took", 0.002), "requestId": data.get("requestId") or str(uuid.uuid4())}
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
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
        path = parts.path
        with fake.lock:
            fake.requests.append(Received(self.command, unquote(path), query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            message = "You are making too many requests! To avoid errors, we recommend you limit requests."
            self._reply(429, {"message": message})
            return
        if headers.get("authorization") != f"GenieKey {fake.api_key}":
            self._reply(401, {"message": "Could not authenticate"})
            return
        try:
            with fake.lock:
                status, answer = _route(fake, self.command, path, query, body if isinstance(body, dict) else {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_DELETE = _handle


ALERT = re.compile(r"^/v2/alerts/([^/]+)(?:/(close|acknowledge|notes))?$")
REQUEST = re.compile(r"^/v2/alerts/requests/([^/]+)$")


def _route(
    fake: FakeOpsgenie, method: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    if path == "/v2/alerts" and method == "POST":
        _check_create(body)
        alert = fake._create(body)
        return 202, fake._accept("Create", alert, "Created alert")
    if path == "/v2/alerts" and method == "GET":
        return 200, _search(fake, query)
    found = REQUEST.match(path)
    if found and method == "GET":
        request_id = unquote(found.group(1))
        fake.polls[request_id] = fake.polls.get(request_id, 0) + 1
        if request_id not in fake.outcomes or fake.polls[request_id] <= fake.pending_polls:
            raise _Refusal(404, "Request not found. It might not be processed, yet.")
        return 200, {"data": fake.outcomes[request_id]}
    found = ALERT.match(path)
    if not found:
        raise _Refusal(404, "Not found")
    kind = query.get("identifierType", "id")
    if kind not in ("id", "alias", "tiny"):
        raise _unprocessable({"identifierType": "should be one of [id, alias, tiny]"})
    alert = fake.find(unquote(found.group(1)), kind)
    action = found.group(2)
    if action is None and method == "GET":
        if alert is None:
            raise _Refusal(404, "Alert does not exist")
        return 200, {"data": alert}
    if action is None and method == "DELETE":
        if alert is not None:
            fake.alerts.remove(alert)
        return 202, fake._accept("Delete", alert, "Deleted alert")
    if action == "notes" and method == "POST":
        if not str(body.get("note") or "").strip():
            raise _unprocessable({"note": "Note can not be empty."})
        if alert is not None:
            fake._note(alert, body["note"], body.get("user"))
        return 202, fake._accept("AddNote", alert, "Added note")
    if action in ("close", "acknowledge") and method == "POST":
        if alert is not None:
            if action == "close":
                alert["status"] = "closed"
            else:
                alert["acknowledged"] = True
            if body.get("note"):
                fake._note(alert, body["note"], body.get("user"))
        name = "Close" if action == "close" else "Acknowledge"
        return 202, fake._accept(name, alert, "Closed alert" if action == "close" else "Acknowledged alert")
    raise _Refusal(404, "Not found")


def _check_create(body: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if not str(body.get("message") or "").strip():
        errors["message"] = "Message can not be empty."
    if body.get("priority", "P3") not in PRIORITIES:
        errors["priority"] = "should be one of [P1, P2, P3, P4, P5]"
    for responder in body.get("responders") or []:
        if responder.get("type") not in RESPONDER_TYPES or not any(
            responder.get(key) for key in ("id", "name", "username")
        ):
            errors["responders"] = (
                "Responder should have a type (team, user, escalation or schedule) and an id, name or username."
            )
        elif responder["type"] == "team" and responder.get("name") and responder["name"] not in TEAMS:
            errors["responders"] = f"Team with name [{responder['name']}] does not exist."
    details = body.get("details") or {}
    if any(not isinstance(value, str) for value in details.values()):
        errors["details"] = "Details values should be strings."
    if errors:
        raise _unprocessable(errors)


def _matches(alert: dict[str, Any], terms: list[str]) -> bool:
    for term in terms:
        found = TERM.match(term)
        if found and found.group(1) in ("status", "priority", "alias"):
            if str(alert[found.group(1)]).lower() != found.group(2).strip().lower():
                return False
        elif found and found.group(1) in ("tag", "tags"):
            if found.group(2).strip() not in alert["tags"]:
                return False
        elif term.lower() not in alert["message"].lower():
            return False
    return True


def _search(fake: FakeOpsgenie, query: dict[str, str]) -> dict[str, Any]:
    try:
        limit = int(query.get("limit", 20))
        offset = int(query.get("offset", 0))
    except ValueError as err:
        raise _unprocessable({"limit": "should be a number"}) from err
    if not 1 <= limit <= MAX_LIMIT:
        raise _unprocessable({"limit": f"should be between 1 and {MAX_LIMIT}"})
    terms = [term.strip() for term in re.split(r"\s+AND\s+", query.get("query", "")) if term.strip()]
    chosen = [alert for alert in fake.alerts if _matches(alert, terms)]
    sort = query.get("sort", "createdAt")
    chosen.sort(key=lambda alert: (alert.get(sort), int(alert["tinyId"])), reverse=query.get("order", "desc") == "desc")
    page = chosen[offset : offset + limit]
    summaries = [
        {key: value for key, value in alert.items() if key not in ("description", "details", "actions")}
        for alert in page
    ]
    paging = {"first": f"{fake.url}/v2/alerts?{urlencode({**query, 'offset': 0})}"}
    if offset + limit < len(chosen):
        paging["next"] = f"{fake.url}/v2/alerts?{urlencode({**query, 'offset': offset + limit})}"
    return {"data": summaries, "paging": paging}


@contextmanager
def fake_opsgenie_server(api_key: str = API_KEY) -> Iterator[FakeOpsgenie]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeOpsgenie(host, port, api_key=api_key), name="fake-opsgenie") as fake:
        yield fake
