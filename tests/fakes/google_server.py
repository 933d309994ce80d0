"""A real HTTP server on 127.0.0.1 standing in for Google's OAuth token endpoint, Sheets, Drive, Gmail, Calendar, Tasks.

Routes:
    ``POST /token``  the JWT-bearer grant: the assertion must be signed by a registered service account's key
                     (:meth:`FakeGoogle.service_account`) for Google's token audience; answers an access token, else 400
                     ``invalid_grant``. An assertion acting as a user (``sub``) needs the account's domain-wide
                     delegation of every scope it asks (:meth:`FakeGoogle.allow_delegation`), else 401
                     ``unauthorized_client``. Every other route wants ``Authorization: Bearer <a token it issued>``
                     (401); Gmail, Calendar and Tasks also want their API's scope in it (403).
    Sheets (``/v4/spreadsheets/<id>/...``): ``values/<range>`` GET and PUT, ``values/<range>:append``,
                     ``values/<range>:clear``, ``values:batchUpdate``. Ranges are A1 notation with a quoted or bare
                     sheet name; USER_ENTERED turns numeric text into numbers; reads are formatted as text unless
                     ``valueRenderOption=UNFORMATTED_VALUE``. Unknown spreadsheets are 404, unknown sheets 400.
    Drive (``/drive/v3/files``): list with ``q`` (``trashed``, ``'<id>' in parents``, ``name contains``,
                     ``name =``, ``mimeType =`` joined by ``and``) in pages of ``pageSize``; get (``alt=media`` for
                     the bytes); PATCH; DELETE; ``POST /upload/drive/v3/files?uploadType=multipart``.
    Gmail (``/gmail/v1/users/me/messages``): list (``q`` with from:, to:, cc:, subject:, is:read/unread/starred,
                     has:attachment, label:, in: and bare words; other operators match everything; ``labelIds``,
                     ``includeSpamTrash``, ``maxResults`` up to 500, ``pageToken``), ``POST .../send`` (a base64url
                     ``raw`` RFC 822 message with a recipient, optional ``threadId``), GET ``.../<id>``
                     (``format`` full, metadata, minimal or raw), DELETE ``.../<id>``, ``POST .../<id>/modify``,
                     ``POST .../<id>/trash``, GET ``.../<id>/attachments/<attachment id>``. The token must act as a
                     user (400 ``Precondition check failed.`` otherwise); label ids must exist (400).
    Calendar (``/calendar/v3/calendars/<id>/events``): insert, list (``timeMin``, ``timeMax``, ``q``,
                     ``singleEvents``, ``orderBy`` startTime (needs singleEvents) or updated, ``showDeleted``,
                     ``maxResults``, ``pageToken``), GET, PATCH and DELETE ``.../<event id>`` (a deleted event is
                     cancelled: deleting it again is 410). ``primary`` is the calendar of the user the token acts
                     as (or of the service account); other calendars must be added (404).
    Tasks (``/tasks/v1/lists/<list id>/tasks``): insert (``parent``), list (``showCompleted``, ``maxResults`` up
                     to 100, ``pageToken``), GET, PATCH and DELETE ``.../<task id>``; ``@default`` is the default
                     list. Due dates keep their date only, as Google's do.
    Errors are Google's ``{"error": {"code", "message", "status", "errors": [{"message", "domain", "reason"}]}}``;
    :meth:`FakeGoogle.fail_next` makes the next API requests fail (rate limits).

Use it as a context manager::

    with fake_google_server() as google:
        key = google.service_account()          # a JSON key file, as text
        google.spreadsheets["sheet-id"] = {"Sheet1": [["name", "age"], ["Ada", 36]]}
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import HTTP
from email.policy import default as default_policy
from email.utils import getaddresses
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

from tests.fakes.serving import FakeServer, serve

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
"""google-auth always addresses its assertions to Google's endpoint, whatever token_uri it posts them to."""
RANGE = re.compile(r"^(?:'((?:[^']|'')+)'|([^!']+))(?:!(.*))?$")
CELL = re.compile(r"^([A-Z]*)(\d*)$")
QUOTED = r"'((?:[^'\\]|\\.)*)'"
CONDITIONS = [
    (re.compile(r"^trashed = (true|false)$"), lambda f, v: f["trashed"] == (v == "true")),
    (re.compile(rf"^{QUOTED} in parents$"), lambda f, v: v in f["parents"]),
    (re.compile(rf"^name contains {QUOTED}$"), lambda f, v: v.lower() in f["name"].lower()),
    (re.compile(rf"^name = {QUOTED}$"), lambda f, v: f["name"] == v),
    (re.compile(rf"^mimeType = {QUOTED}$"), lambda f, v: f["mimeType"] == v),
]
API_SCOPES = {
    "/gmail/": "https://mail.google.com/",
    "/calendar/": "https://www.googleapis.com/auth/calendar",
    "/tasks/": "https://www.googleapis.com/auth/tasks",
}
"""The scope a token needs for each API the fake checks scopes of (Sheets and Drive are not checked)."""
REASONS = {
    "INVALID_ARGUMENT": "invalid",
    "FAILED_PRECONDITION": "failedPrecondition",
    "UNAUTHENTICATED": "authError",
    "PERMISSION_DENIED": "forbidden",
    "NOT_FOUND": "notFound",
    "RESOURCE_EXHAUSTED": "rateLimitExceeded",
}
SYSTEM_LABELS = frozenset(
    {"INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "CHAT"}
    | {f"CATEGORY_{name}" for name in ("PERSONAL", "SOCIAL", "PROMOTIONS", "UPDATES", "FORUMS")}
)
GMAIL_TERM = re.compile(r'\S+:"[^"]*"|"[^"]*"|\S+')
DEFAULT_TASK_LIST = "MDE2NzYxNjY3MDkwNTI3NzY4MjY6MDow"
"""The id of the default task list (``@default``), in the shape of Google's."""


@cache
def _private_key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name for the whole test run: generating keys is slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeGoogle:
    host: str
    port: int
    accounts: dict[str, bytes] = field(default_factory=dict)
    """Public keys of the service accounts the token endpoint knows, by client_email."""
    tokens: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    """Issued access tokens: the account and its scopes."""
    spreadsheets: dict[str, dict[str, list[list[Any]]]] = field(default_factory=dict)
    """Rows of every sheet of every spreadsheet."""
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Drive files by id: metadata plus ``content`` (bytes)."""
    delegations: dict[str, set[str]] = field(default_factory=dict)
    """Scopes each service account may ask for when acting as a user (domain-wide delegation), by client_email."""
    subjects: dict[str, str] = field(default_factory=dict)
    """The user each issued token acts as, for tokens that act as one."""
    mail: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Gmail messages by id: ``threadId``, ``labelIds``, ``internalDate`` and the RFC 822 bytes as ``raw``."""
    labels: dict[str, str] = field(default_factory=dict)
    """The mailbox's own labels: name by id (``Label_1``); system labels (INBOX, UNREAD...) always exist."""
    calendars: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Events by id of every calendar by id; a primary calendar appears when first used."""
    task_lists: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {DEFAULT_TASK_LIST: {}})
    """Tasks by id of every task list by id."""
    failures: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    """Errors the next API requests get (status, message, gRPC status, reason), oldest first."""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def token_uri(self) -> str:
        return f"{self.root_url}token"

    def service_account(self, name: str = "robot", *, registered: bool = True) -> str:
        """A service account's JSON key file whose token_uri is this server; ``registered=False``: an unknown key."""
        key = _private_key(name)
        email = f"{name}@fake-project.iam.gserviceaccount.com"
        if registered:
            self.accounts[email] = _public_pem(key)
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "fake-project",
                "private_key_id": f"key-{name}",
                "private_key": _pem(key),
                "client_email": email,
                "client_id": "1234567890",
                "token_uri": self.token_uri,
            }
        )

    def add_file(
        self, name: str, content: bytes, *, mime_type: str = "application/octet-stream", parent: str = "root"
    ) -> str:
        file_id = f"file{next(self._ids):04d}"
        with self.lock:
            self.files[file_id] = {
                "id": file_id,
                "name": name,
                "mimeType": mime_type,
                "parents": [parent],
                "trashed": False,
                "modifiedTime": "2024-05-01T12:00:00.000Z",
                "content": content,
            }
        return file_id

    def allow_delegation(self, name: str = "robot", *scopes: str) -> None:
        """Let the service account ``name`` act as the domain's users with ``scopes`` (the admin console's grant)."""
        self.delegations.setdefault(f"{name}@fake-project.iam.gserviceaccount.com", set()).update(scopes)

    def fail_next(self, status: int, message: str, state: str, *, reason: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` API requests (not token requests) with this Google error."""
        with self.lock:
            self.failures.extend([(status, message, state, reason)] * times)

    def add_message(
        self,
        message: EmailMessage | bytes,
        *,
        labels: tuple[str, ...] = ("INBOX", "UNREAD"),
        thread_id: str | None = None,
    ) -> str:
        """Put a message into the Gmail mailbox; returns its id (its thread's id, unless it joins ``thread_id``)."""
        message_id = f"18f{next(self._ids):013x}"
        with self.lock:
            self.mail[message_id] = {
                "id": message_id,
                "threadId": thread_id or message_id,
                "labelIds": list(labels),
                "internalDate": str(1714564800000 + len(self.mail) * 60000),
                "raw": message.as_bytes() if isinstance(message, EmailMessage) else bytes(message),
            }
        return message_id

    def parsed(self, message_id: str) -> EmailMessage:
        """A Gmail message of the mailbox, parsed."""
        parsed = BytesParser(policy=default_policy).parsebytes(self.mail[message_id]["raw"])
        assert isinstance(parsed, EmailMessage)
        return parsed

    def add_event(self, calendar_id: str, **event: Any) -> dict[str, Any]:
        """Put an event (a Calendar event resource's fields) into ``calendar_id``, creating the calendar."""
        with self.lock:
            created = _new_event(self, calendar_id, calendar_id, event)
            self.calendars.setdefault(calendar_id, {})[created["id"]] = created
        return created

    def add_task(self, list_id: str = DEFAULT_TASK_LIST, **task: Any) -> dict[str, Any]:
        """Put a task (a Tasks task resource's fields) into the list ``list_id``, creating the list."""
        with self.lock:
            tasks = self.task_lists.setdefault(list_id, {})
            created = _new_task(self, list_id, len(tasks), task)
            tasks[created["id"]] = created
        return created

    def received(self, prefix: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path.startswith(prefix)]


def _column(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class _Range:
    sheet: str
    first_column: int
    first_row: int
    last_column: int | None
    last_row: int | None

    def a1(self, rows: int | None = None, columns: int | None = None) -> str:
        last_row = self.last_row if rows is None else self.first_row + max(rows, 1) - 1
        last_column = self.last_column if columns is None else self.first_column + max(columns, 1) - 1
        end = f"{_letters(last_column or self.first_column)}{last_row or ''}"
        return f"{self.sheet}!{_letters(self.first_column)}{self.first_row}:{end}"


class RangeError(ValueError):
    pass


def parse_range(text: str) -> _Range:
    match = RANGE.match(text)
    if not match:
        raise RangeError(text)
    sheet = (match.group(1) or "").replace("''", "'") or (match.group(2) or "").strip()
    cells = (match.group(3) or "").upper()
    start, _, end = cells.partition(":")
    first = CELL.match(start)
    last = CELL.match(end or start)
    if not first or not last:
        raise RangeError(text)
    return _Range(
        sheet,
        _column(first.group(1)) if first.group(1) else 1,
        int(first.group(2)) if first.group(2) else 1,
        _column(last.group(1)) if last.group(1) else None,
        int(last.group(2)) if last.group(2) else None,
    )


def _entered(value: Any) -> Any:
    """What Sheets stores for a typed value (USER_ENTERED): numbers and booleans from their text."""
    if isinstance(value, str):
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        if re.fullmatch(r"-?\d+\.\d+", value):
            return float(value)
        if value.upper() in ("TRUE", "FALSE"):
            return value.upper() == "TRUE"
    return value


def _formatted(value: Any) -> Any:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return "" if value is None else str(value)


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    trimmed = []
    for row in rows:
        row = list(row)
        while row and row[-1] in ("", None):
            row.pop()
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _instant(when: dict[str, Any]) -> datetime:
    """The moment a Calendar ``start`` or ``end`` stands for; all-day dates count from midnight UTC.

    Raises:
        ValueError: The date or time, or its time zone, is not valid.
    """
    if "date" in when:
        return datetime.combine(date.fromisoformat(when["date"]), datetime.min.time(), UTC)
    moment = datetime.fromisoformat(str(when["dateTime"]))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(when["timeZone"]))
    return moment


def _event_problem(event: dict[str, Any]) -> str | None:
    """What Calendar would refuse about an event's times, in its words, or None."""
    start, end = event.get("start"), event.get("end")
    if not start:
        return "Missing start time."
    if not end:
        return "Missing end time."
    if ("date" in start) != ("date" in end):
        return "Start and end times must either both be date or both be dateTime."
    for label, when in (("start", start), ("end", end)):
        offset = re.search(r"(Z|[+-]\d\d:\d\d)$", str(when.get("dateTime", "")))
        if "dateTime" in when and not offset and not when.get("timeZone"):
            return f"Missing time zone definition for {label} time."
        try:
            _instant(when)
        except (ValueError, KeyError, ZoneInfoNotFoundError):
            return f"Invalid {label} time."
    if _instant(end) <= _instant(start):
        return "The specified time range is empty."
    return None


def _new_event(fake: FakeGoogle, calendar_id: str, identity: str, data: dict[str, Any]) -> dict[str, Any]:
    event_id = f"evt{next(fake._ids):06d}"
    now = _now()
    event: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": f'"{secrets.token_hex(8)}"',
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": now,
        "updated": now,
        "creator": {"email": identity},
        "organizer": {"email": calendar_id, "self": True},
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "reminders": {"useDefault": True},
        "eventType": "default",
    }
    return _merge_event(event, data)


def _merge_event(event: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    for key in ("summary", "description", "location", "start", "end"):
        if key in data:
            event[key] = data[key]
    if "attendees" in data:
        event["attendees"] = [
            {"email": attendee["email"], "responseStatus": attendee.get("responseStatus", "needsAction")}
            for attendee in data["attendees"] or []
        ]
    return event


def _new_task(fake: FakeGoogle, list_id: str, position: int, data: dict[str, Any]) -> dict[str, Any]:
    task_id = base64.urlsafe_b64encode(f"task-{next(fake._ids):06d}".encode()).decode().rstrip("=")
    task: dict[str, Any] = {
        "kind": "tasks#task",
        "id": task_id,
        "etag": f'"{secrets.token_hex(8)}"',
        "title": "",
        "updated": _now(),
        "selfLink": f"https://www.googleapis.com/tasks/v1/lists/{list_id}/tasks/{task_id}",
        "position": f"{position:020d}",
        "status": "needsAction",
        "links": [],
        "webViewLink": f"https://tasks.google.com/task/{task_id}",
    }
    return _merge_task(task, data)


def _due(value: str) -> str:
    """A due time as Tasks stores it: the date alone, at midnight UTC.

    Raises:
        ValueError: Not an RFC 3339 time.
    """
    return datetime.fromisoformat(value).date().isoformat() + "T00:00:00.000Z"


def _merge_task(task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``task`` changed by ``data`` (a PATCH body: null clears a field).

    Raises:
        ValueError: The due time is not RFC 3339; the task is left as it was.
    """
    due = _due(data["due"]) if data.get("due") is not None else None
    for key in ("title", "notes", "parent"):
        if key in data:
            task[key] = data[key]
    if "due" in data:
        if due is None:
            task.pop("due", None)
        else:
            task["due"] = due
    if "status" in data:
        task["status"] = data["status"]
    if task["status"] == "completed":
        task["completed"] = data.get("completed") or task.get("completed") or _now()
    else:
        task.pop("completed", None)
    task["updated"] = _now()
    return task


def _event_text(event: dict[str, Any]) -> str:
    """What Calendar's free-text search looks through."""
    attendees = " ".join(attendee["email"] for attendee in event.get("attendees", []))
    return " ".join(str(event.get(key, "")) for key in ("summary", "description", "location")).lower() + attendees


def _text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _gmail_parts(part: Message, part_id: str = "") -> Iterator[tuple[str, Message]]:
    """Every MIME part with Gmail's part id: ``""`` for the message, ``0``, ``1``, ``0.1``... below it."""
    yield part_id, part
    if part.is_multipart():
        for number, child in enumerate(part.get_payload()):  # type: ignore[arg-type]
            yield from _gmail_parts(child, f"{part_id}.{number}" if part_id else str(number))


def _gmail_payload(part: Message, part_id: str, message_id: str, full: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "partId": part_id,
        "mimeType": part.get_content_type(),
        "filename": part.get_filename() or "",
        "headers": [{"name": name, "value": str(value)} for name, value in part.items()],
        "body": {"size": 0},
    }
    if not full:
        return payload
    if part.is_multipart():
        payload["parts"] = [
            _gmail_payload(child, f"{part_id}.{number}" if part_id else str(number), message_id, full)
            for number, child in enumerate(part.get_payload())  # type: ignore[arg-type]
        ]
        return payload
    content = part.get_payload(decode=True)
    content = content if isinstance(content, bytes) else b""
    payload["body"]["size"] = len(content)
    if payload["filename"]:
        payload["body"]["attachmentId"] = f"ANGjdJ-{message_id}-{part_id or 'body'}"
    else:
        payload["body"]["data"] = _b64url(content)
    return payload


def _gmail_resource(fake: FakeGoogle, entry: dict[str, Any], form: str) -> dict[str, Any]:
    parsed = fake.parsed(entry["id"])
    resource: dict[str, Any] = {
        "id": entry["id"],
        "threadId": entry["threadId"],
        "labelIds": list(entry["labelIds"]),
        "snippet": " ".join(_text_of(parsed).split())[:100],
        "sizeEstimate": len(entry["raw"]),
        "historyId": str(1000 + len(fake.mail)),
        "internalDate": entry["internalDate"],
    }
    if form == "raw":
        resource["raw"] = _b64url(entry["raw"])
    elif form in ("full", "metadata"):
        resource["payload"] = _gmail_payload(parsed, "", entry["id"], form == "full")
    return resource


def _gmail_matches(fake: FakeGoogle, entry: dict[str, Any], query: str) -> bool:
    """Whether a message matches a Gmail search, for the operators the fake knows."""
    if not query.strip():
        return True
    parsed = fake.parsed(entry["id"])
    labels = set(entry["labelIds"])
    for term in GMAIL_TERM.findall(query):
        operator, colon, value = term.partition(":")
        if not colon:
            operator, value = "", term
        value = value.strip('"').lower()
        if operator in ("from", "to", "cc", "subject"):
            if value not in str(parsed.get(operator, "")).lower():
                return False
        elif operator == "is" and value in ("unread", "read", "starred"):
            if ("UNREAD" in labels) if value == "read" else (value.upper() not in labels):
                return False
        elif operator == "has" and value == "attachment":
            if not any(part.get_filename() for _, part in _gmail_parts(parsed)):
                return False
        elif operator in ("label", "in"):
            names = {label.lower() for label in labels} | {fake.labels.get(label, "").lower() for label in labels}
            if value not in names:
                return False
        elif not operator and value not in f"{parsed.get('subject', '')} {_text_of(parsed)}".lower():
            return False
    return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeGoogle]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def _error(self, status: int, message: str, state: str, reason: str | None = None) -> None:
        details = [{"message": message, "domain": "global", "reason": reason or REASONS.get(state, "backendError")}]
        self._json(status, {"error": {"code": status, "message": message, "status": state, "errors": details}})

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers))
        if parts.path == "/token":
            self._token(fake, dict(parse_qs(body.decode()).items()))
            return
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in fake.tokens:
            self._error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
            return
        needed = next((scope for prefix, scope in API_SCOPES.items() if parts.path.startswith(prefix)), None)
        if needed and needed not in fake.tokens[token][1]:
            self._error(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED")
            return
        with fake.lock:
            failure = fake.failures.pop(0) if fake.failures else None
        if failure:
            self._error(*failure)
            return
        if parts.path.startswith("/v4/spreadsheets/"):
            self._sheets(fake, parts.path.removeprefix("/v4/spreadsheets/"), query, body)
        elif parts.path.startswith(("/drive/v3/files", "/upload/drive/v3/files")):
            self._drive(fake, parts.path, query, headers, body)
        elif parts.path.startswith("/gmail/v1/users/"):
            self._gmail(fake, token, parts.path.removeprefix("/gmail/v1/users/"), query, body)
        elif parts.path.startswith("/calendar/v3/calendars/"):
            self._calendar(fake, token, parts.path.removeprefix("/calendar/v3/calendars/"), query, body)
        elif parts.path.startswith("/tasks/v1/lists/"):
            self._tasks(fake, parts.path.removeprefix("/tasks/v1/lists/"), query, body)
        else:
            self._error(404, f"no route {parts.path}", "NOT_FOUND")

    def _token(self, fake: FakeGoogle, form: dict[str, list[str]]) -> None:
        if form.get("grant_type") != [JWT_GRANT]:
            self._json(400, {"error": "unsupported_grant_type"})
            return
        assertion = (form.get("assertion") or [""])[0]
        try:
            claims = jwt.decode(assertion, verify=False)
            public_key = fake.accounts[claims["iss"]]
            claims = jwt.decode(assertion, certs=public_key, audience=[fake.token_uri, GOOGLE_TOKEN_AUDIENCE])
        except (KeyError, ValueError):
            self._json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
            return
        scopes = str(claims.get("scope", "")).split()
        subject = claims.get("sub")
        if subject and not set(scopes) <= fake.delegations.get(claims["iss"], set()):
            self._json(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens using this method, or "
                    "client not authorized for any of the scopes requested.",
                },
            )
            return
        token = f"ya29.fake-{secrets.token_hex(8)}"
        with fake.lock:
            fake.tokens[token] = (claims["iss"], scopes)
            if subject:
                fake.subjects[token] = subject
        self._json(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _sheets(self, fake: FakeGoogle, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        spreadsheet_id, _, action = rest.partition("/")
        book = fake.spreadsheets.get(spreadsheet_id)
        if book is None:
            self._error(404, "Requested entity was not found.", "NOT_FOUND")
            return
        data = json.loads(body) if body else {}
        entered = (query.get("valueInputOption") or [data.get("valueInputOption", "RAW")])[0] == "USER_ENTERED"
        try:
            if action == "values:batchUpdate":
                with fake.lock:
                    ranges = [
                        self._write(book, parse_range(entry["range"]), entry["values"], entered)
                        for entry in data["data"]
                    ]
                self._json(
                    200, {"spreadsheetId": spreadsheet_id, "totalUpdatedCells": len(ranges), "responses": ranges}
                )
                return
            # The range is percent-encoded (its own colons too); ":append" and ":clear" are not.
            target, _, verb = action.removeprefix("values/").rpartition(":")
            if verb not in ("append", "clear"):
                target, verb = action.removeprefix("values/"), ""
            where = parse_range(unquote(target))
            if where.sheet not in book:
                raise RangeError(target)
        except RangeError as err:
            self._error(400, f"Unable to parse range: {err}", "INVALID_ARGUMENT")
            return
        with fake.lock:
            if self.command == "GET":
                self._json(200, self._read(book, where, query))
            elif verb == "append":
                rows = book[where.sheet]
                last = max(
                    (number for number, row in enumerate(rows, 1) if any(c not in ("", None) for c in row)), default=0
                )
                start = _Range(where.sheet, where.first_column, last + 1, None, None)
                updated = self._write(book, start, data["values"], entered)
                self._json(200, {"spreadsheetId": spreadsheet_id, "tableRange": where.a1(), "updates": updated})
            elif verb == "clear":
                rows = book[where.sheet]
                for number in range(where.first_row, (where.last_row or len(rows)) + 1):
                    if number <= len(rows):
                        row = rows[number - 1]
                        for column in range(where.first_column, (where.last_column or len(row)) + 1):
                            if column <= len(row):
                                row[column - 1] = ""
                self._json(200, {"spreadsheetId": spreadsheet_id, "clearedRange": where.a1()})
            else:
                self._json(200, {"spreadsheetId": spreadsheet_id, **self._write(book, where, data["values"], entered)})

    @staticmethod
    def _read(book: dict[str, list[list[Any]]], where: _Range, query: dict[str, list[str]]) -> dict[str, Any]:
        rows = book[where.sheet]
        last_row = where.last_row or len(rows)
        selected = []
        for row in rows[where.first_row - 1 : last_row]:
            end = where.last_column or len(row)
            selected.append(list(row[where.first_column - 1 : end]))
        values = _trim(selected)
        if (query.get("valueRenderOption") or ["FORMATTED_VALUE"])[0] == "FORMATTED_VALUE":
            values = [[_formatted(cell) for cell in row] for row in values]
        answer: dict[str, Any] = {"range": where.a1(), "majorDimension": "ROWS"}
        if values:
            answer["values"] = values
        return answer

    @staticmethod
    def _write(
        book: dict[str, list[list[Any]]], where: _Range, values: list[list[Any]], entered: bool
    ) -> dict[str, Any]:
        if where.sheet not in book:
            raise RangeError(where.sheet)
        rows = book[where.sheet]
        for offset, new in enumerate(values):
            number = where.first_row + offset
            while len(rows) < number:
                rows.append([])
            row = rows[number - 1]
            for position, value in enumerate(new):
                column = where.first_column + position
                while len(row) < column:
                    row.append("")
                row[column - 1] = _entered(value) if entered else value
        width = max((len(row) for row in values), default=0)
        return {
            "updatedRange": where.a1(len(values), width),
            "updatedRows": len(values),
            "updatedColumns": width,
            "updatedCells": sum(len(row) for row in values),
        }

    def _drive(
        self, fake: FakeGoogle, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> None:
        if path == "/upload/drive/v3/files" and self.command == "POST":
            self._upload(fake, headers, body)
            return
        if path == "/drive/v3/files" and self.command == "GET":
            self._list(fake, query)
            return
        file_id = path.removeprefix("/drive/v3/files/")
        with fake.lock:
            found = fake.files.get(file_id)
            if found is None:
                self._error(404, f"File not found: {file_id}.", "NOT_FOUND")
            elif self.command == "DELETE":
                del fake.files[file_id]
                self._send(204, b"")
            elif self.command == "PATCH":
                found.update(
                    {key: value for key, value in json.loads(body or b"{}").items() if key in ("name", "trashed")}
                )
                self._json(200, self._metadata(found))
            elif (query.get("alt") or [""])[0] == "media":
                self._send(200, found["content"], found["mimeType"])
            else:
                self._json(200, self._metadata(found))

    @staticmethod
    def _metadata(entry: dict[str, Any]) -> dict[str, Any]:
        data = {key: value for key, value in entry.items() if key != "content"}
        data["size"] = str(len(entry["content"]))
        data["webViewLink"] = f"https://drive.fake.test/file/d/{entry['id']}/view"
        return data

    def _list(self, fake: FakeGoogle, query: dict[str, list[str]]) -> None:
        checks = []
        for condition in filter(None, re.split(r" and ", (query.get("q") or [""])[0])):
            condition = condition.strip().removeprefix("(").removesuffix(")")
            for pattern, check in CONDITIONS:
                match = pattern.match(condition)
                if match:
                    value = match.group(1).replace("\\'", "'").replace("\\\\", "\\")
                    checks.append((check, value))
                    break
            else:
                self._error(400, f"Invalid Value: {condition}", "INVALID_ARGUMENT")
                return
        with fake.lock:
            matching = [entry for entry in fake.files.values() if all(check(entry, value) for check, value in checks)]
        start = int((query.get("pageToken") or ["0"])[0])
        size = int((query.get("pageSize") or ["100"])[0])
        page = [self._metadata(entry) for entry in matching[start : start + size]]
        answer: dict[str, Any] = {"files": page}
        if start + size < len(matching):
            answer["nextPageToken"] = str(start + size)
        self._json(200, answer)

    def _upload(self, fake: FakeGoogle, headers: dict[str, str], body: bytes) -> None:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body
        )
        metadata_part, media_part = list(message.iter_parts())
        metadata = json.loads(metadata_part.get_payload(decode=True))
        file_id = fake.add_file(
            metadata["name"],
            media_part.get_payload(decode=True) or b"",
            mime_type=media_part.get_content_type(),
            parent=(metadata.get("parents") or ["root"])[0],
        )
        self._json(200, self._metadata(fake.files[file_id]))

    def _gmail(self, fake: FakeGoogle, token: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        user, _, rest = rest.partition("/")
        subject = fake.subjects.get(token)
        if subject is None:
            self._error(400, "Precondition check failed.", "FAILED_PRECONDITION")
            return
        if unquote(user) not in ("me", subject):
            self._error(403, f"Delegation denied for {subject}", "PERMISSION_DENIED")
            return
        parts = rest.split("/")
        if parts[0] != "messages":
            self._error(404, f"no route {rest}", "NOT_FOUND")
            return
        if len(parts) == 1 and self.command == "GET":
            self._gmail_list(fake, query)
            return
        if parts[1:] == ["send"] and self.command == "POST":
            self._gmail_send(fake, json.loads(body or b"{}"))
            return
        with fake.lock:
            entry = fake.mail.get(parts[1])
        if entry is None:
            self._error(404, "Requested entity was not found.", "NOT_FOUND")
            return
        action = parts[2:]
        if not action and self.command == "GET":
            form = (query.get("format") or ["full"])[0]
            self._json(200, _gmail_resource(fake, entry, form))
        elif not action and self.command == "DELETE":
            with fake.lock:
                del fake.mail[entry["id"]]
            self._send(204, b"")
        elif action == ["modify"] and self.command == "POST":
            self._gmail_modify(fake, entry, json.loads(body or b"{}"))
        elif action == ["trash"] and self.command == "POST":
            self._gmail_modify(fake, entry, {"addLabelIds": ["TRASH"], "removeLabelIds": ["INBOX"]})
        elif len(action) == 2 and action[0] == "attachments" and self.command == "GET":
            parsed = fake.parsed(entry["id"])
            found = [
                part.get_payload(decode=True)
                for part_id, part in _gmail_parts(parsed)
                if f"ANGjdJ-{entry['id']}-{part_id or 'body'}" == action[1] and part.get_filename()
            ]
            if not found:
                self._error(400, "Invalid attachment token", "INVALID_ARGUMENT")
                return
            data = found[0] if isinstance(found[0], bytes) else b""
            self._json(200, {"attachmentId": action[1], "size": len(data), "data": _b64url(data)})
        else:
            self._error(404, f"no route {rest}", "NOT_FOUND")

    def _gmail_list(self, fake: FakeGoogle, query: dict[str, list[str]]) -> None:
        wanted = set(query.get("labelIds") or [])
        hidden = set() if (query.get("includeSpamTrash") or ["false"])[0] == "true" else {"SPAM", "TRASH"}
        search = (query.get("q") or [""])[0]
        with fake.lock:
            entries = list(reversed(fake.mail.values()))
        matching = [
            entry
            for entry in entries
            if wanted <= set(entry["labelIds"])
            and not hidden & set(entry["labelIds"])
            and _gmail_matches(fake, entry, search)
        ]
        start = int((query.get("pageToken") or ["0"])[0])
        size = min(500, int((query.get("maxResults") or ["100"])[0]))
        answer: dict[str, Any] = {"resultSizeEstimate": len(matching)}
        page = matching[start : start + size]
        if page:
            answer["messages"] = [{"id": entry["id"], "threadId": entry["threadId"]} for entry in page]
        if start + size < len(matching):
            answer["nextPageToken"] = str(start + size)
        self._json(200, answer)

    def _gmail_send(self, fake: FakeGoogle, data: dict[str, Any]) -> None:
        raw = data.get("raw")
        if not raw:
            message = "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
            self._error(400, message, "INVALID_ARGUMENT")
            return
        try:
            content = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            self._error(400, "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed", "INVALID_ARGUMENT")
            return
        parsed = BytesParser(policy=default_policy).parsebytes(content)
        fields = [str(value) for name in ("to", "cc", "bcc") for value in parsed.get_all(name, [])]
        if not any(address for _, address in getaddresses(fields)):
            self._error(400, "Recipient address required", "INVALID_ARGUMENT")
            return
        thread_id = data.get("threadId")
        with fake.lock:
            known = any(entry["threadId"] == thread_id for entry in fake.mail.values())
        message_id = fake.add_message(content, labels=("SENT",), thread_id=thread_id if known else None)
        entry = fake.mail[message_id]
        self._json(200, {"id": message_id, "threadId": entry["threadId"], "labelIds": entry["labelIds"]})

    def _gmail_modify(self, fake: FakeGoogle, entry: dict[str, Any], data: dict[str, Any]) -> None:
        adding, removing = data.get("addLabelIds") or [], data.get("removeLabelIds") or []
        for label in [*adding, *removing]:
            if label not in SYSTEM_LABELS and label not in fake.labels:
                self._error(400, f"Invalid label: {label}", "INVALID_ARGUMENT")
                return
        with fake.lock:
            labels = [label for label in entry["labelIds"] if label not in removing]
            entry["labelIds"] = labels + [label for label in adding if label not in labels]
        self._json(200, {"id": entry["id"], "threadId": entry["threadId"], "labelIds": entry["labelIds"]})

    def _calendar(self, fake: FakeGoogle, token: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        parts = [unquote(part) for part in rest.split("/")]
        if len(parts) not in (2, 3) or parts[1] != "events":
            self._error(404, f"no route {rest}", "NOT_FOUND")
            return
        identity = fake.subjects.get(token) or fake.tokens[token][0]
        calendar_id = identity if parts[0] == "primary" else parts[0]
        with fake.lock:
            if parts[0] == "primary":
                fake.calendars.setdefault(identity, {})
            events = fake.calendars.get(calendar_id)
        if events is None:
            self._error(404, "Not Found", "NOT_FOUND")
            return
        data = json.loads(body) if body else {}
        if len(parts) == 2:
            if self.command == "POST":
                event = _new_event(fake, calendar_id, identity, data)
                problem = _event_problem(event)
                if problem:
                    self._error(400, problem, "INVALID_ARGUMENT")
                    return
                with fake.lock:
                    events[event["id"]] = event
                self._json(200, event)
            else:
                self._calendar_list(fake, calendar_id, events, query)
            return
        with fake.lock:
            event = events.get(parts[2])
        if event is None:
            self._error(404, "Not Found", "NOT_FOUND")
        elif self.command == "GET":
            self._json(200, event)
        elif self.command == "PATCH":
            changed = _merge_event(dict(event), data)
            problem = _event_problem(changed)
            if problem:
                self._error(400, problem, "INVALID_ARGUMENT")
                return
            changed.update(updated=_now(), sequence=event["sequence"] + 1, etag=f'"{secrets.token_hex(8)}"')
            with fake.lock:
                events[event["id"]] = changed
            self._json(200, changed)
        elif self.command == "DELETE":
            if event["status"] == "cancelled":
                self._error(410, "Resource has been deleted", "NOT_FOUND")
                return
            with fake.lock:
                event.update(status="cancelled", updated=_now())
            self._send(204, b"")
        else:
            self._error(404, f"no route {rest}", "NOT_FOUND")

    def _calendar_list(
        self, fake: FakeGoogle, calendar_id: str, events: dict[str, dict[str, Any]], query: dict[str, list[str]]
    ) -> None:
        def first(name: str, default: str = "") -> str:
            return (query.get(name) or [default])[0]

        if first("orderBy") == "startTime" and first("singleEvents") != "true":
            self._error(400, "The requested ordering is not available for the particular query.", "INVALID_ARGUMENT")
            return
        try:
            after = datetime.fromisoformat(first("timeMin")) if first("timeMin") else None
            before = datetime.fromisoformat(first("timeMax")) if first("timeMax") else None
        except ValueError:
            self._error(400, "Bad Request", "INVALID_ARGUMENT")
            return
        if any(bound is not None and bound.tzinfo is None for bound in (after, before)):
            self._error(400, "Bad Request", "INVALID_ARGUMENT")
            return
        words = first("q").lower().split()
        with fake.lock:
            chosen = [
                event
                for event in events.values()
                if (event["status"] != "cancelled" or first("showDeleted") == "true")
                and (after is None or _instant(event["end"]) > after)
                and (before is None or _instant(event["start"]) < before)
                and all(word in _event_text(event) for word in words)
            ]
        if first("orderBy") == "startTime":
            chosen.sort(key=lambda event: _instant(event["start"]))
        elif first("orderBy") == "updated":
            chosen.sort(key=lambda event: event["updated"])
        start = int(first("pageToken", "0"))
        size = min(2500, int(first("maxResults", "250")))
        answer: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": calendar_id,
            "timeZone": "UTC",
            "accessRole": "owner",
            "items": chosen[start : start + size],
        }
        if start + size < len(chosen):
            answer["nextPageToken"] = str(start + size)
        self._json(200, answer)

    def _tasks(self, fake: FakeGoogle, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        parts = [unquote(part) for part in rest.split("/")]
        if len(parts) not in (2, 3) or parts[1] != "tasks":
            self._error(404, f"no route {rest}", "NOT_FOUND")
            return
        list_id = DEFAULT_TASK_LIST if parts[0] == "@default" else parts[0]
        tasks = fake.task_lists.get(list_id)
        if tasks is None:
            self._error(404, "Task list not found.", "NOT_FOUND")
            return
        data = json.loads(body) if body else {}
        if data.get("status", "needsAction") not in ("needsAction", "completed"):
            self._error(400, f"Invalid value for: status: {data['status']!r}", "INVALID_ARGUMENT")
            return
        if len(parts) == 2 and self.command == "GET":
            self._tasks_list(tasks, query)
            return
        try:
            if len(parts) == 2 and self.command == "POST":
                parent = (query.get("parent") or [""])[0]
                if parent and parent not in tasks:
                    self._error(400, "Invalid Value", "INVALID_ARGUMENT")
                    return
                with fake.lock:
                    task = _new_task(fake, list_id, len(tasks), {**data, **({"parent": parent} if parent else {})})
                    tasks[task["id"]] = task
                self._json(200, task)
                return
            with fake.lock:
                task = tasks.get(parts[2])
                if task is None:
                    self._error(404, "Task not found.", "NOT_FOUND")
                elif self.command == "GET":
                    self._json(200, task)
                elif self.command == "PATCH":
                    self._json(200, _merge_task(task, data))
                elif self.command == "DELETE":
                    del tasks[task["id"]]
                    self._send(204, b"")
                else:
                    self._error(404, f"no route {rest}", "NOT_FOUND")
        except ValueError:
            self._error(400, f"Invalid value for: Invalid format: {data.get('due')!r}", "INVALID_ARGUMENT")

    def _tasks_list(self, tasks: dict[str, dict[str, Any]], query: dict[str, list[str]]) -> None:
        show_completed = (query.get("showCompleted") or ["true"])[0] == "true"
        chosen = [task for task in tasks.values() if show_completed or task["status"] != "completed"]
        start = int((query.get("pageToken") or ["0"])[0])
        size = min(100, int((query.get("maxResults") or ["20"])[0]))
        answer: dict[str, Any] = {"kind": "tasks#tasks", "etag": f'"{secrets.token_hex(8)}"'}
        if chosen[start : start + size]:
            answer["items"] = chosen[start : start + size]
        if start + size < len(chosen):
            answer["nextPageToken"] = str(start + size)
        self._json(200, answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def fake_google_server() -> Iterator[FakeGoogle]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeGoogle, name="fake-google") as fake:
        yield fake
