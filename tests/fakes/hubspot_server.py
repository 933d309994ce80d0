"""A real HTTP server on 127.0.0.1 speaking the part of HubSpot's CRM v3 API the HubSpot nodes use.

Routes (``Authorization: Bearer <token>``, else 401 ``INVALID_AUTHENTICATION``; each needs its read or write scope
of :attr:`FakeHubspot.scopes`, else 403 ``MISSING_SCOPES`` naming it):
    ``GET /account-info/v3/details``                  the account (portal id :data:`PORTAL_ID`).
    ``GET|POST /crm/v3/objects/<type>``               list (``limit`` 1 to 100, ``after``, ``properties``,
                                                      ``associations``) or create (``properties``, ``associations``
                                                      of a deal to contacts); ``type`` is ``contacts`` or ``deals``.
    ``GET|PATCH|DELETE /crm/v3/objects/<type>/<id>``  one record; a contact also by email with ``idProperty=email``
                                                      (case-insensitive). DELETE answers 204.
    ``POST /crm/v3/objects/<type>/search``            ``filterGroups`` (any group, every filter of it: EQ, NEQ, LT,
                                                      LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY,
                                                      NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN), ``query``,
                                                      ``sorts``, ``properties``, ``limit`` (1 to 200) and ``after``.
Writes check property names against :data:`PROPERTIES` and choice values (``lifecyclestage``, ``pipeline``,
``dealstage``), answering 400 ``VALIDATION_ERROR`` with HubSpot's "Property values were not valid: [...]" message; a
second contact with the same email is 409 ``CONFLICT``. Unknown ids are 404 ``OBJECT_NOT_FOUND``. Lists page with
``paging.next.after``. Errors are ``{"status": "error", "message", "correlationId", "category"}``.
:attr:`FakeHubspot.appears_after_lookup` makes a contact appear just after a lookup by its email missed, as when
another client creates it at the same time. Set :attr:`FakeHubspot.rate_limited` to answer the next that many
requests with 429 and the policy :attr:`FakeHubspot.rate_limit_policy`. Every request is recorded.
"""

from __future__ import annotations

import fnmatch
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

TOKEN = "pat-na1-fake0000-1111-2222-3333-444455556666"
PORTAL_ID = 12345678
CREATED = "2026-01-01T00:00:00.000Z"
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
PIPELINES = {
    "default": (
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    )
}
PROPERTIES = {
    "contacts": {
        "email",
        "firstname",
        "lastname",
        "phone",
        "company",
        "website",
        "jobtitle",
        "lifecyclestage",
        "city",
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    },
    "deals": {
        "dealname",
        "amount",
        "pipeline",
        "dealstage",
        "closedate",
        "dealtype",
        "description",
        "hubspot_owner_id",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    },
}
DEFAULT_PROPERTIES = {
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
ALWAYS = {
    "contacts": ("createdate", "lastmodifieddate", "hs_object_id"),
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
}
SEARCHABLE = ("firstname", "lastname", "email", "phone", "company", "dealname")
SCOPES = frozenset(
    {"crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.read", "crm.objects.deals.write"}
)
DEAL_TO_CONTACT = 3


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"status": "error", "message": message, "category": category, **extra}


def _invalid(problems: list[tuple[str, str, str]]) -> _Refusal:
    """HubSpot's 400 for bad property values: the problems as JSON inside the message."""
    listed = [
        {"isValid": False, "message": message, "error": code, "name": name, "localizedErrorMessage": message}
        for name, code, message in problems
    ]
    return _Refusal(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(listed)}")


def _not_found(object_id: str) -> _Refusal:
    return _Refusal(
        404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", context={"id": [object_id]}
    )


