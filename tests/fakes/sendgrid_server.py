"""A real HTTP server on 127.0.0.1 speaking the part of SendGrid's v3 API the SendGrid nodes use.

Routes (``Authorization: Bearer <API key>``, else 401; :data:`MAIL_ONLY_KEY` may only send mail, and gets 403
``access forbidden`` from the contact routes):
    ``GET /v3/scopes``                              the key's scopes.
    ``POST /v3/mail/send``                          validates as SendGrid does (personalizations with ``to``,
                                                    addresses unique across to/cc/bcc, a verified ``from`` (else
                                                    403), a subject and content unless ``template_id``, base64
                                                    attachments, at most 10 categories, ``send_at`` within 72
                                                    hours); 202 with no body and ``X-Message-Id`` (200 in sandbox
                                                    mode, which stores nothing). Sent mail is in
                                                    :attr:`FakeSendgrid.mails`.
    ``PUT /v3/marketing/contacts``                  upsert by email (applied at once, not a few seconds later);
                                                    202 ``{"job_id"}``.
    ``GET /v3/marketing/contacts``                  newest first, :attr:`FakeSendgrid.page_size` per page
                                                    (``page_size`` and ``page_token`` in the query);
                                                    ``{"result", "contact_count", "_metadata": {"self", "next"}}``.
    ``GET /v3/marketing/contacts/<id>``             one contact, or 404.
    ``POST /v3/marketing/contacts/search``          ``{"query"}`` in a small SGQL subset: ``field = 'v'`` and
                                                    ``field LIKE 'v%'`` joined by AND; anything else is 400.
    ``POST /v3/marketing/contacts/search/emails``   ``{"result": {email: {"contact"} | {"error"}}}``; 404 when none
                                                    is known.
    ``DELETE /v3/marketing/contacts?ids=a,b``       202 ``{"job_id"}``.
Errors are SendGrid's ``{"errors": [{"field", "message", "help"}]}``. Set :attr:`FakeSendgrid.rate_limited` to
answer the next that many requests with 429 and ``X-RateLimit-Reset``. Every request is recorded.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "SG.fakeFAKEfake.0123456789abcdefABCDEF0123456789abcdef"
MAIL_ONLY_KEY = "SG.mailonly.0123456789abcdef"
SENDER = "shop@example.com"
ALL_SCOPES = ["mail.send", "marketing.read", "marketing.write", "scopes.read"]
RESET_AT = 1767225600
_CONDITION = re.compile(r"^\s*(\w+)\s+(=|LIKE)\s+'([^']*)'\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, message: str, field: str | None = None, help_url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": [{"field": field, "message": message, "help": help_url}]}


@dataclass
class FakeSendgrid:
    host: str
    port: int
    senders: set[str] = field(default_factory=lambda: {SENDER})
    """Verified sender identities."""
    mails: list[dict[str, Any]] = field(default_factory=list)
    """Each accepted Mail Send body, with its ``message_id``."""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Contacts by id, oldest first."""
    page_size: int = 50
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_contact(self, email: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return dict(self._upsert({"email": email, **fields}, []))

    def received(self, method: str, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _upsert(self, fields: dict[str, Any], list_ids: list[str]) -> dict[str, Any]:
        email = str(fields["email"]).lower()
        count = next(self._ids)
        stamp = f"2026-01-01T09:{count // 60 % 60:02d}:{count % 60:02d}Z"
        contact = next((entry for entry in self.contacts.values() if entry["email"] == email), None)
        if contact is None:
            contact = {
                "id": str(uuid.UUID(int=count)),
                "email": email,
                "first_name": "",
                "last_name": "",
                "list_ids": [],
                "custom_fields": {},
                "created_at": stamp,
            }
            self.contacts[contact["id"]] = contact
        custom = fields.get("custom_fields") or {}
        contact.update({key: value for key, value in fields.items() if key not in ("email", "custom_fields")})
        contact["custom_fields"] = {**contact["custom_fields"], **custom}
        contact["list_ids"] = sorted({*contact["list_ids"], *list_ids})
        contact["updated_at"] = stamp
        return contact


def _addresses(entries: Any, where: str) -> list[str]:
    if not isinstance(entries, list):
        raise _Refusal(400, "The to array is required for all personalization objects.", where)
    found = []
    for position, entry in enumerate(entries):
        email = entry.get("email") if isinstance(entry, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise _Refusal(400, "Does not contain a valid address.", f"{where}.{position}.email")
        found.append(email.lower())
    return found


def _check_mail(fake: FakeSendgrid, body: dict[str, Any]) -> None:
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        raise _Refusal(400, "The personalizations field is required and must have at least 1 item.", "personalizations")
    for number, entry in enumerate(personalizations):
        where = f"personalizations.{number}"
        seen = _addresses(entry.get("to"), f"{where}.to")
        for key in ("cc", "bcc"):
            if key in entry:
                seen += _addresses(entry[key], f"{where}.{key}")
        if len(seen) != len(set(seen)):
            raise _Refusal(
                400,
                "Each email address in the personalization block should be unique between to, cc, and bcc.",
                where,
            )
    sender = (body.get("from") or {}).get("email", "")
    if sender.lower() not in fake.senders:
        raise _Refusal(
            403,
            "The from address does not match a verified Sender Identity. Mail cannot be sent until this error "
            "is resolved.",
            "from",
            "https://sendgrid.com/docs/for-developers/sending-email/sender-identity/",
        )
    if not body.get("template_id"):
        if not body.get("subject"):
            raise _Refusal(400, "The subject is required.", "subject")
        content = body.get("content")
        if not isinstance(content, list) or not content or not all(part.get("value") for part in content):
            raise _Refusal(
                400,
                "Unless a valid template_id is provided, the content parameter is required.",
                "content",
            )
    for number, attachment in enumerate(body.get("attachments") or []):
        try:
            base64.b64decode(attachment.get("content", ""), validate=True)
        except binascii.Error as err:
            raise _Refusal(
                400, "The attachment content must be base64 encoded.", f"attachments.{number}.content"
            ) from err
    if len(body.get("categories") or []) > 10:
        raise _Refusal(400, "Too many categories: at most 10.", "categories")
    send_at = body.get("send_at")
    if send_at is not None and not (time.time() - 60 <= send_at <= time.time() + 72 * 3600):
        raise _Refusal(400, "send_at must be a timestamp within 72 hours from now.", "send_at")


def _conditions(query: str) -> list[tuple[str, str, str]]:
    """``(field, operator, value)`` per condition of the SGQL subset the fake understands."""
    conditions = []
    for condition in re.split(r"\s+AND\s+", query, flags=re.IGNORECASE):
        found = _CONDITION.match(condition)
        if found is None:
            raise _Refusal(400, f"invalid query: {condition.strip()!r}", "query")
        name, operator, value = found.groups()
        conditions.append((name, operator.upper(), value))
    return conditions


def _matches(contact: dict[str, Any], conditions: list[tuple[str, str, str]]) -> bool:
    for name, operator, value in conditions:
        actual = str(contact.get(name, contact["custom_fields"].get(name, "")))
        if operator == "=" and actual != value:
            return False
        if operator == "LIKE" and not re.fullmatch(re.escape(value).replace("%", ".*"), actual, re.IGNORECASE):
            return False
    return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeSendgrid]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        if data is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            limits = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET_AT)}
            self._reply(429, {"errors": [{"field": None, "message": "too many requests"}]}, limits)
            return
        authorization = headers.get("authorization")
        if authorization not in (f"Bearer {API_KEY}", f"Bearer {MAIL_ONLY_KEY}"):
            refusal = _Refusal(401, "The provided authorization grant is invalid, expired, or revoked")
            self._reply(refusal.status, refusal.body)
            return
        scopes = ALL_SCOPES if authorization == f"Bearer {API_KEY}" else ["mail.send"]
        try:
            with fake.lock:
                self._reply(*self._route(fake, parts.path, query, body or {}, scopes))
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _route(
        self, fake: FakeSendgrid, path: str, query: dict[str, str], body: dict[str, Any], scopes: list[str]
    ) -> tuple[int, Any, dict[str, str] | None]:
        method = self.command
        if method == "GET" and path == "/v3/scopes":
            return 200, {"scopes": scopes}, None
        if method == "POST" and path == "/v3/mail/send":
            _check_mail(fake, body)
            if (body.get("mail_settings") or {}).get("sandbox_mode", {}).get("enable"):
                return 200, None, None
            message_id = f"fakeMsg{next(fake._ids):06d}"
            fake.mails.append({**body, "message_id": message_id})
            return 202, None, {"X-Message-Id": message_id}
        if not path.startswith("/v3/marketing/contacts"):
            raise _Refusal(404, "resource not found")
        if "marketing.read" not in scopes:
            raise _Refusal(403, "access forbidden")
        return self._contacts(fake, method, path.removeprefix("/v3/marketing/contacts"), query, body)

    def _contacts(
        self, fake: FakeSendgrid, method: str, rest: str, query: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str] | None]:
        job = {"job_id": str(uuid.UUID(int=10**6 + next(fake._ids)))}
        if method == "PUT" and rest == "":
            contacts = body.get("contacts")
            if not isinstance(contacts, list) or not contacts:
                raise _Refusal(400, "contacts is required and must have at least 1 item", "contacts")
            for number, contact in enumerate(contacts):
                if "@" not in str(contact.get("email") or ""):
                    raise _Refusal(400, "must include a valid email", f"contacts[{number}].email")
            for contact in contacts:
                fake._upsert(contact, list(body.get("list_ids") or []))
            return 202, job, None
        if method == "GET" and rest == "":
            return 200, self._page(fake, query), None
        if method == "DELETE" and rest == "":
            ids = [entry for entry in query.get("ids", "").split(",") if entry]
            if not ids:
                raise _Refusal(400, "ids or delete_all_contacts is required", "ids")
            for contact_id in ids:
                fake.contacts.pop(contact_id, None)
            return 202, job, None
        if method == "POST" and rest == "/search":
            conditions = _conditions(str(body.get("query") or ""))
            found = [dict(c) for c in reversed(fake.contacts.values()) if _matches(c, conditions)]
            return 200, {"result": found, "contact_count": len(found)}, None
        if method == "POST" and rest == "/search/emails":
            emails = [str(email).lower() for email in body.get("emails") or []]
            by_email = {contact["email"]: contact for contact in fake.contacts.values()}
            if not any(email in by_email for email in emails):
                raise _Refusal(404, "No contacts found")
            result = {
                email: {"contact": dict(by_email[email])} if email in by_email else {"error": "contact not found"}
                for email in emails
            }
            return 200, {"result": result}, None
        if method == "GET" and rest.startswith("/") and rest.count("/") == 1:
            contact = fake.contacts.get(rest[1:])
            if contact is None:
                raise _Refusal(404, "Contact not found")
            return 200, dict(contact), None
        raise _Refusal(404, "resource not found")

    def _page(self, fake: FakeSendgrid, query: dict[str, str]) -> dict[str, Any]:
        size = int(query.get("page_size") or fake.page_size)
        start = int(query.get("page_token") or 0)
        newest_first = list(reversed(fake.contacts.values()))
        base = f"{fake.api_url}/v3/marketing/contacts"
        metadata = {"self": f"{base}?{urlencode({'page_size': size, 'page_token': start})}"}
        if start + size < len(newest_first):
            metadata["next"] = f"{base}?{urlencode({'page_size': size, 'page_token': start + size})}"
        return {
            "result": [dict(contact) for contact in newest_first[start : start + size]],
            "contact_count": len(newest_first),
            "_metadata": metadata,
        }


@contextmanager
def fake_sendgrid_server() -> Iterator[FakeSendgrid]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeSendgrid, name="fake-sendgrid") as fake:
        yield fake
