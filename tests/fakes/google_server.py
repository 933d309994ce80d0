"""A real HTTP server on 127.0.0.1 standing in for Google's OAuth token endpoint and its Workspace and Cloud APIs.

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
    Docs (``/v1/documents``): POST creates (``title``); GET ``.../<id>`` answers the document (a section break,
                     then a paragraph per line with UTF-16 indexes; page breaks as ``pageBreak`` elements);
                     ``POST .../<id>:batchUpdate`` applies ``insertText``, ``insertPageBreak`` (``location`` or
                     ``endOfSegmentLocation``), ``replaceAllText`` (``matchCase``) and ``deleteContentRange`` all or
                     none, refusing out-of-range indexes and unknown requests (400) as Docs words them.
    People (``/v1/people``): ``:createContact``, ``/<id>`` GET (``personFields`` required and checked),
                     ``/<id>:updateContact`` PATCH (``updatePersonFields`` required; the body's ``etag`` must be the
                     current one, else 400 FAILED_PRECONDITION), ``/<id>:deleteContact``, ``/me/connections``
                     (``pageSize`` 1-1000, ``pageToken``, ``sortOrder``) and ``:searchContacts`` (``readMask``,
                     ``pageSize`` up to 30; word-prefix matches on names, emails, phones and companies; an empty
                     query, the warm-up, answers nothing).
    BigQuery (``/bigquery/v2/projects/<project>/``): ``queries`` POST (jobs.query: GoogleSQL only with
                     parameters, every @name bound, parameter values checked by type; the results of a query
                     registered with :meth:`FakeGoogle.add_query`, else a syntax error), ``queries/<job id>`` GET
                     (jobs.getQueryResults: ``location``, ``maxResults``, ``pageToken``; unfinished for
                     :attr:`FakeGoogle.query_polls` polls), ``datasets/<d>/tables/<t>`` GET (tables.get,
                     ``selectedFields``), ``.../data`` GET (tabledata.list, paged) and ``.../insertAll`` POST
                     (rows checked against the schema, ``insertErrors`` with ``stopped`` for the rows held back
                     unless ``skipInvalidRows``, ``ignoreUnknownValues``, ``insertId`` deduplication). Rows are
                     ``{"f": [{"v": ...}]}`` with TIMESTAMPs as epoch seconds, or microseconds with
                     ``formatOptions.useInt64Timestamp``.
    Docs, People and BigQuery want their API's scope.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    "/v1/documents": "https://www.googleapis.com/auth/documents",
    "/v1/people": "https://www.googleapis.com/auth/contacts",
    "/bigquery/": "https://www.googleapis.com/auth/bigquery",
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
DOCS_REQUESTS = frozenset({"insertText", "insertPageBreak", "replaceAllText", "deleteContentRange"})
"""The batchUpdate requests the fake applies; any other is refused as Docs refuses an unknown one."""
PERSON_FIELDS = frozenset(
    {
        "addresses",
        "biographies",
        "birthdays",
        "calendarUrls",
        "clientData",
        "coverPhotos",
        "emailAddresses",
        "events",
        "externalIds",
        "genders",
        "imClients",
        "interests",
        "locales",
        "locations",
        "memberships",
        "metadata",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "photos",
        "relations",
        "sipAddresses",
        "skills",
        "urls",
        "userDefined",
    }
)
"""The person fields People knows (personFields, readMask and updatePersonFields paths)."""
Rows = list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]]
"""A registered query's rows, or a function of its bound parameters (by name) giving them."""


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
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


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
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Docs documents by id: ``title``, ``text`` (ending with a newline; ``\\f`` is a page break), ``revision``."""
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """People contacts by resource name (``people/c...``), oldest first."""
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    """BigQuery tables by ``project.dataset.table``: ``schema`` (fields), ``rows`` (dicts), ``insert_ids`` seen."""
    queries: dict[str, tuple[list[dict[str, Any]], Rows]] = field(default_factory=dict)
    """What BigQuery answers each query (whitespace collapsed): its schema fields and rows."""
    statements: dict[str, int] = field(default_factory=dict)
    """DML statements BigQuery runs (whitespace collapsed): how many rows each changes."""
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """BigQuery query jobs by id: their results and how many more polls they stay unfinished."""
    query_polls: int = 0
    """How many times a new query job answers ``jobComplete: false`` before its results."""
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

    def add_document(self, title: str, text: str = "") -> str:
        """Put a Docs document with this body text into the fake; returns its id."""
        document_id = f"1doc{next(self._ids):06d}{secrets.token_hex(8)}"
        with self.lock:
            self.documents[document_id] = {"title": title, "text": text + "\n", "revision": 1}
        return document_id

    def add_contact(self, **person: Any) -> dict[str, Any]:
        """Put a contact (People person fields: ``names``, ``emailAddresses``...) into the fake."""
        with self.lock:
            created = _person(f"people/c{next(self._ids):019d}", person)
            self.contacts[created["resourceName"]] = created
        return created

    def add_table(self, table: str, schema: list[dict[str, Any]], rows: list[dict[str, Any]] | None = None) -> None:
        """A BigQuery table ``project.dataset.table`` with schema fields (``name``, ``type``, ``mode``, ``fields``)."""
        with self.lock:
            self.tables[table] = {"schema": schema, "rows": list(rows or []), "insert_ids": set()}

    def add_query(self, sql: str, schema: list[dict[str, Any]], rows: Rows) -> None:
        """What BigQuery answers ``sql``: the result's schema fields, and its rows or a function of the parameters."""
        with self.lock:
            self.queries[" ".join(sql.split())] = (schema, rows)

    def add_statement(self, sql: str, affected_rows: int) -> None:
        """A DML statement (INSERT, UPDATE, DELETE, MERGE) BigQuery runs, changing ``affected_rows`` rows."""
        with self.lock:
            self.statements[" ".join(sql.split())] = affected_rows

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


