"""A real HTTP server on 127.0.0.1 speaking the part of Typeform's Create and Responses APIs the Typeform nodes use.

Routes (``Authorization: Bearer <token>``, else 401 ``AUTHENTICATION_FAILED``); errors are ``{"code",
"description"[, "details": [{"code", "description", "field", "in"}]]}``:
    ``GET /me``                               the token's account (:data:`ACCOUNT`).
    ``GET /forms``                            forms, ``search`` in the title, ``workspace_id``; ``page`` and
                                              ``page_size`` (up to 200) with ``total_items`` and ``page_count``.
    ``GET /forms/<id>``                       one form with its ``fields`` (groups hold theirs under
                                              ``properties.fields``).
    ``GET /forms/<id>/responses``             newest first; ``page_size`` (up to 1000), ``before``/``after`` a
                                              response's token, ``since``/``until`` (a date and time to the
                                              second, else 400 ``VALIDATION_ERROR``), ``completed`` true/false,
                                              ``query`` (text in an answer or hidden field), ``fields`` (answers to
                                              these field ids only).
    ``DELETE /forms/<id>/responses``          ``included_response_ids=a,b,…`` (up to 1000), 200 with an empty body.
Unknown forms are 404 ``FORM_NOT_FOUND``. Set :attr:`FakeTypeform.rate_limited` to answer the next that many requests
with 429 and ``Retry-After: 1``. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "tfp_fakeFAKEfake0123456789abcdefABCDEF_0123"
ACCOUNT = {"alias": "Ada", "email": "ada@acme.test", "language": "en"}
FIRST_SUBMISSION = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
"""Responses are submitted an hour apart from here on, in the order they are added."""
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class _Refusal(Exception):
    def __init__(self, status: int, code: str, description: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "description": description}
        if details is not None:
            self.body["details"] = details


def _invalid(name: str, description: str) -> _Refusal:
    details = [{"code": "INVALID_FORMAT", "description": description, "field": name, "in": "query"}]
    return _Refusal(400, "VALIDATION_ERROR", "The request is invalid", details)


@dataclass
class FakeTypeform:
    host: str
    port: int
    token: str = TOKEN
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Each form's responses, oldest first."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        """The ``typeform_api`` credential that reaches this server."""
        return {"token": token, "api_url": self.api_url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_form(
        self, form_id: str, title: str, fields: list[dict[str, Any]], workspace: str = "ws1"
    ) -> dict[str, Any]:
        with self.lock:
            form = {
                "id": form_id,
                "title": title,
                "workspace": {"href": f"{self.api_url}/workspaces/{workspace}"},
                "fields": fields,
                "hidden": ["utm_source"],
                "last_updated_at": "2026-01-01T00:00:00Z",
                "_links": {"display": f"https://acme.typeform.com/to/{form_id}"},
            }
            self.forms[form_id] = form
            self.responses[form_id] = []
            return form

    def add_response(
        self,
        form_id: str,
        answers: list[dict[str, Any]],
        *,
        completed: bool = True,
        hidden: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            kept = self.responses[form_id]
            token = f"{form_id.lower()}r{len(kept) + 1:05d}"
            moment = FIRST_SUBMISSION + timedelta(hours=len(kept))
            response = {
                "landing_id": token,
                "token": token,
                "response_id": token,
                "landed_at": stamp(moment - timedelta(minutes=3)),
                "submitted_at": stamp(moment) if completed else None,
                "metadata": {"user_agent": "Mozilla/5.0", "platform": "other", "referer": "", "browser": "default"},
                "hidden": hidden or {},
                "calculated": {"score": 0},
                "answers": answers,
            }
            kept.append(response)
            return response


def _moment(query: dict[str, str], name: str) -> datetime | None:
    if name not in query:
        return None
    # Typeform wants a date and a time to the second, with a T between them.
    if not MOMENT.match(query[name]):
        raise _invalid(name, f"{name} must be a date and time in ISO 8601 format, e.g. 2026-01-31T09:00:00Z")
    moment = datetime.fromisoformat(query[name])
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _page_size(query: dict[str, str], default: int, most: int) -> int:
    text = query.get("page_size", str(default))
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise _invalid("page_size", f"page_size must be between 1 and {most}")
    return int(text)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeTypeform]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, path, query, headers))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        try:
            if limited:
                self._reply(429, {"code": "RATE_LIMITED", "description": "Too many requests"}, {"Retry-After": "1"})
                return
            if headers.get("authorization") != f"Bearer {fake.token}":
                raise _Refusal(
                    401, "AUTHENTICATION_FAILED", "Authentication credentials not found on the Request Headers"
                )
            with fake.lock:
                status, answer = _route(fake, self.command, path, query)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer)

    do_GET = do_DELETE = _handle


def _route(fake: FakeTypeform, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
    if method == "GET" and path == "/me":
        return 200, ACCOUNT
    if method == "GET" and path == "/forms":
        return 200, _forms(fake, query)
    parts = path.strip("/").split("/")
    if parts[0] != "forms" or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "responses"):
        raise _Refusal(404, "NOT_FOUND", "Endpoint not found")
    form = fake.forms.get(parts[1])
    if form is None:
        raise _Refusal(404, "FORM_NOT_FOUND", f"Non existing form with uid {parts[1]}")
    if len(parts) == 2 and method == "GET":
        return 200, form
    if len(parts) == 3 and method == "GET":
        return 200, _responses(fake.responses[form["id"]], query)
    if len(parts) == 3 and method == "DELETE":
        wanted = [token for token in query.get("included_response_ids", "").split(",") if token]
        if not wanted or len(wanted) > 1000:
            raise _invalid("included_response_ids", "included_response_ids must list 1 to 1000 response ids")
        fake.responses[form["id"]] = [r for r in fake.responses[form["id"]] if r["response_id"] not in wanted]
        return 200, None
    raise _Refusal(404, "NOT_FOUND", "Endpoint not found")


def _forms(fake: FakeTypeform, query: dict[str, str]) -> dict[str, Any]:
    size = _page_size(query, 10, 200)
    page = int(query.get("page", "1")) if query.get("page", "1").isdigit() else 1
    search = query.get("search", "").lower()
    workspace = query.get("workspace_id")
    chosen = [
        {key: form[key] for key in ("id", "title", "last_updated_at", "_links")}
        for form in fake.forms.values()
        if search in form["title"].lower()
        and (workspace is None or form["workspace"]["href"].endswith(f"/{workspace}"))
    ]
    return {
        "total_items": len(chosen),
        "page_count": max(1, -(-len(chosen) // size)),
        "items": chosen[(page - 1) * size : page * size],
    }


def _responses(kept: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    size = _page_size(query, 25, 1000)
    since, until = _moment(query, "since"), _moment(query, "until")
    chosen = list(reversed(kept))
    for name, keep_newer in (("before", False), ("after", True)):
        if name in query:
            tokens = [r["token"] for r in chosen]
            if query[name] not in tokens:
                raise _invalid(name, f"{name} must be the token of a response of this form")
            at = tokens.index(query[name])
            chosen = chosen[:at] if keep_newer else chosen[at + 1 :]
    if "completed" in query:
        chosen = [r for r in chosen if (r["submitted_at"] is not None) == (query["completed"] == "true")]
    if since or until:
        chosen = [r for r in chosen if r["submitted_at"] is not None]
    if since:
        chosen = [r for r in chosen if datetime.fromisoformat(r["submitted_at"]) >= since]
    if until:
        chosen = [r for r in chosen if datetime.fromisoformat(r["submitted_at"]) <= until]
    if query.get("query"):
        needle = query["query"].lower()
        chosen = [r for r in chosen if needle in json.dumps([r["answers"], r["hidden"]]).lower()]
    if query.get("fields"):
        wanted = set(query["fields"].split(","))
        chosen = [{**r, "answers": [a for a in r["answers"] if a["field"]["id"] in wanted]} for r in chosen]
    return {"total_items": len(chosen), "page_count": max(1, -(-len(chosen) // size)), "items": chosen[:size]}


@contextmanager
def fake_typeform_server(token: str = TOKEN) -> Iterator[FakeTypeform]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeTypeform(host, port, token=token), name="fake-typeform") as fake:
        yield fake
