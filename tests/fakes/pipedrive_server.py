"""A real HTTP server on 127.0.0.1 speaking the part of Pipedrive's REST API v1 the Pipedrive nodes use.

Routes (the API token as ``x-api-token`` header or ``api_token`` query parameter, else 401 ``unauthorized access``):
    ``GET /api/v1/users/me``                     the token's user (:data:`USER`).
    ``GET|POST /api/v1/deals``                   list (``status``: open, won, lost, deleted or all_not_deleted;
                                                 ``start``, ``limit`` up to 500) or create (400 without a title, or
                                                 for an unknown person, organization or stage, or a bad status).
    ``GET|PUT|DELETE /api/v1/deals/<id>``        one deal (person and organization as ``{"name", "value"}``);
                                                 update; delete (the deal stays, marked deleted).
    ``GET /api/v1/deals/search``                 ``term`` (2 characters at least, 1 with ``exact_match``),
                                                 ``fields``, ``exact_match``, ``person_id``, ``organization_id``,
                                                 ``status``, ``start``, ``limit``: ``{"items": [{"result_score",
                                                 "item"}]}``.
Answers are ``{"success", "data", "additional_data"}``; lists page with ``additional_data.pagination``
(``more_items_in_collection``, ``next_start``) and an empty list is ``"data": null``. Refusals are
``{"success": false, "error", "error_info"}``; unknown deals 404 ``Deal not found``; paths outside ``/api/v1`` an
HTML page. Set :attr:`FakePipedrive.rate_limited` to answer the next that many requests with 429 and
``x-ratelimit-reset``. Every request is recorded.
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
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.serving import FakeServer, serve

API_TOKEN = "0123456789abcdef0123456789abcdef01234567"
USER = {"id": 11, "name": "Pat Pipe", "email": "pat@acme.test", "company_id": 77, "company_name": "Acme"}
INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."
NOW = "2026-01-01 00:00:00"
STAGES = {1: "Lead In", 2: "Contact Made", 3: "Proposal Made", 4: "Negotiations Started"}
"""The stages of pipeline 1, the default pipeline."""
STATUSES = ("open", "won", "lost")
CURRENCIES = ("EUR", "USD", "GBP")
FIELDS = (
    "title",
    "value",
    "currency",
    "person_id",
    "org_id",
    "stage_id",
    "status",
    "lost_reason",
    "expected_close_date",
)
CUSTOM_KEY = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {
            "success": False,
            "error": error,
            "error_info": INFO,
            "data": None,
            "additional_data": None,
            **extra,
        }


@dataclass
class FakePipedrive:
    host: str
    port: int
    api_token: str = API_TOKEN
    persons: dict[int, str] = field(default_factory=lambda: {1: "Ada Lovelace", 2: "Bob Builder"})
    organizations: dict[int, str] = field(default_factory=lambda: {1: "Analytical Engines Ltd"})
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, api_token: str = API_TOKEN) -> dict[str, Any]:
        """The ``pipedrive_api`` credential that reaches this server (its full address as the domain)."""
        return {"api_token": api_token, "company_domain": self.base_url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_deal(self, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"title": title, **fields})

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        if not str(fields.get("title") or "").strip():
            raise _Refusal(400, "Deal title must be given.")
        deal_id = next(self._ids)
        deal: dict[str, Any] = {
            "id": deal_id,
            "title": None,
            "value": 0,
            "currency": "EUR",
            "status": "open",
            "stage_id": 1,
            "pipeline_id": 1,
            "person_id": None,
            "org_id": None,
            "user_id": {"id": USER["id"], "name": USER["name"], "email": USER["email"], "value": USER["id"]},
            "lost_reason": None,
            "expected_close_date": None,
            "add_time": NOW,
            "update_time": NOW,
            "active": True,
            "deleted": False,
        }
        self._apply(deal, fields)
        self.deals[deal_id] = deal
        return deal

    def _apply(self, deal: dict[str, Any], fields: dict[str, Any]) -> None:
        if "person_id" in fields and fields["person_id"] is not None and fields["person_id"] not in self.persons:
            raise _Refusal(400, f"Person with id {fields['person_id']} not found.")
        if "org_id" in fields and fields["org_id"] is not None and fields["org_id"] not in self.organizations:
            raise _Refusal(400, f"Organization with id {fields['org_id']} not found.")
        if "stage_id" in fields and fields["stage_id"] not in STAGES:
            raise _Refusal(400, f"Stage with id {fields['stage_id']} not found.")
        if "status" in fields and fields["status"] not in STATUSES:
            raise _Refusal(400, "Invalid status. Allowed values: open, won, lost.")
        if "currency" in fields and fields["currency"] not in CURRENCIES:
            raise _Refusal(400, f"Invalid currency: {fields['currency']}")
        for name, value in fields.items():
            if name == "person_id":
                deal[name] = None if value is None else {"name": self.persons[value], "value": value}
            elif name == "org_id":
                deal[name] = None if value is None else {"name": self.organizations[value], "value": value}
            elif name in FIELDS or CUSTOM_KEY.match(name):
                # Pipedrive ignores fields it does not know.
                deal[name] = value
        deal["active"] = deal["status"] == "open"


def _page(entries: list[dict[str, Any]], query: dict[str, str]) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
    start = int(query.get("start") or 0)
    limit = min(int(query.get("limit") or 100), 500)
    chunk = entries[start : start + limit]
    more = start + limit < len(entries)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return chunk or None, {"pagination": pagination}


def _search_item(deal: dict[str, Any], score: float) -> dict[str, Any]:
    person, organization = deal["person_id"], deal["org_id"]
    return {
        "result_score": score,
        "item": {
            "id": deal["id"],
            "type": "deal",
            "title": deal["title"],
            "value": deal["value"],
            "currency": deal["currency"],
            "status": deal["status"],
            "visible_to": 3,
            "owner": {"id": USER["id"]},
            "stage": {"id": deal["stage_id"], "name": STAGES[deal["stage_id"]]},
            "person": None if person is None else {"id": person["value"], "name": person["name"]},
            "organization": None
            if organization is None
            else {"id": organization["value"], "name": organization["name"]},
            "custom_fields": [],
            "notes": [],
        },
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakePipedrive]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(data).encode(), "application/json", headers)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if not parts.path.startswith("/api/v1/"):
            self._reply(404, b"<!doctype html><title>Pipedrive</title><p>Page not found", "text/html")
            return
        if limited:
            refusal = _Refusal(429, "Request over limit", errorCode=429)
            limits = {"x-ratelimit-limit": "80", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"}
            self._json(429, refusal.body, limits)
            return
        if fake.api_token not in (headers.get("x-api-token"), query.get("api_token")):
            self._json(401, _Refusal(401, "unauthorized access", errorCode=401).body)
            return
        try:
            with fake.lock:
                status, data, additional = _route(fake, self.command, parts.path.removeprefix("/api/v1"), query, body)
        except _Refusal as refusal:
            self._json(refusal.status, refusal.body)
            return
        answer: dict[str, Any] = {"success": True, "data": data}
        if additional is not None:
            answer["additional_data"] = additional
        self._json(status, answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


DEAL = re.compile(r"^/deals/(\d+)$")


def _route(
    fake: FakePipedrive, method: str, path: str, query: dict[str, str], body: Any
) -> tuple[int, Any, dict[str, Any] | None]:
    if method == "GET" and path == "/users/me":
        return 200, USER, None
    if method == "POST" and path == "/deals":
        return 201, fake._create(body or {}), None
    if method == "GET" and path == "/deals":
        status = query.get("status", "all_not_deleted")
        if status not in (*STATUSES, "deleted", "all_not_deleted"):
            raise _Refusal(400, "Invalid status filter.")
        if status == "all_not_deleted":
            chosen = [deal for deal in fake.deals.values() if not deal["deleted"]]
        elif status == "deleted":
            chosen = [deal for deal in fake.deals.values() if deal["deleted"]]
        else:
            chosen = [deal for deal in fake.deals.values() if deal["status"] == status and not deal["deleted"]]
        return 200, *_page(chosen, query)
    if method == "GET" and path == "/deals/search":
        return 200, *_search(fake, query)
    found = DEAL.match(path)
    deal = fake.deals.get(int(found.group(1))) if found else None
    if deal is None:
        raise _Refusal(404, "Deal not found")
    if method == "GET":
        return 200, deal, None
    if method == "PUT":
        fake._apply(deal, body or {})
        deal["update_time"] = "2026-01-02 00:00:00"
        return 200, deal, None
    if method == "DELETE":
        deal.update(deleted=True, active=False, status="deleted")
        return 200, {"id": deal["id"]}, None
    raise _Refusal(404, "Unknown method")


def _search(fake: FakePipedrive, query: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    term = query.get("term", "").strip().lower()
    exact = query.get("exact_match") == "true"
    if len(term) < (1 if exact else 2):
        raise _Refusal(400, "Search term must be at least 2 characters long")
    fields = [name for name in query.get("fields", "title,notes,custom_fields").split(",") if name]
    hits = []
    for deal in fake.deals.values():
        if deal["deleted"] or "title" not in fields:
            continue
        title = str(deal["title"]).lower()
        if (title != term) if exact else (term not in title):
            continue
        if query.get("person_id") and (deal["person_id"] or {}).get("value") != int(query["person_id"]):
            continue
        if query.get("organization_id") and (deal["org_id"] or {}).get("value") != int(query["organization_id"]):
            continue
        if query.get("status") and deal["status"] != query["status"]:
            continue
        hits.append(_search_item(deal, 1.0 if title == term else 0.5))
    chunk, additional = _page(hits, query)
    return {"items": chunk or []}, additional


@contextmanager
def fake_pipedrive_server(api_token: str = API_TOKEN) -> Iterator[FakePipedrive]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(
        _Handler, lambda host, port: FakePipedrive(host, port, api_token=api_token), name="fake-pipedrive"
    ) as fake:
        yield fake