def _utf16(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, the unit of Docs indexes."""
    return len(text.encode("utf-16-le")) // 2


def _offset(text: str, units: int) -> int:
    """The position in ``text`` of a Docs index counted in UTF-16 code units from the text's start."""
    counted = 0
    for position, char in enumerate(text):
        if counted >= units:
            return position
        counted += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _document(document_id: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A Docs document resource of a stored text: a section break, then a paragraph per line (``\\f``: a page break)."""
    content: list[dict[str, Any]] = [
        {"endIndex": 1, "sectionBreak": {"sectionStyle": {"columnSeparatorStyle": "NONE", "sectionType": "CONTINUOUS"}}}
    ]
    index = 1
    for line in entry["text"].splitlines(keepends=True):
        elements = []
        start = index
        for piece in re.split(r"(\f)", line):
            if not piece:
                continue
            end = index + _utf16(piece)
            kind = (
                {"pageBreak": {"textStyle": {}}} if piece == "\f" else {"textRun": {"content": piece, "textStyle": {}}}
            )
            elements.append({"startIndex": index, "endIndex": end, **kind})
            index = end
        paragraph = {
            "elements": elements,
            "paragraphStyle": {"namedStyleType": "NORMAL_TEXT", "direction": "LEFT_TO_RIGHT"},
        }
        content.append({"startIndex": start, "endIndex": index, "paragraph": paragraph})
    return {
        "documentId": document_id,
        "title": entry["title"],
        "body": {"content": content},
        "revisionId": f"rev-{entry['revision']}",
        "suggestionsViewMode": "SUGGESTIONS_INLINE",
    }


class DocsRequestError(ValueError):
    """A batchUpdate request Docs refuses; its message is Google's."""


def _docs_location(request: dict[str, Any], text: str, where: str) -> int:
    """The Python position in ``text`` a request's ``location`` or ``endOfSegmentLocation`` points at."""
    end = 1 + _utf16(text)
    if ("location" in request) == ("endOfSegmentLocation" in request):
        raise DocsRequestError(f"Invalid {where}: exactly one of location or endOfSegmentLocation must be set.")
    if "endOfSegmentLocation" in request:
        return len(text) - 1
    index = int(request["location"].get("index", 0))
    if index < 1:
        raise DocsRequestError(f"Invalid {where}: Index {index} must be greater than or equal to 1.")
    if index >= end:
        raise DocsRequestError(
            f"Invalid {where}: Index {index} must be less than the end index of the referenced segment, {end}."
        )
    return _offset(text, index - 1)


def _docs_apply(text: str, requests: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """``text`` after a batchUpdate's requests, and their replies; all or nothing.

    Raises:
        DocsRequestError: A request Docs refuses, with its message.
    """
    replies: list[dict[str, Any]] = []
    for number, entry in enumerate(requests):
        kinds = list(entry) if isinstance(entry, dict) else []
        if len(kinds) != 1 or kinds[0] not in DOCS_REQUESTS:
            name = kinds[0] if kinds else ""
            raise DocsRequestError(
                f"Invalid JSON payload received. Unknown name \"{name}\" at 'requests[{number}]': Cannot find field."
            )
        kind = kinds[0]
        request = entry[kind]
        where = f"requests[{number}].{kind}"
        if kind == "insertText":
            position = _docs_location(request, text, where)
            text = text[:position] + str(request.get("text", "")) + text[position:]
            replies.append({})
        elif kind == "insertPageBreak":
            position = _docs_location(request, text, where)
            text = text[:position] + "\f\n" + text[position:]
            replies.append({})
        elif kind == "replaceAllText":
            contains = request.get("containsText") or {}
            needle = str(contains.get("text", ""))
            if not needle:
                raise DocsRequestError(f"Invalid {where}: containsText.text must not be empty.")
            flags = 0 if contains.get("matchCase") else re.IGNORECASE
            replacement = str(request.get("replaceText", ""))
            body, count = re.subn(re.escape(needle), lambda _, new=replacement: new, text[:-1], flags=flags)
            text = body + "\n"
            replies.append({"replaceAllText": {"occurrencesChanged": count} if count else {}})
        else:
            span = request.get("range") or {}
            start, end = int(span.get("startIndex", 0)), int(span.get("endIndex", 0))
            if start < 1 or end <= start:
                raise DocsRequestError(f"Invalid {where}: The range should not be empty.")
            if end > _utf16(text):
                raise DocsRequestError(
                    f"Invalid {where}: The range cannot include the newline character at the end of the segment."
                )
            text = text[: _offset(text, start - 1)] + text[_offset(text, end - 1) :]
            replies.append({})
    return text, replies


def _display_names(names: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Names as People returns them: with the display forms it derives from the parts."""
    shown = []
    for name in names:
        given, family = name.get("givenName", ""), name.get("familyName", "")
        display = " ".join(part for part in (given, family) if part)
        shown.append(
            {
                **name,
                "displayName": display,
                "displayNameLastFirst": ", ".join(part for part in (family, given) if part),
                "unstructuredName": display,
            }
        )
    return shown


def _person(resource: str, data: dict[str, Any]) -> dict[str, Any]:
    """A stored contact from a createContact or updateContact body: every entry gets its metadata."""
    person: dict[str, Any] = {
        "resourceName": resource,
        "etag": f"%{secrets.token_urlsafe(12)}",
        "metadata": {
            "sources": [{"type": "CONTACT", "id": resource.removeprefix("people/c"), "updateTime": _now()}],
            "objectType": "PERSON",
        },
    }
    for key, entries in data.items():
        if key in PERSON_FIELDS and isinstance(entries, list) and entries:
            if key == "names":
                entries = _display_names(entries)
            person[key] = [
                {**entry, "metadata": {"primary": position == 0, "source": {"type": "CONTACT"}}}
                for position, entry in enumerate(entries)
            ]
    return person


def _masked(person: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {key: value for key, value in person.items() if key in ("resourceName", "etag") or key in fields}


def _person_words(person: dict[str, Any]) -> list[str]:
    """What searchContacts matches the start of: names, email addresses, phone numbers and companies."""
    texts = [name.get("displayName", "") for name in person.get("names", [])]
    texts += [entry.get("value", "") for key in ("emailAddresses", "phoneNumbers") for entry in person.get(key, [])]
    texts += [organization.get("name", "") for organization in person.get("organizations", [])]
    return [word.lower() for text in texts for word in [*re.split(r"[\s@.]+", text), text] if word]


def _bq_cell(column: dict[str, Any], value: Any, int64_timestamps: bool) -> Any:
    """A stored value as BigQuery's REST rows carry it: text, ``{"f": [...]}`` records, ``[{"v": ...}]`` arrays."""
    if value is None:
        return None
    if column.get("mode") == "REPEATED":
        single = {**column, "mode": "NULLABLE"}
        return [{"v": _bq_cell(single, entry, int64_timestamps)} for entry in value]
    kind = column["type"]
    if kind in ("RECORD", "STRUCT"):
        return {"f": [{"v": _bq_cell(sub, value.get(sub["name"]), int64_timestamps)} for sub in column["fields"]]}
    if kind in ("BOOLEAN", "BOOL"):
        return "true" if value else "false"
    if kind == "TIMESTAMP":
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        return str(micros) if int64_timestamps else str(micros / 1_000_000)
    if kind == "JSON":
        return json.dumps(value)
    return str(value)


def _bq_rows(schema: list[dict[str, Any]], rows: list[dict[str, Any]], int64_timestamps: bool) -> list[dict[str, Any]]:
    return [
        {"f": [{"v": _bq_cell(column, row.get(column["name"]), int64_timestamps)} for column in schema]} for row in rows
    ]


def _bq_row_errors(schema: list[dict[str, Any]], data: dict[str, Any], ignore_unknown: bool) -> list[dict[str, Any]]:
    """What insertAll refuses about one row, in BigQuery's words."""
    columns = {column["name"]: column for column in schema}
    errors = []
    for name, value in data.items():
        column = columns.get(name)
        if column is None:
            if not ignore_unknown:
                errors.append(
                    {"reason": "invalid", "location": name, "debugInfo": "", "message": f"no such field: {name}."}
                )
            continue
        kind = column["type"]
        wrong = (
            (kind in ("INTEGER", "INT64") and not re.fullmatch(r"-?\d+", str(value)))
            or (kind in ("FLOAT", "FLOAT64") and not re.fullmatch(r"-?\d+(\.\d*)?([eE][-+]?\d+)?", str(value)))
            or (kind in ("BOOLEAN", "BOOL") and str(value).lower() not in ("true", "false"))
        )
        if value is not None and column.get("mode") != "REPEATED" and wrong:
            label = {"INTEGER": "integer", "INT64": "integer", "FLOAT": "double", "FLOAT64": "double"}.get(
                kind, "boolean"
            )
            message = f"Cannot convert value to {label} (bad value): {value}"
            errors.append({"reason": "invalid", "location": name, "debugInfo": "", "message": message})
    for name, column in columns.items():
        if column.get("mode") == "REQUIRED" and data.get(name) is None:
            errors.append(
                {"reason": "invalid", "location": name, "debugInfo": "", "message": f"Missing required field: {name}."}
            )
    return errors


def _bq_typed(column: dict[str, Any], value: Any) -> Any:
    """A streamed JSON value as the table stores it (numbers from their text, as BigQuery coerces them)."""
    if value is None or column.get("mode") == "REPEATED":
        return value
    kind = column["type"]
    if kind in ("INTEGER", "INT64"):
        return int(value)
    if kind in ("FLOAT", "FLOAT64"):
        return float(value)
    if kind in ("BOOLEAN", "BOOL"):
        return str(value).lower() == "true"
    return value


def _bq_parameter(entry: dict[str, Any]) -> Any:
    """A bound query parameter's value as Python, read by its type.

    Raises:
        ValueError: The value is not of its type, with BigQuery's message.
    """
    kind = (entry.get("parameterType") or {}).get("type")
    value = entry.get("parameterValue") or {}
    if kind == "ARRAY":
        element = {"parameterType": entry["parameterType"].get("arrayType") or {}}
        return [_bq_parameter({**element, "parameterValue": item}) for item in value.get("arrayValues") or []]
    text = value.get("value")
    if text is None:
        return None
    try:
        if kind == "INT64":
            return int(text)
        if kind == "FLOAT64":
            return float(text)
    except ValueError as err:
        raise ValueError(f"Invalid {kind.lower()} value: {text}") from err
    if kind == "BOOL":
        if text not in ("true", "false"):
            raise ValueError(f"Invalid bool value: {text}")
        return text == "true"
    return text


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
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
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
        elif parts.path.startswith("/v1/documents"):
            self._docs(fake, parts.path.removeprefix("/v1/documents"), body)
        elif parts.path.startswith("/v1/people"):
            self._people(fake, parts.path.removeprefix("/v1/"), query, body)
        elif parts.path.startswith("/bigquery/v2/projects/"):
            self._bigquery(fake, parts.path.removeprefix("/bigquery/v2/projects/"), query, body)
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

    def _docs(self, fake: FakeGoogle, rest: str, body: bytes) -> None:
        data = json.loads(body) if body else {}
        if rest == "" and self.command == "POST":
            document_id = fake.add_document(str(data.get("title") or "Untitled document"))
            self._json(200, _document(document_id, fake.documents[document_id]))
            return
        document_id, _, verb = unquote(rest).lstrip("/").partition(":")
        with fake.lock:
            entry = fake.documents.get(document_id)
        if entry is None:
            self._error(404, "Requested entity was not found.", "NOT_FOUND")
        elif not verb and self.command == "GET":
            self._json(200, _document(document_id, entry))
        elif verb == "batchUpdate" and self.command == "POST":
            requests = data.get("requests")
            if not isinstance(requests, list) or not requests:
                self._error(400, "Invalid requests: must contain at least one request.", "INVALID_ARGUMENT")
                return
            try:
                text, replies = _docs_apply(entry["text"], requests)
            except DocsRequestError as err:
                self._error(400, str(err), "INVALID_ARGUMENT")
                return
            with fake.lock:
                entry.update(text=text, revision=entry["revision"] + 1)
            revision = f"rev-{entry['revision']}"
            self._json(
                200, {"documentId": document_id, "replies": replies, "writeControl": {"requiredRevisionId": revision}}
            )
        else:
            self._error(404, f"no route {rest}", "NOT_FOUND")

    def _people(self, fake: FakeGoogle, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        def first(name: str) -> str:
            return (query.get(name) or [""])[0]

        resource, _, verb = unquote(rest).partition(":")
        data = json.loads(body) if body else {}
        mask_name = "readMask" if verb == "searchContacts" else "personFields"
        mask = [name for name in first(mask_name).split(",") if name]
        unknown = [name for name in mask if name not in PERSON_FIELDS]
        if unknown:
            self._error(
                400,
                f'Invalid {mask_name} mask path: "{unknown[0]}". Valid paths are documented at '
                "https://developers.google.com/people/api/rest/v1/people/get.",
                "INVALID_ARGUMENT",
            )
            return
        needs_mask = (
            (resource == "people/me/connections") or verb == "searchContacts" or (not verb and self.command == "GET")
        )
        if needs_mask and not mask:
            self._error(
                400,
                f"{mask_name} mask is required. Please specify one or more valid paths. Valid paths are documented "
                "at https://developers.google.com/people/api/rest/v1/people/get.",
                "INVALID_ARGUMENT",
            )
            return
        if resource == "people" and verb == "createContact" and self.command == "POST":
            with fake.lock:
                person = _person(f"people/c{next(fake._ids):019d}", data)
                fake.contacts[person["resourceName"]] = person
            self._json(200, _masked(person, mask or sorted(PERSON_FIELDS)))
        elif resource == "people" and verb == "searchContacts" and self.command == "GET":
            self._people_search(fake, first("query"), int(first("pageSize") or "10"), mask)
        elif resource == "people/me/connections" and self.command == "GET":
            self._people_list(fake, query, mask)
        elif resource.startswith("people/c"):
            self._person(fake, resource, verb, query, data, mask)
        else:
            self._error(404, f"no route {rest}", "NOT_FOUND")

    def _person(
        self,
        fake: FakeGoogle,
        resource: str,
        verb: str,
        query: dict[str, list[str]],
        data: dict[str, Any],
        mask: list[str],
    ) -> None:
        with fake.lock:
            person = fake.contacts.get(resource)
        if person is None:
            self._error(404, "Requested entity was not found.", "NOT_FOUND")
        elif not verb and self.command == "GET":
            self._json(200, _masked(person, mask))
        elif verb == "deleteContact" and self.command == "DELETE":
            with fake.lock:
                del fake.contacts[resource]
            self._json(200, {})
        elif verb == "updateContact" and self.command == "PATCH":
            updating = [name for name in (query.get("updatePersonFields") or [""])[0].split(",") if name]
            if not updating:
                message = "updatePersonFields mask is required. Please specify one or more valid paths."
                self._error(400, message, "INVALID_ARGUMENT")
                return
            if data.get("etag") != person["etag"]:
                message = (
                    "Request person.etag is different than the current person.etag. Clear local cache and get the "
                    "latest person."
                )
                self._error(400, message, "FAILED_PRECONDITION")
                return
            kept = {key: value for key, value in person.items() if key in PERSON_FIELDS and key not in updating}
            changed = _person(resource, {**kept, **{key: data.get(key) for key in updating}})
            with fake.lock:
                fake.contacts[resource] = changed
            self._json(200, _masked(changed, mask or sorted(PERSON_FIELDS)))
        else:
            self._error(404, f"no route {resource}:{verb}", "NOT_FOUND")

    def _people_search(self, fake: FakeGoogle, words: str, size: int, mask: list[str]) -> None:
        if size > 30:
            self._error(400, "Page size must be less than or equal to 30.", "INVALID_ARGUMENT")
            return
        terms = words.lower().split()
        if not terms:
            self._json(200, {})
            return
        with fake.lock:
            matching = [
                person
                for person in fake.contacts.values()
                if all(any(word.startswith(term) for word in _person_words(person)) for term in terms)
            ]
        results = [{"person": _masked(person, mask)} for person in matching[:size]]
        self._json(200, {"results": results} if results else {})

    def _people_list(self, fake: FakeGoogle, query: dict[str, list[str]], mask: list[str]) -> None:
        size = int((query.get("pageSize") or ["100"])[0])
        if not 1 <= size <= 1000:
            self._error(400, "Page size must be between 1 and 1000.", "INVALID_ARGUMENT")
            return
        order = (query.get("sortOrder") or ["LAST_MODIFIED_ASCENDING"])[0]
        with fake.lock:
            people = list(fake.contacts.values())
        if order == "LAST_MODIFIED_DESCENDING":
            people.reverse()
        elif order in ("FIRST_NAME_ASCENDING", "LAST_NAME_ASCENDING"):
            part = "givenName" if order == "FIRST_NAME_ASCENDING" else "familyName"
            people.sort(key=lambda person: (person.get("names") or [{}])[0].get(part, "").lower())
        start = int((query.get("pageToken") or ["0"])[0])
        answer: dict[str, Any] = {"totalPeople": len(people), "totalItems": len(people)}
        if people[start : start + size]:
            answer["connections"] = [_masked(person, mask) for person in people[start : start + size]]
        if start + size < len(people):
            answer["nextPageToken"] = str(start + size)
        self._json(200, answer)

    def _bigquery(self, fake: FakeGoogle, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        parts = [unquote(part) for part in rest.split("/")]
        data = json.loads(body) if body else {}
        int64_timestamps = (query.get("formatOptions.useInt64Timestamp") or ["false"])[0] == "true"
        if len(parts) == 2 and parts[1] == "queries" and self.command == "POST":
            self._bq_query(fake, parts[0], data)
        elif len(parts) == 3 and parts[1] == "queries" and self.command == "GET":
            self._bq_results(fake, parts[0], parts[2], query, int64_timestamps)
        elif len(parts) >= 5 and parts[1] == "datasets" and parts[3] == "tables":
            table_id = ".".join((parts[0], parts[2], parts[4]))
            with fake.lock:
                table = fake.tables.get(table_id)
            if table is None:
                self._error(404, f"Not found: Table {parts[0]}:{parts[2]}.{parts[4]}", "NOT_FOUND", "notFound")
                return
            selected = [name for name in (query.get("selectedFields") or [""])[0].split(",") if name]
            schema = [column for column in table["schema"] if not selected or column["name"] in selected]
            if parts[5:] == [] and self.command == "GET":
                self._json(
                    200,
                    {
                        "kind": "bigquery#table",
                        "id": f"{parts[0]}:{parts[2]}.{parts[4]}",
                        "tableReference": {"projectId": parts[0], "datasetId": parts[2], "tableId": parts[4]},
                        "schema": {"fields": schema},
                        "numRows": str(len(table["rows"])),
                        "type": "TABLE",
                        "location": "US",
                    },
                )
            elif parts[5:] == ["data"] and self.command == "GET":
                start = int((query.get("pageToken") or ["0"])[0])
                size = int((query.get("maxResults") or ["100000"])[0])
                answer: dict[str, Any] = {
                    "kind": "bigquery#tableDataList",
                    "etag": f"{secrets.token_hex(8)}==",
                    "totalRows": str(len(table["rows"])),
                }
                page = table["rows"][start : start + size]
                if page:
                    answer["rows"] = _bq_rows(schema, page, int64_timestamps)
                if start + size < len(table["rows"]):
                    answer["pageToken"] = str(start + size)
                self._json(200, answer)
            elif parts[5:] == ["insertAll"] and self.command == "POST":
                self._bq_insert(fake, table, data)
            else:
                self._error(404, f"no route {rest}", "NOT_FOUND")
        else:
            self._error(404, f"no route {rest}", "NOT_FOUND")

    def _bq_query(self, fake: FakeGoogle, project: str, data: dict[str, Any]) -> None:
        sql = str(data.get("query") or "")
        bound = {entry.get("name"): entry for entry in data.get("queryParameters") or []}
        if data.get("useLegacySql", True) is not False and bound:
            self._error(400, "Query parameters cannot be used in Legacy SQL queries.", "INVALID_ARGUMENT", "invalid")
            return
        if bound and data.get("parameterMode") != "NAMED":
            message = "Query parameters must all be named or all be positional: set parameterMode."
            self._error(400, message, "INVALID_ARGUMENT", "invalid")
            return
        for match in re.finditer(r"@(\w+)", sql):
            if match.group(1) not in bound:
                line = sql.count("\n", 0, match.start()) + 1
                column = match.start() - (sql.rfind("\n", 0, match.start()) + 1) + 1
                message = f"Query parameter '{match.group(1)}' not found at [{line}:{column}]"
                self._error(400, message, "INVALID_ARGUMENT", "invalidQuery")
                return
        key = " ".join(sql.split())
        registered = fake.queries.get(key) or (([], []) if key in fake.statements else None)
        if registered is None:
            word = (sql.split() or [""])[0]
            self._error(
                400, f'Syntax error: Unexpected identifier "{word}" at [1:1]', "INVALID_ARGUMENT", "invalidQuery"
            )
            return
        try:
            values = {name: _bq_parameter(entry) for name, entry in bound.items()}
        except ValueError as err:
            self._error(400, str(err), "INVALID_ARGUMENT", "invalidQuery")
            return
        schema, rows = registered
        location = str(data.get("location") or "US")
        job_id = f"job_{secrets.token_hex(12)}"
        with fake.lock:
            fake.jobs[job_id] = {
                "projectId": project,
                "location": location,
                "schema": schema,
                "rows": rows(values) if callable(rows) else list(rows),
                "affected": fake.statements.get(key),
                "polls": fake.query_polls,
            }
        self._bq_page(
            fake,
            job_id,
            0,
            int(data.get("maxResults") or 100_000),
            bool((data.get("formatOptions") or {}).get("useInt64Timestamp")),
            "bigquery#queryResponse",
        )

    def _bq_results(
        self, fake: FakeGoogle, project: str, job_id: str, query: dict[str, list[str]], int64_timestamps: bool
    ) -> None:
        with fake.lock:
            job = fake.jobs.get(job_id)
        location = (query.get("location") or [None])[0]
        if job is None or job["projectId"] != project or (location and location != job["location"]):
            self._error(404, f"Not found: Job {project}:{location or 'US'}.{job_id}", "NOT_FOUND", "notFound")
            return
        start = int((query.get("pageToken") or ["0"])[0])
        size = int((query.get("maxResults") or ["100000"])[0])
        self._bq_page(fake, job_id, start, size, int64_timestamps, "bigquery#getQueryResultsResponse")

    def _bq_page(self, fake: FakeGoogle, job_id: str, start: int, size: int, int64_timestamps: bool, kind: str) -> None:
        job = fake.jobs[job_id]
        reference = {"projectId": job["projectId"], "jobId": job_id, "location": job["location"]}
        with fake.lock:
            pending = job["polls"] > 0
            job["polls"] -= 1
        if pending:
            self._json(200, {"kind": kind, "jobReference": reference, "jobComplete": False})
            return
        answer: dict[str, Any] = {
            "kind": kind,
            "etag": f"{secrets.token_hex(8)}==",
            "jobReference": reference,
            "jobComplete": True,
            "totalBytesProcessed": "1024",
            "cacheHit": False,
        }
        if job["affected"] is not None:
            # A DML statement's results have no schema or rows, only the count of rows it changed.
            self._json(200, {**answer, "numDmlAffectedRows": str(job["affected"])})
            return
        answer.update(schema={"fields": job["schema"]}, totalRows=str(len(job["rows"])))
        page = job["rows"][start : start + size]
        if page:
            answer["rows"] = _bq_rows(job["schema"], page, int64_timestamps)
        if start + size < len(job["rows"]):
            answer["pageToken"] = str(start + size)
        self._json(200, answer)

    def _bq_insert(self, fake: FakeGoogle, table: dict[str, Any], data: dict[str, Any]) -> None:
        rows = data.get("rows") or []
        if not rows:
            self._error(400, "No rows present in the request.", "INVALID_ARGUMENT", "invalid")
            return
        ignore_unknown = bool(data.get("ignoreUnknownValues"))
        problems = {
            number: errors
            for number, row in enumerate(rows)
            if (errors := _bq_row_errors(table["schema"], row.get("json") or {}, ignore_unknown))
        }
        skipping = bool(data.get("skipInvalidRows"))
        stopped = [{"reason": "stopped", "location": "", "debugInfo": "", "message": ""}]
        columns = {column["name"]: column for column in table["schema"]}
        with fake.lock:
            for number, row in enumerate(rows):
                if problems and (number in problems or not skipping):
                    continue
                insert_id = row.get("insertId")
                if insert_id and insert_id in table["insert_ids"]:
                    continue
                if insert_id:
                    table["insert_ids"].add(insert_id)
                json_row = row.get("json") or {}
                table["rows"].append({name: _bq_typed(column, json_row.get(name)) for name, column in columns.items()})
        answer: dict[str, Any] = {"kind": "bigquery#tableDataInsertAllResponse"}
        if problems:
            answer["insertErrors"] = [
                {"index": number, "errors": problems.get(number, stopped)}
                for number in range(len(rows))
                if number in problems or not skipping
            ]
        self._json(200, answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def fake_google_server() -> Iterator[FakeGoogle]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeGoogle, name="fake-google") as fake:
        yield fake