@dataclass
class FakeHubspot:
    host: str
    port: int
    token: str = TOKEN
    scopes: set[str] = field(default_factory=lambda: set(SCOPES))
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {"contacts": {}, "deals": {}})
    """Contacts and deals by id, oldest first."""
    associations: dict[str, list[str]] = field(default_factory=dict)
    """Contact ids by deal id."""
    requests: list[Received] = field(default_factory=list)
    appears_after_lookup: dict[str, dict[str, str]] = field(default_factory=dict)
    """Contacts, by email, that another client creates right after a lookup by that email misses (a race)."""
    rate_limited: int = 0
    rate_limit_policy: str = "TEN_SECONDLY_ROLLING"
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(101))
    _correlations: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        """The ``hubspot_api`` credential that reaches this server."""
        return {"access_token": token, "api_url": self.api_url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_contact(self, email: str, **properties: str) -> dict[str, Any]:
        with self.lock:
            return self._create("contacts", {"email": email, **properties})

    def add_deal(self, dealname: str, contacts: tuple[str, ...] = (), **properties: str) -> dict[str, Any]:
        with self.lock:
            deal = self._create("deals", {"dealname": dealname, "pipeline": "default", **properties})
            self.associations[deal["id"]] = list(contacts)
            return deal

    def by_email(self, email: str) -> dict[str, Any] | None:
        for contact in self.records["contacts"].values():
            if (contact["properties"].get("email") or "").lower() == email.lower():
                return contact
        return None

    def _create(self, kind: str, properties: dict[str, Any]) -> dict[str, Any]:
        record_id = str(next(self._ids))
        stored = {name: str(value) for name, value in properties.items() if value not in (None, "")}
        if "email" in stored:
            stored["email"] = stored["email"].lower()
        stored.update(hs_object_id=record_id, createdate=CREATED)
        stored["lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"] = CREATED
        record = {"id": record_id, "properties": stored, "createdAt": CREATED, "updatedAt": CREATED, "archived": False}
        self.records[kind][record_id] = record
        return record


def _view(
    fake: FakeHubspot, kind: str, record: dict[str, Any], wanted: list[str] | None, associations: str = ""
) -> dict[str, Any]:
    """The record as HubSpot answers it: the asked properties (null when unset) or the defaults."""
    names = [*wanted, *ALWAYS[kind]] if wanted else [*DEFAULT_PROPERTIES[kind]]
    shown = {name: record["properties"].get(name) for name in dict.fromkeys(names)}
    view = {**record, "properties": shown}
    if "contacts" in associations.split(",") and kind == "deals":
        contacts = fake.associations.get(record["id"], [])
        if contacts:
            view["associations"] = {
                "contacts": {"results": [{"id": contact, "type": "deal_to_contact"} for contact in contacts]}
            }
    return view


def _check(kind: str, properties: Any, current: dict[str, Any] | None = None) -> dict[str, str]:
    if not isinstance(properties, dict):
        raise _Refusal(400, "VALIDATION_ERROR", "Invalid input JSON on line 1: properties must be an object")
    problems = []
    for name in properties:
        if name not in PROPERTIES[kind]:
            problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
    stage = properties.get("lifecyclestage")
    if kind == "contacts" and stage and stage not in LIFECYCLE_STAGES:
        allowed = ", ".join(LIFECYCLE_STAGES)
        problems.append(
            ("lifecyclestage", "INVALID_OPTION", f"{stage} was not one of the allowed options: [{allowed}]")
        )
    if kind == "deals":
        pipeline = properties.get("pipeline") or (current or {}).get("pipeline") or "default"
        if pipeline not in PIPELINES:
            problems.append(("pipeline", "INVALID_OPTION", f"{pipeline} was not one of the allowed options: [default]"))
        elif properties.get("dealstage") and properties["dealstage"] not in PIPELINES[pipeline]:
            allowed = ", ".join(PIPELINES[pipeline])
            message = f"{properties['dealstage']} was not one of the allowed options: [{allowed}]"
            problems.append(("dealstage", "INVALID_OPTION", message))
    if problems:
        raise _invalid(problems)
    return {name: "" if value is None else str(value) for name, value in properties.items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeHubspot]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            correlation = f"00000000-0000-4000-8000-{next(fake._correlations):012d}"
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
            try:
                if limited:
                    policy = fake.rate_limit_policy
                    raise _Refusal(
                        429,
                        "RATE_LIMIT",
                        f"You have reached your {policy.lower()} limit.",
                        errorType="RATE_LIMIT",
                        policyName=policy,
                        groupName=f"publicapi:private-app:{policy.lower()}:{PORTAL_ID}",
                    )
                if headers.get("authorization") != f"Bearer {fake.token}":
                    raise _Refusal(
                        401,
                        "INVALID_AUTHENTICATION",
                        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                        "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    )
                status, answer = _route(fake, self.command, unquote(parts.path), query, body)
            except _Refusal as refusal:
                status, answer = refusal.status, {**refusal.body, "correlationId": correlation}
        self._reply(status, answer)

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


OBJECTS = re.compile(r"^/crm/v3/objects/(contacts|deals)(?:/([^/]+))?$")


def _need_scope(fake: FakeHubspot, kind: str, method: str) -> None:
    scope = f"crm.objects.{kind}.{'read' if method == 'GET' else 'write'}"
    if scope not in fake.scopes:
        raise _Refusal(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
            "here: https://developers.hubspot.com/scopes.",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
        )


def _route(fake: FakeHubspot, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
    if method == "GET" and path == "/account-info/v3/details":
        return 200, {
            "portalId": PORTAL_ID,
            "accountType": "STANDARD",
            "timeZone": "Europe/Berlin",
            "companyCurrency": "EUR",
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }
    found = OBJECTS.match(path)
    if not found:
        raise _Refusal(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {path}")
    kind, object_id = found.group(1), found.group(2)
    search = object_id == "search" and method == "POST"
    _need_scope(fake, kind, "GET" if search else method)
    wanted = [name for name in query.get("properties", "").split(",") if name] or None
    if search:
        return 200, _search(fake, kind, body or {})
    if object_id is None and method == "GET":
        return 200, _list(fake, kind, query, wanted)
    if object_id is None and method == "POST":
        return 201, _create(fake, kind, body or {})
    record = _find(fake, kind, object_id or "", query)
    if method == "GET":
        return 200, _view(fake, kind, record, wanted, query.get("associations", ""))
    if method == "PATCH":
        changes = _check(kind, (body or {}).get("properties"), record["properties"])
        if "email" in changes:
            other = fake.by_email(changes["email"])
            if other is not None and other["id"] != record["id"]:
                raise _Refusal(409, "CONFLICT", f"Contact already exists. Existing ID: {other['id']}")
            changes["email"] = changes["email"].lower()
        for name, value in changes.items():
            if value == "":
                record["properties"].pop(name, None)
            else:
                record["properties"][name] = value
        record["updatedAt"] = record["properties"][
            "lastmodifieddate" if kind == "contacts" else "hs_lastmodifieddate"
        ] = "2026-01-02T00:00:00.000Z"
        return 200, {**record, "properties": {**record["properties"]}}
    if method == "DELETE":
        del fake.records[kind][record["id"]]
        fake.associations.pop(record["id"], None)
        return 204, None
    raise _Refusal(405, "VALIDATION_ERROR", f"Method {method} is not allowed here")


def _find(fake: FakeHubspot, kind: str, object_id: str, query: dict[str, str]) -> dict[str, Any]:
    id_property = query.get("idProperty", "hs_object_id")
    if id_property == "email" and kind == "contacts":
        record = fake.by_email(object_id)
        if record is None and object_id.lower() in fake.appears_after_lookup:
            fake._create("contacts", {"email": object_id, **fake.appears_after_lookup.pop(object_id.lower())})
    elif id_property == "hs_object_id":
        record = fake.records[kind].get(object_id)
    else:
        raise _Refusal(400, "VALIDATION_ERROR", f"{id_property} is not a unique property of {kind}")
    if record is None:
        raise _not_found(object_id)
    return record


def _create(fake: FakeHubspot, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    properties = _check(kind, body.get("properties"))
    if kind == "contacts" and properties.get("email"):
        existing = fake.by_email(properties["email"])
        if existing is not None:
            raise _Refusal(409, "CONFLICT", f"Contact already exists. Existing ID: {existing['id']}")
    if kind == "deals" and not properties.get("dealstage"):
        raise _invalid([("dealstage", "REQUIRED_PROPERTY", "Property dealstage is required")])
    contacts = []
    for association in body.get("associations") or []:
        target = str((association.get("to") or {}).get("id") or "")
        types = association.get("types") or []
        if kind != "deals" or types != [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": DEAL_TO_CONTACT}
        ]:
            raise _Refusal(400, "VALIDATION_ERROR", f"Invalid association type for {target}: {json.dumps(types)}")
        if target not in fake.records["contacts"]:
            raise _Refusal(400, "VALIDATION_ERROR", f"One or more associations are invalid: contact {target} not found")
        contacts.append(target)
    record = fake._create(kind, properties)
    if kind == "deals":
        fake.associations[record["id"]] = contacts
    return {**record, "properties": {**record["properties"]}}


def _page_size(value: str, most: int) -> int:
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise _Refusal(400, "VALIDATION_ERROR", f"limit must be between 1 and {most}, not {value}")
    return int(value)


def _list(fake: FakeHubspot, kind: str, query: dict[str, str], wanted: list[str] | None) -> dict[str, Any]:
    size = _page_size(query.get("limit", "10"), 100)
    records = list(fake.records[kind].values())
    start = int(query.get("after") or 0)
    chunk = records[start : start + size]
    answer: dict[str, Any] = {
        "results": [_view(fake, kind, record, wanted, query.get("associations", "")) for record in chunk]
    }
    if start + size < len(records):
        after = str(start + size)
        link = f"{fake.api_url}/crm/v3/objects/{kind}?limit={size}&after={after}"
        answer["paging"] = {"next": {"after": after, "link": link}}
    return answer


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(have: str | None, operator: str, condition: dict[str, Any]) -> bool:
    if operator == "HAS_PROPERTY":
        return have is not None
    if operator == "NOT_HAS_PROPERTY":
        return have is None
    if operator in ("IN", "NOT_IN"):
        inside = have is not None and have.lower() in {str(v).lower() for v in condition.get("values") or []}
        return inside if operator == "IN" else not inside
    value = str(condition.get("value", ""))
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        words = re.split(r"[\s@.,]+", (have or "").lower())
        contains = any(fnmatch.fnmatch(word, value.lower()) for word in words)
        return contains if operator == "CONTAINS_TOKEN" else not contains
    if operator == "NEQ":
        return (have or "").lower() != value.lower()
    if have is None:
        return False
    if operator == "EQ":
        return have.lower() == value.lower()
    left, right = _number(have), _number(value)
    pair: tuple[Any, Any] = (left, right) if left is not None and right is not None else (have, value)
    if operator == "BETWEEN":
        high = _number(condition.get("highValue")) if left is not None else condition.get("highValue")
        return pair[1] <= pair[0] <= high
    return {"LT": pair[0] < pair[1], "LTE": pair[0] <= pair[1], "GT": pair[0] > pair[1], "GTE": pair[0] >= pair[1]}[
        operator
    ]


def _search(fake: FakeHubspot, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    size = _page_size(str(body.get("limit", 10)), 200)
    groups = body.get("filterGroups") or []
    if len(groups) > 5:
        raise _Refusal(400, "VALIDATION_ERROR", "Too many filter groups: at most 5 are allowed")
    records = list(fake.records[kind].values())
    if groups:
        records = [
            record
            for record in records
            if any(
                all(
                    _compare(record["properties"].get(f["propertyName"]), f["operator"], f)
                    for f in group.get("filters") or []
                )
                for group in groups
            )
        ]
    text = str(body.get("query") or "").lower()
    if text:
        records = [r for r in records if any(text in (r["properties"].get(name) or "").lower() for name in SEARCHABLE)]
    for sort in reversed(body.get("sorts") or []):
        name = sort["propertyName"]
        records.sort(
            key=lambda r, name=name: (_number(r["properties"].get(name)) or 0, r["properties"].get(name) or ""),
            reverse=sort.get("direction") == "DESCENDING",
        )
    start = int(body.get("after") or 0)
    chunk = records[start : start + size]
    answer: dict[str, Any] = {
        "total": len(records),
        "results": [_view(fake, kind, record, body.get("properties") or None) for record in chunk],
    }
    if start + size < len(records):
        answer["paging"] = {"next": {"after": str(start + size)}}
    return answer


@contextmanager
def fake_hubspot_server(token: str = TOKEN) -> Iterator[FakeHubspot]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeHubspot(host, port, token=token), name="fake-hubspot") as fake:
        yield fake
