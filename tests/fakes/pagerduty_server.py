"""A real HTTP server on 127.0.0.1 speaking the parts of PagerDuty's REST API v2 and Events API v2 the nodes use.

REST routes (``Authorization: Token token=<token>``, else 401 ``Authentication failed``, code 2006; writes need a
``From`` header naming a user of :data:`USERS`, else 400 ``Invalid Input Provided``, code 2001):
    ``GET /users?query=``                    users whose name or email contains the text.
    ``GET|POST /incidents``                  list with ``statuses[]``, ``service_ids[]``, ``since``/``until`` (ISO 8601,
                                             else 400 code 2004) and classic paging (``limit`` at most 100, ``offset``;
                                             ``more``), oldest first; or create from ``{"incident": {...}}`` (400 code
                                             2001 for a missing title, an unknown service, escalation policy or
                                             assignee, a bad urgency, assignments with an escalation policy, or an
                                             ``incident_key`` of an open incident on the same service).
    ``GET|PUT /incidents/<id>``              one incident, or 404 ``Not Found`` (code 2100); update ``status``
                                             (``acknowledged``/``resolved``; 400 code 2002 ``Incident Already
                                             Resolved`` on a resolved one), ``title``, ``urgency``, ``assignments``.
    ``POST /incidents/<id>/notes``           a note from ``{"note": {"content"}}``, 201.
Events route (no authorization; the routing key is in the body):
    ``POST /v2/enqueue``                     ``trigger``/``acknowledge``/``resolve``; 202 ``{"status": "success",
                                             "message": "Event processed", "dedup_key"}``, or 400 ``invalid event``
                                             with ``errors`` (a routing key that is not 32 characters, a trigger
                                             without summary, source or a known severity, an ack or resolve without a
                                             dedup key). Alerts are kept by dedup key in :attr:`FakePagerDuty.alerts`.
Set :attr:`FakePagerDuty.rate_limited` to answer the next that many requests with 429 (code 2020 with a
``ratelimit-reset`` header on the REST API, ``throttle event`` on the Events API). Every request is recorded.
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
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "u+FAKEfakeFAKEfake0123"
FROM_EMAIL = "ada@acme.test"
ROUTING_KEY = "R0UT1NGKEYfake0123456789abcdef01"
USERS = [
    {"id": "PADA001", "type": "user", "name": "Ada Lovelace", "email": FROM_EMAIL},
    {"id": "PBOB002", "type": "user", "name": "Bob Builder", "email": "bob@acme.test"},
]
SERVICES = {"PSVC001": "Checkout", "PSVC002": "Search"}
ESCALATION_POLICIES = {"PEP0001": "Default", "PEP0002": "Databases"}
MAX_LIMIT = 100
SEVERITIES = ("critical", "error", "warning", "info")


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
    def __init__(self, status: int, message: str, code: int, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        error: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            error["errors"] = errors
        self.body = {"error": error}


def _invalid(*errors: str) -> _Refusal:
    return _Refusal(400, "Invalid Input Provided", 2001, list(errors))


def _reference(kind: str, entity_id: str, summary: str) -> dict[str, Any]:
    return {"id": entity_id, "type": f"{kind}_reference", "summary": summary}


@dataclass
class FakePagerDuty:
    host: str
    port: int
    token: str = TOKEN
    incidents: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Events API alerts by dedup key: ``{"routing_key", "status", "events": [...]}``."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN, from_email: str = FROM_EMAIL) -> dict[str, Any]:
        """The ``pagerduty_api`` credential that reaches this server."""
        return {"api_token": token, "from_email": from_email, "api_url": self.url}

    def events_credential(self, routing_key: str = ROUTING_KEY) -> dict[str, Any]:
        """The ``pagerduty_events`` credential that reaches this server."""
        return {"routing_key": routing_key, "events_url": self.url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_incident(self, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"type": "incident", "title": title, "service": {"id": "PSVC001"}, **fields})

    def incident(self, incident_id: str) -> dict[str, Any]:
        for incident in self.incidents:
            if incident["id"] == incident_id:
                return incident
        raise _Refusal(404, "Not Found", 2100)

    def _create(self, data: dict[str, Any], requester: dict[str, Any] | None = None) -> dict[str, Any]:
        if data.get("type") != "incident":
            raise _invalid("Incident type must be 'incident'.")
        if not str(data.get("title") or "").strip():
            raise _invalid("Title cannot be empty.")
        service_id = (data.get("service") or {}).get("id")
        if service_id not in SERVICES:
            raise _invalid("Service not found.")
        urgency = data.get("urgency", "high")
        if urgency not in ("high", "low"):
            raise _invalid("Urgency must be one of high, low.")
        policy_id = (data.get("escalation_policy") or {}).get("id", "PEP0001")
        if policy_id not in ESCALATION_POLICIES:
            raise _invalid("Escalation Policy not found.")
        if data.get("assignments") and data.get("escalation_policy"):
            raise _invalid("Assignments cannot be specified together with an escalation policy.")
        key = data.get("incident_key")
        if key and any(
            i["incident_key"] == key and i["service"]["id"] == service_id and i["status"] != "resolved"
            for i in self.incidents
        ):
            raise _invalid(f"Open incident with key '{key}' already exists.")
        number = next(self._numbers)
        incident_id = f"PINC{number:03d}"
        stamp = data.get("created_at") or f"2026-01-{min(number, 28):02d}T08:00:00Z"
        incident = {
            "id": incident_id,
            "type": "incident",
            "incident_number": number,
            "title": data["title"],
            "summary": f"[#{number}] {data['title']}",
            "status": data.get("status", "triggered"),
            "urgency": urgency,
            "incident_key": key or uuid.uuid5(uuid.NAMESPACE_URL, incident_id).hex,
            "created_at": stamp,
            "service": _reference("service", service_id, SERVICES[service_id]),
            "escalation_policy": _reference("escalation_policy", policy_id, ESCALATION_POLICIES[policy_id]),
            "assignments": self._assignments(data.get("assignments") or []),
            "body": {"type": "incident_body", "details": (data.get("body") or {}).get("details", "")},
            "last_status_change_by": _reference("user", requester["id"], requester["name"]) if requester else None,
            "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
        }
        self.incidents.append(incident)
        return incident

    def _assignments(self, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
        users = {user["id"]: user for user in USERS}
        assignments = []
        for entry in given:
            user_id = (entry.get("assignee") or {}).get("id")
            if user_id not in users:
                raise _invalid(f"Assignee user {user_id} not found.")
            assignments.append(
                {"at": "2026-01-01T08:00:00Z", "assignee": _reference("user", user_id, users[user_id]["name"])}
            )
        return assignments


def _timestamp(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as err:
        raise _Refusal(400, "Invalid 'since' or 'until' Parameter Values", 2004) from err


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakePagerDuty]

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
        if path == "/v2/enqueue" and self.command == "POST":
            if limited:
                message = "Requests for this service are arriving too quickly. Please retry later."
                self._reply(429, {"status": "throttle event", "message": message})
                return
            with fake.lock:
                self._reply(*_enqueue(fake, body if isinstance(body, dict) else {}))
            return
        if limited:
            self._reply(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}}, {"ratelimit-reset": "12"})
            return
        if headers.get("authorization") != f"Token token={fake.token}":
            self._reply(401, {"error": {"message": "Authentication failed", "code": 2006}})
            return
        try:
            with fake.lock:
                requester = None if self.command == "GET" else _requester(headers.get("from", ""))
                status, answer = _route(fake, self.command, path, query, body or {}, requester)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_POST = do_PUT = _handle


def _requester(email: str) -> dict[str, Any]:
    if not email.strip():
        raise _invalid("The From header is missing or empty.")
    for user in USERS:
        if user["email"].casefold() == email.strip().casefold():
            return user
    raise _invalid("Requester User Not Found.")


INCIDENT = re.compile(r"^/incidents/([^/]+)(/notes)?$")


def _route(
    fake: FakePagerDuty,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: dict[str, Any],
    requester: dict[str, Any] | None,
) -> tuple[int, Any]:
    if method == "GET" and path == "/users":
        text = dict(query).get("query", "").casefold()
        found = [user for user in USERS if text in user["email"].casefold() or text in user["name"].casefold()]
        return 200, {"users": found, "limit": 25, "offset": 0, "more": False, "total": None}
    if path == "/incidents" and method == "POST":
        return 201, {"incident": fake._create(body.get("incident") or {}, requester)}
    if path == "/incidents" and method == "GET":
        return 200, _list(fake, query)
    found = INCIDENT.match(path)
    if not found:
        raise _Refusal(404, "Not Found", 2100)
    incident = fake.incident(found.group(1))
    if found.group(2) and method == "POST":
        content = str((body.get("note") or {}).get("content") or "")
        if not content.strip():
            raise _invalid("Note content cannot be empty.")
        note = {
            "id": f"PNOTE{sum(len(n) for n in fake.notes.values()) + 1:02d}",
            "user": _reference("user", requester["id"], requester["name"]) if requester else None,
            "content": content,
            "created_at": "2026-01-01T09:00:00Z",
        }
        fake.notes.setdefault(incident["id"], []).append(note)
        return 201, {"note": note}
    if found.group(2):
        raise _Refusal(404, "Not Found", 2100)
    if method == "GET":
        return 200, {"incident": incident}
    if method == "PUT":
        return 200, {"incident": _update(fake, incident, body.get("incident") or {}, requester)}
    raise _Refusal(404, "Not Found", 2100)


def _list(fake: FakePagerDuty, query: list[tuple[str, str]]) -> dict[str, Any]:
    values = dict(query)
    statuses = [value for key, value in query if key == "statuses[]"]
    if any(status not in ("triggered", "acknowledged", "resolved") for status in statuses):
        raise _invalid("Status must be a list of triggered, acknowledged, or resolved.")
    services = [value for key, value in query if key == "service_ids[]"]
    try:
        limit = int(values.get("limit", 25))
        offset = int(values.get("offset", 0))
    except ValueError as err:
        raise _invalid("Limit and offset must be numbers.") from err
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid(f"Limit must be between 1 and {MAX_LIMIT}.")
    since = _timestamp(values["since"]) if values.get("since") else None
    until = _timestamp(values["until"]) if values.get("until") else None
    chosen = []
    for incident in fake.incidents:
        created = datetime.fromisoformat(incident["created_at"])
        if statuses and incident["status"] not in statuses:
            continue
        if services and incident["service"]["id"] not in services:
            continue
        if (since and created < since) or (until and created >= until):
            continue
        chosen.append(incident)
    page = chosen[offset : offset + limit]
    return {"incidents": page, "limit": limit, "offset": offset, "more": offset + limit < len(chosen), "total": None}


def _update(
    fake: FakePagerDuty, incident: dict[str, Any], changes: dict[str, Any], requester: dict[str, Any] | None
) -> dict[str, Any]:
    if changes.get("type") not in ("incident", "incident_reference"):
        raise _invalid("Incident type must be 'incident_reference'.")
    status = changes.get("status")
    if status is not None:
        if status not in ("acknowledged", "resolved"):
            raise _invalid("Status must be acknowledged or resolved.")
        if incident["status"] == "resolved":
            raise _Refusal(400, "Arguments Caused Error", 2002, ["Incident Already Resolved"])
        incident["status"] = status
        if requester:
            incident["last_status_change_by"] = _reference("user", requester["id"], requester["name"])
    if "urgency" in changes:
        if changes["urgency"] not in ("high", "low"):
            raise _invalid("Urgency must be one of high, low.")
        incident["urgency"] = changes["urgency"]
    if "title" in changes:
        if not str(changes["title"]).strip():
            raise _invalid("Title cannot be empty.")
        incident["title"] = changes["title"]
        incident["summary"] = f"[#{incident['incident_number']}] {changes['title']}"
    if "assignments" in changes:
        incident["assignments"] = fake._assignments(changes["assignments"])
    return incident


def _enqueue(fake: FakePagerDuty, event: dict[str, Any]) -> tuple[int, Any]:
    errors = []
    if len(str(event.get("routing_key") or "")) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)")
    payload = event.get("payload") or {}
    if action == "trigger":
        for name in ("summary", "source"):
            if not str(payload.get(name) or "").strip():
                errors.append(f"'payload.{name}' is missing or blank")
        if payload.get("severity") not in SEVERITIES:
            errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info)")
    elif action and not str(event.get("dedup_key") or "").strip():
        errors.append("'dedup_key' is missing or blank")
    if errors:
        return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    key = str(event.get("dedup_key") or uuid.uuid4().hex)
    alert = fake.alerts.setdefault(key, {"routing_key": event["routing_key"], "status": "triggered", "events": []})
    alert["events"].append(event)
    if action != "trigger" and alert["status"] != "resolved":
        alert["status"] = {"acknowledge": "acknowledged", "resolve": "resolved"}[action]
    elif action == "trigger" and alert["status"] == "resolved":
        alert["status"] = "triggered"
    return 202, {"status": "success", "message": "Event processed", "dedup_key": key}


@contextmanager
def fake_pagerduty_server(token: str = TOKEN) -> Iterator[FakePagerDuty]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakePagerDuty(host, port, token=token), name="fake-pagerduty") as fake:
        yield fake
