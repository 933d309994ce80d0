"""A real HTTP server on 127.0.0.1 speaking the parts of Microsoft Entra ID and Graph the Microsoft nodes use.

Sign-in:
    ``POST /<tenant>/oauth2/v2.0/token``   the client credentials grant (form: ``client_id``, ``client_secret``,
                                           ``scope`` = ``https://graph.microsoft.com/.default``): a JWT-shaped token
                                           with the app's name and ``roles``, valid :attr:`FakeMicrosoft.expires_in`
                                           seconds; Entra's ``{"error", "error_description": "AADSTS…"}`` for an
                                           unknown tenant (400), client (400) or scope (400), or a wrong secret (401).
Graph, under ``/v1.0`` (``Authorization: Bearer`` with an issued or :meth:`FakeMicrosoft.sign_in` token, else 401
``InvalidAuthenticationToken``; ``/me`` only for a person's token; a 4 MiB body limit, 413):
    ``POST <user>/sendMail``                              202; recipients must be addresses (400
                                                          ``ErrorInvalidRecipients``).
    ``GET <user>/messages``, ``GET <user>/mailFolders/<folder>/messages``
                                                          ``$filter`` (``isRead eq``, ``subject eq``), ``$search``
                                                          (a quoted phrase), ``$select``, ``$top`` and ``$skip``.
    ``GET|PATCH|DELETE <user>/messages/<id>``, ``GET …/attachments``, ``POST …/move`` (201, a new id),
    ``POST …/reply`` and ``…/replyAll`` (202).
    ``<drive>`` = ``<user>/drive`` or ``/drives/<id>``; an item is ``<drive>/root``, ``<drive>/root:/<path>``,
    ``<drive>/items/<id>`` or ``<drive>/items/<id>:/<relative path>``, followed by ``:`` and a sub-resource:
    ``GET <item>``, ``GET …/children``, ``PUT …/content`` (simple upload, ``@microsoft.graph.conflictBehavior``),
    ``GET …/content`` (302 to ``/download/<token>``), ``POST …/children`` (a folder), ``PATCH <item>``
    (``parentReference.id``, ``name``), ``DELETE <item>``, ``POST …/createLink``, ``POST …/createUploadSession``
    (an ``uploadUrl`` under ``/upload/<session>``); uploads by path make missing parent folders.
    ``GET|POST <user>/todo/lists/<list>/tasks`` (``$filter`` on ``status`` and ``importance``),
    ``GET|PATCH|DELETE <user>/todo/lists/<list>/tasks/<id>``.
Upload sessions: ``PUT /upload/<session>`` with ``Content-Range: bytes a-b/total`` and no ``Authorization`` (401 if
sent), chunks in order (416 otherwise) and multiples of 320 KiB but the last (400); 202 with
``nextExpectedRanges``, then 201 (or 200 when it replaced a file) with the item; ``DELETE`` cancels.
Lists page with ``$top`` and ``$skip`` in an absolute ``@odata.nextLink``. Missing users, messages, items, lists
and tasks are 404 in Graph's ``{"error": {"code", "message", "innerError"}}`` shape; an app token without the
needed role is 403. :meth:`FakeMicrosoft.throttle` answers the next requests with 429 (or 503) and a
``Retry-After``; :meth:`FakeMicrosoft.revoke_tokens` makes every issued token fail with 401. Every request is
recorded (sign-in requests apart, in :attr:`FakeMicrosoft.token_requests`).
"""

from __future__ import annotations

import base64
import itertools
import json
import posixpath
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

CLIENT_ID = "5a1d0c3e-7b2f-4c6d-9e8a-0123456789ab"
CLIENT_SECRET = "Xq8~fakeSECRETvalue.0123456789abcdefGHIJ"
APP_NAME = "HITL Studio Automations"
ROLES = ("Files.ReadWrite.All", "Mail.ReadWrite", "Mail.Send", "Tasks.ReadWrite.All")
GLOBAL_SCOPE = "https://graph.microsoft.com/.default"
MAX_BODY_BYTES = 4 * 1024 * 1024
FRAGMENT_BYTES = 320 * 1024
CREATED = "2026-01-05T09:00:00Z"
WELL_KNOWN_FOLDERS = ("inbox", "drafts", "sentitems", "deleteditems", "junkemail", "archive", "outbox")
Predicate = Callable[[dict[str, Any]], bool]
ROLE_FOR = {
    "mail": ("Mail.ReadWrite", "Mail.Send"),
    "drive": ("Files.ReadWrite.All",),
    "todo": ("Tasks.ReadWrite.All",),
}


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; the body as JSON, a form, or bytes)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": CREATED, "request-id": str(uuid.uuid4()), "client-request-id": "none"},
            }
        }


@dataclass
class DriveItem:
    id: str
    name: str
    parent: str | None
    data: bytes | None = None
    """The file's bytes; ``None`` for a folder."""
    mime_type: str = "application/octet-stream"


@dataclass
class Drive:
    id: str
    owner: str
    items: dict[str, DriveItem] = field(default_factory=dict)

    @property
    def root(self) -> DriveItem:
        return next(item for item in self.items.values() if item.parent is None)

    def children(self, folder: DriveItem) -> list[DriveItem]:
        return sorted((i for i in self.items.values() if i.parent == folder.id), key=lambda i: i.name.lower())

    def child(self, folder: DriveItem, name: str) -> DriveItem | None:
        return next((i for i in self.children(folder) if i.name.lower() == name.lower()), None)

    def resolve(self, start: DriveItem, relative: str) -> DriveItem | None:
        current: DriveItem | None = start
        for part in (p for p in relative.split("/") if p):
            if current is None or current.data is not None:
                return None
            current = self.child(current, part)
        return current

    def path_of(self, item: DriveItem) -> str:
        parts = []
        current = item
        while current.parent is not None:
            parts.append(current.name)
            current = self.items[current.parent]
        return "/" + "/".join(reversed(parts))


@dataclass
class User:
    id: str
    upn: str
    display_name: str
    folders: dict[str, str] = field(default_factory=dict)
    """Well-known folder name → folder id."""
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    todo_lists: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """List id → task id → task."""
    drive_id: str = ""


@dataclass
class _Session:
    drive: Drive
    parent: DriveItem
    name: str
    conflict: str
    total: int | None = None
    received: bytearray = field(default_factory=bytearray)


@dataclass
class FakeMicrosoft:
    host: str
    port: int
    tenant: str = field(default_factory=lambda: str(uuid.uuid4()))
    """Unique per server, so a token cached for one test's server never reaches another's."""
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    roles: list[str] = field(default_factory=lambda: list(ROLES))
    expires_in: int = 3599
    tokens: dict[str, str] = field(default_factory=dict)
    """Valid access tokens → ``app`` or the user principal name of the person they belong to."""
    users: dict[str, User] = field(default_factory=dict)
    drives: dict[str, Drive] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    """Mail sent (``sendMail``) and replies, each with ``from`` and what Graph received."""
    requests: list[Received] = field(default_factory=list)
    token_requests: list[Received] = field(default_factory=list)
    cancelled_uploads: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _downloads: dict[str, tuple[str, str]] = field(default_factory=dict)
    _throttled: list[tuple[int, str]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    def credential(self, secret: str | None = None) -> dict[str, Any]:
        """The ``microsoft_graph`` credential's data that signs in here."""
        return {
            "tenant_id": self.tenant,
            "client_id": self.client_id,
            "client_secret": secret or self.client_secret,
            "graph_url": self.graph_url,
            "login_url": self.base_url,
        }

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    def add_user(self, upn: str, display_name: str = "") -> User:
        with self.lock:
            user = User(self.new_id("user-"), upn, display_name or upn.split("@")[0].title())
            user.folders = {name: self.new_id(f"AAMkFolder-{name}-") for name in WELL_KNOWN_FOLDERS}
            drive = Drive(self.new_id("b!drive-"), upn)
            root = DriveItem(self.new_id("01ROOT"), "root", None)
            drive.items[root.id] = root
            self.drives[drive.id] = drive
            user.drive_id = drive.id
            self.users[upn.lower()] = user
            return user

    def sign_in(self, token: str, upn: str) -> None:
        """Accept ``token`` as a person's delegated token (what an OAuth2 connection hands the nodes)."""
        with self.lock:
            self.tokens[token] = upn.lower()

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def throttle(self, count: int = 1, *, retry_after: str = "1", status: int = 429) -> None:
        """Answer the next ``count`` Graph requests with ``status`` and this ``Retry-After``."""
        with self.lock:
            self._throttled.extend([(status, retry_after)] * count)

    def add_message(self, user: User, subject: str, *, folder: str = "inbox", **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_message(user, {"subject": subject, **fields}, user.folders.get(folder, folder))

    def add_attachment(
        self, user: User, message: dict[str, Any], name: str, content: bytes, content_type: str, kind: str = "file"
    ) -> None:
        attachment: dict[str, Any] = {
            "@odata.type": f"#microsoft.graph.{kind}Attachment",
            "id": self.new_id("AAMkAttachment-"),
            "name": name,
            "contentType": content_type,
            "size": len(content),
            "isInline": False,
        }
        if kind == "file":
            attachment["contentBytes"] = base64.b64encode(content).decode()
        with self.lock:
            user.attachments.setdefault(message["id"], []).append(attachment)
            message["hasAttachments"] = True

    def add_file(self, drive_id: str, path: str, data: bytes, mime_type: str = "text/plain") -> DriveItem:
        with self.lock:
            drive = self.drives[drive_id]
            parent = self._folders(drive, posixpath.dirname(path.strip("/")))
            item = DriveItem(self.new_id("01FILE"), posixpath.basename(path), parent.id, data, mime_type)
            drive.items[item.id] = item
            return item

    def add_folder(self, drive_id: str, path: str) -> DriveItem:
        with self.lock:
            return self._folders(self.drives[drive_id], path.strip("/"))

    def item_at(self, drive_id: str, path: str) -> DriveItem | None:
        with self.lock:
            drive = self.drives[drive_id]
            return drive.resolve(drive.root, path)

    def add_todo_list(self, user: User) -> str:
        with self.lock:
            list_id = self.new_id("AAMkList-")
            user.todo_lists[list_id] = {}
            return list_id

    def add_task(self, user: User, list_id: str, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_task(user.todo_lists[list_id], {"title": title, **fields})

    def received(self, method: str | None = None, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_part in r.path]

    def _folders(self, drive: Drive, path: str, start: DriveItem | None = None) -> DriveItem:
        """The folder at ``path`` below ``start`` (the root), made with its parents if missing."""
        current = start or drive.root
        for part in (p for p in path.split("/") if p):
            found = drive.child(current, part)
            if found is None:
                found = DriveItem(self.new_id("01FOLD"), part, current.id)
                drive.items[found.id] = found
            current = found
        return current

    def _new_message(self, user: User, fields: dict[str, Any], folder_id: str) -> dict[str, Any]:
        message_id = self.new_id("AAMkMessage-")
        number = len(user.messages) + 1
        body = fields.get("body", "")
        message = {
            "@odata.etag": f'W/"{message_id}"',
            "id": message_id,
            "createdDateTime": CREATED,
            "receivedDateTime": fields.get("receivedDateTime", f"2026-01-05T{number // 60:02d}:{number % 60:02d}:00Z"),
            "subject": fields["subject"],
            "bodyPreview": str(body)[:255] if isinstance(body, str) else "",
            "body": body if isinstance(body, dict) else {"contentType": "text", "content": body},
            "from": {"emailAddress": {"name": "Sender", "address": fields.get("sender", "sender@example.com")}},
            "toRecipients": [{"emailAddress": {"address": user.upn}}],
            "ccRecipients": [],
            "isRead": fields.get("isRead", False),
            "hasAttachments": False,
            "parentFolderId": folder_id,
            "conversationId": self.new_id("AAQkConversation-"),
            "webLink": f"https://outlook.office365.com/owa/?ItemID={message_id}",
        }
        user.messages[message_id] = message
        return message

    def _new_task(self, tasks: dict[str, dict[str, Any]], fields: dict[str, Any]) -> dict[str, Any]:
        task_id = self.new_id("AAMkTask-")
        task = {
            "@odata.etag": f'W/"{task_id}"',
            "id": task_id,
            "title": fields["title"],
            "status": fields.get("status", "notStarted"),
            "importance": fields.get("importance", "normal"),
            "isReminderOn": False,
            "createdDateTime": CREATED,
            "lastModifiedDateTime": CREATED,
            "body": fields.get("body", {"content": "", "contentType": "text"}),
        }
        if fields.get("dueDateTime"):
            task["dueDateTime"] = fields["dueDateTime"]
        if task["status"] == "completed":
            task["completedDateTime"] = {"dateTime": "2026-01-06T10:00:00.0000000", "timeZone": "UTC"}
        tasks[task_id] = task
        return task


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.ZmFrZS1zaWduYXR1cmU"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeMicrosoft]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(
        self, status: int, data: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        body = raw if raw is not None else (b"" if data is None else json.dumps(data).encode())
        self.send_response(status)
        content_type = "application/octet-stream" if raw is not None else "application/json; odata.metadata=minimal"
        self.send_header("Content-Type", content_type)
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
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        if path.endswith("/oauth2/v2.0/token"):
            form = dict(parse_qsl(raw.decode()))
            with fake.lock:
                fake.token_requests.append(Received(self.command, path, query, headers, form))
            self._reply(*_token(fake, path.split("/")[1], form))
            return
        body: Any = raw
        if raw and "json" in headers.get("content-type", ""):
            body = json.loads(raw)
        with fake.lock:
            fake.requests.append(Received(self.command, path, query, headers, body))
        try:
            if path.startswith("/download/"):
                answer = _download(fake, path.removeprefix("/download/"))
            elif path.startswith("/upload/"):
                answer = _upload(fake, self.command, path.removeprefix("/upload/"), headers, raw)
            elif path.startswith("/v1.0/"):
                answer = _graph(fake, self.command, path.removeprefix("/v1.0"), query, headers, body, raw)
            else:
                raise _Refusal(404, "BadRequest", f"Resource not found for the segment '{path}'.")
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body, refusal.headers)
            return
        self._reply(*answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


Answer = tuple[int, Any, dict[str, str] | None, bytes | None]


def _token(fake: FakeMicrosoft, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    def refuse(status: int, error: str, code: int, text: str) -> tuple[int, dict[str, Any]]:
        trace = "Trace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-01-05 09:00:00Z"
        return status, {
            "error": error,
            "error_description": f"AADSTS{code}: {text}\r\n{trace}",
            "error_codes": [code],
            "timestamp": "2026-01-05 09:00:00Z",
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        }

    if tenant != fake.tenant:
        return refuse(
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have "
            "the correct tenant ID and are signing into the correct cloud.",
        )
    if form.get("grant_type") != "client_credentials":
        return refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
    if form.get("client_id") != fake.client_id:
        return refuse(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{form.get('client_id')}' was not found in the directory '{tenant}'.",
        )
    if form.get("client_secret") != fake.client_secret:
        return refuse(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent "
            "in the request is the client secret value, not the client secret ID, for a secret added to "
            f"app '{fake.client_id}'.",
        )
    if form.get("scope") != GLOBAL_SCOPE:
        return refuse(400, "invalid_scope", 1002012, f"The provided value for scope {form.get('scope')} is not valid.")
    with fake.lock:
        claims = {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant}/",
            "app_displayname": APP_NAME,
            "appid": fake.client_id,
            "roles": list(fake.roles),
            "tid": tenant,
            "uti": fake.new_id("uti-"),
        }
        token = _jwt(claims)
        fake.tokens[token] = "app"
    return 200, {
        "token_type": "Bearer",
        "expires_in": fake.expires_in,
        "ext_expires_in": fake.expires_in,
        "access_token": token,
    }


def _graph(
    fake: FakeMicrosoft, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any, raw: bytes
) -> Answer:
    with fake.lock:
        throttled = fake._throttled.pop(0) if fake._throttled else None
    if throttled:
        status, after = throttled
        code, text = (
            ("TooManyRequests", f"Please retry after {after} seconds.")
            if status == 429
            else ("serviceNotAvailable", "Service Unavailable")
        )
        raise _Refusal(status, code, text, {"Retry-After": after})
    token = headers.get("authorization", "").removeprefix("Bearer ").strip()
    with fake.lock:
        principal = fake.tokens.get(token) if token else None
    if principal is None:
        message = "Access token is empty." if not token else "Lifetime validation failed, the token is expired."
        raise _Refusal(401, "InvalidAuthenticationToken", message)
    if len(raw) > MAX_BODY_BYTES:
        raise _Refusal(413, "RequestEntityTooLarge", "The request is larger than the 4 MB limit.")
    with fake.lock:
        return _route(fake, principal, method, path, query, body, raw, headers)


def _route(
    fake: FakeMicrosoft,
    principal: str,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    raw: bytes,
    headers: dict[str, str],
) -> Answer:
    drives = re.match(r"^/drives/([^/:]+)(.*)$", path)
    if drives:
        drive = fake.drives.get(drives.group(1))
        if drive is None:
            raise _Refusal(404, "itemNotFound", "The provided drive id appears to be malformed, or does not exist.")
        _check_role(fake, principal, "drive")
        return _drive(fake, drive, method, drives.group(2), query, body, raw, headers)
    if path == "/me" or path.startswith("/me/"):
        if principal == "app":
            raise _Refusal(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
        user, rest = fake.users[principal], path.removeprefix("/me")
    else:
        found = re.match(r"^/users/([^/]+)(.*)$", path)
        if not found:
            raise _Refusal(400, "BadRequest", f"Resource not found for the segment '{path.split('/')[1]}'.")
        wanted = found.group(1).lower()
        user = fake.users.get(wanted) or next((u for u in fake.users.values() if u.id == wanted), None)
        if user is None:
            raise _Refusal(404, "ErrorInvalidUser", f"The requested user '{found.group(1)}' is invalid.")
        rest = found.group(2)
    if rest == "/drive" or rest.startswith("/drive/") or rest.startswith("/drive:"):
        _check_role(fake, principal, "drive")
        return _drive(fake, fake.drives[user.drive_id], method, rest.removeprefix("/drive"), query, body, raw, headers)
    if rest.startswith("/todo/"):
        _check_role(fake, principal, "todo")
        return _todo(fake, user, method, rest.removeprefix("/todo"), query, body)
    _check_role(fake, principal, "mail")
    return _mail(fake, user, method, rest, query, body)


def _check_role(fake: FakeMicrosoft, principal: str, area: str) -> None:
    if principal == "app" and not any(role in fake.roles for role in ROLE_FOR[area]):
        code = {"mail": "ErrorAccessDenied", "drive": "accessDenied", "todo": "Forbidden"}[area]
        raise _Refusal(403, code, "Access is denied. Check credentials and try again.")


def _page(fake: FakeMicrosoft, path: str, entries: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    try:
        top = int(query.get("$top", 10))
        skip = int(query.get("$skip", 0))
    except ValueError as err:
        raise _Refusal(400, "BadRequest", "Invalid value for $top or $skip.") from err
    if top < 1 or top > 1000:
        raise _Refusal(400, "BadRequest", f"Invalid value '{top}' for $top query option.")
    page: dict[str, Any] = {"value": entries[skip : skip + top]}
    if skip + top < len(entries):
        following = urlencode({**query, "$skip": skip + top})
        page["@odata.nextLink"] = f"{fake.graph_url}{path}?{following}"
    return page


def _selected(entry: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    wanted = [name.strip() for name in query.get("$select", "").split(",") if name.strip()]
    if not wanted:
        return entry
    return {key: value for key, value in entry.items() if key in (*wanted, "id", "@odata.etag")}


def _mail_filter(query: dict[str, str]) -> Predicate:
    text = query.get("$filter", "").strip()
    if not text:
        return lambda message: True
    read = re.fullmatch(r"isRead eq (true|false)", text)
    if read:
        return lambda message: message["isRead"] == (read.group(1) == "true")
    subject = re.fullmatch(r"subject eq '(.*)'", text)
    if subject:
        return lambda message: message["subject"] == subject.group(1).replace("''", "'")
    raise _Refusal(400, "BadRequest", f"Invalid filter clause: {text}")


def _mail_search(query: dict[str, str]) -> Predicate:
    text = query.get("$search")
    if text is None:
        return lambda message: True
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise _Refusal(400, "BadRequest", "Syntax error: the $search value must be a quoted phrase.")
    words = text[1:-1].lower()
    return lambda message: words in message["subject"].lower() or words in message["body"]["content"].lower()


def _folder_id(user: User, name: str) -> str:
    if name.lower() in user.folders:
        return user.folders[name.lower()]
    if name in user.folders.values():
        return name
    raise _Refusal(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _message(user: User, message_id: str) -> dict[str, Any]:
    if message_id not in user.messages:
        raise _Refusal(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return user.messages[message_id]


def _recipients(message: dict[str, Any]) -> list[str]:
    addresses = []
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        for recipient in message.get(key) or []:
            address = str(((recipient or {}).get("emailAddress") or {}).get("address") or "")
            if "@" not in address:
                raise _Refusal(
                    400,
                    "ErrorInvalidRecipients",
                    f"At least one recipient is not valid., Recipient '{address}' is not resolved. All recipients "
                    "must be resolved before a message can be submitted.",
                )
            addresses.append(address)
    return addresses


def _mail(fake: FakeMicrosoft, user: User, method: str, rest: str, query: dict[str, str], body: Any) -> Answer:
    body = body if isinstance(body, dict) else {}
    if rest == "/sendMail" and method == "POST":
        message = body.get("message")
        if not isinstance(message, dict):
            raise _Refusal(400, "ErrorInvalidRequest", "The message to send is missing.")
        if not _recipients(message):
            raise _Refusal(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        for attachment in message.get("attachments") or []:
            try:
                base64.b64decode(attachment.get("contentBytes") or "", validate=True)
            except ValueError as err:
                raise _Refusal(400, "ErrorInvalidRequest", "An attachment's contentBytes is not base64.") from err
        fake.sent.append({"from": user.upn, **message})
        if body.get("saveToSentItems", True):
            content = message.get("body") or {}
            fake._new_message(
                user,
                {"subject": message.get("subject") or "", "body": content, "isRead": True},
                user.folders["sentitems"],
            )
        return 202, None, None, None
    listing = re.fullmatch(r"/mailFolders/([^/]+)/messages", rest)
    if method == "GET" and (rest == "/messages" or listing):
        if "$search" in query and "$filter" in query:
            raise _Refusal(
                400, "ErrorInvalidUrlQuery", "The query parameter '$filter' is not supported with '$search'."
            )
        folder = _folder_id(user, listing.group(1)) if listing else None
        keep, found = _mail_filter(query), _mail_search(query)
        chosen = [
            m
            for m in user.messages.values()
            if (folder is None or m["parentFolderId"] == folder) and keep(m) and found(m)
        ]
        chosen.sort(key=lambda m: m["receivedDateTime"], reverse=True)
        page = _page(fake, f"/users/{user.upn}{rest}", [_selected(m, query) for m in chosen], query)
        return 200, page, None, None
    found_id = re.fullmatch(r"/messages/([^/]+)(/.*)?", rest)
    if not found_id:
        raise _Refusal(400, "BadRequest", f"Resource not found for the segment '{rest}'.")
    message = _message(user, found_id.group(1))
    action = found_id.group(2) or ""
    if action == "" and method == "GET":
        return 200, _selected(message, query), None, None
    if action == "" and method == "PATCH":
        for key in ("isRead", "subject", "categories", "importance"):
            if key in body:
                message[key] = body[key]
        return 200, message, None, None
    if action == "" and method == "DELETE":
        del user.messages[message["id"]]
        return 204, None, None, None
    if action == "/attachments" and method == "GET":
        return 200, _page(fake, f"/users/{user.upn}{rest}", user.attachments.get(message["id"], []), query), None, None
    if action == "/move" and method == "POST":
        destination = _folder_id(user, str(body.get("destinationId") or ""))
        del user.messages[message["id"]]
        moved = {**message, "id": fake.new_id("AAMkMessage-"), "parentFolderId": destination}
        user.messages[moved["id"]] = moved
        return 201, moved, None, None
    if action in ("/reply", "/replyAll") and method == "POST":
        fake.sent.append(
            {
                "from": user.upn,
                "in_reply_to": message["id"],
                "all": action == "/replyAll",
                "comment": body.get("comment"),
            }
        )
        return 202, None, None, None
    raise _Refusal(405, "ErrorInvalidRequest", "The OData request is not supported.")


def _item_json(fake: FakeMicrosoft, drive: Drive, item: DriveItem) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": item.id,
        "name": item.name,
        "createdDateTime": CREATED,
        "lastModifiedDateTime": CREATED,
        "webUrl": f"https://contoso-my.sharepoint.com/personal{drive.path_of(item)}",
        "size": len(item.data) if item.data is not None else sum(len(c.data or b"") for c in drive.children(item)),
    }
    if item.parent is not None:
        parent = drive.items[item.parent]
        parent_path = drive.path_of(parent)
        entry["parentReference"] = {
            "driveId": drive.id,
            "driveType": "business",
            "id": parent.id,
            "path": "/drive/root:" + ("" if parent_path == "/" else parent_path),
        }
    else:
        entry["root"] = {}
    if item.data is None:
        entry["folder"] = {"childCount": len(drive.children(item))}
    else:
        entry["file"] = {"mimeType": item.mime_type}
    return entry


def _drive_target(drive: Drive, rest: str) -> tuple[DriveItem | None, DriveItem, str, str]:
    """(the item or ``None``, its nearest known start, the relative path still to resolve, the sub-resource)."""
    if rest.startswith("/root"):
        start, after = drive.root, rest.removeprefix("/root")
    else:
        by_id = re.match(r"^/items/([^/:]+)(.*)$", rest)
        if not by_id or by_id.group(1) not in drive.items:
            raise _Refusal(404, "itemNotFound", "The resource could not be found.")
        start, after = drive.items[by_id.group(1)], by_id.group(2)
    relative, sub = "", after
    if after.startswith(":/") or after.startswith(":"):
        inner = after[1:]
        relative, _, tail = inner.partition(":")
        sub = tail
    relative = relative.strip("/")
    return (drive.resolve(start, relative) if relative else start), start, relative, sub


def _conflict_name(drive: Drive, parent: DriveItem, name: str, behaviour: str) -> tuple[str, DriveItem | None]:
    """The name to create under, and the item it replaces; 409 for ``fail``."""
    existing = drive.child(parent, name)
    if existing is None:
        return name, None
    if behaviour == "fail":
        raise _Refusal(409, "nameAlreadyExists", "An item with the same name already exists under the parent.")
    if behaviour == "replace":
        return name, existing
    stem, extension = posixpath.splitext(name)
    number = 1
    while drive.child(parent, f"{stem} {number}{extension}") is not None:
        number += 1
    return f"{stem} {number}{extension}", None


def _drive(
    fake: FakeMicrosoft,
    drive: Drive,
    method: str,
    rest: str,
    query: dict[str, str],
    body: Any,
    raw: bytes,
    headers: dict[str, str],
) -> Answer:
    if rest in ("", "/"):
        return 200, {"id": drive.id, "driveType": "business", "owner": {"user": {"email": drive.owner}}}, None, None
    item, start, relative, sub = _drive_target(drive, rest)
    body_json = body if isinstance(body, dict) else {}
    if sub == "/content" and method == "PUT":
        parent = fake._folders(drive, posixpath.dirname(relative), start) if relative else None
        if parent is None or start.data is not None:
            raise _Refusal(400, "invalidRequest", "Uploads need a path to the new file.")
        behaviour = query.get("@microsoft.graph.conflictBehavior", "replace")
        name, replaced = _conflict_name(drive, parent, posixpath.basename(relative), behaviour)
        mime = headers.get("content-type", "application/octet-stream")
        if replaced is not None:
            replaced.data, replaced.mime_type = raw, mime
            return 200, _item_json(fake, drive, replaced), None, None
        created = DriveItem(fake.new_id("01FILE"), name, parent.id, raw, mime)
        drive.items[created.id] = created
        return 201, _item_json(fake, drive, created), None, None
    if sub == "/createUploadSession" and method == "POST":
        parent = fake._folders(drive, posixpath.dirname(relative), start) if relative else None
        if parent is None or start.data is not None:
            raise _Refusal(400, "invalidRequest", "Upload sessions need a path to the new file.")
        item_options = body_json.get("item") or {}
        session_id = fake.new_id("session-")
        fake._sessions[session_id] = _Session(
            drive,
            parent,
            str(item_options.get("name") or posixpath.basename(relative)),
            str(item_options.get("@microsoft.graph.conflictBehavior") or "replace"),
        )
        session = {
            "uploadUrl": f"{fake.base_url}/upload/{session_id}",
            "expirationDateTime": "2026-01-12T09:00:00Z",
            "nextExpectedRanges": ["0-"],
        }
        return 200, session, None, None
    if item is None:
        raise _Refusal(404, "itemNotFound", "The resource could not be found.")
    if sub == "" and method == "GET":
        entry = _item_json(fake, drive, item)
        if item.data is not None:
            token = fake.new_id("dl-")
            fake._downloads[token] = (drive.id, item.id)
            entry["@microsoft.graph.downloadUrl"] = f"{fake.base_url}/download/{token}"
        return 200, entry, None, None
    if sub == "/children" and method == "GET":
        if item.data is not None:
            raise _Refusal(400, "invalidRequest", "The item is not a folder.")
        children = [_item_json(fake, drive, child) for child in drive.children(item)]
        return 200, _page(fake, f"/drives/{drive.id}/items/{item.id}/children", children, query), None, None
    if sub == "/children" and method == "POST":
        name = str(body_json.get("name") or "").strip()
        if not name or "folder" not in body_json:
            raise _Refusal(400, "invalidRequest", "Invalid request: a name and a folder facet are required.")
        name, replaced = _conflict_name(
            drive, item, name, str(body_json.get("@microsoft.graph.conflictBehavior") or "fail")
        )
        if replaced is not None:
            _remove(drive, replaced)
        folder = DriveItem(fake.new_id("01FOLD"), name, item.id)
        drive.items[folder.id] = folder
        return 201, _item_json(fake, drive, folder), None, None
    if sub == "/content" and method == "GET":
        if item.data is None:
            raise _Refusal(400, "invalidRequest", "Folders have no content.")
        token = fake.new_id("dl-")
        fake._downloads[token] = (drive.id, item.id)
        return 302, None, {"Location": f"{fake.base_url}/download/{token}"}, None
    if sub == "" and method == "PATCH":
        parent_id = (body_json.get("parentReference") or {}).get("id")
        parent = drive.items[item.parent] if item.parent else item
        if parent_id is not None:
            if parent_id not in drive.items or drive.items[parent_id].data is not None:
                raise _Refusal(400, "invalidRequest", "The destination is not a folder.")
            parent = drive.items[parent_id]
        name = str(body_json.get("name") or item.name)
        clash = drive.child(parent, name)
        if clash is not None and clash is not item:
            raise _Refusal(409, "nameAlreadyExists", "An item with the same name already exists under the parent.")
        item.parent, item.name = parent.id, name
        return 200, _item_json(fake, drive, item), None, None
    if sub == "" and method == "DELETE":
        if item.parent is None:
            raise _Refusal(403, "accessDenied", "The root folder cannot be deleted.")
        _remove(drive, item)
        return 204, None, None, None
    if sub == "/createLink" and method == "POST":
        kind, scope = body_json.get("type"), body_json.get("scope", "anonymous")
        if kind not in ("view", "edit", "embed") or scope not in ("anonymous", "organization", "users"):
            raise _Refusal(400, "invalidRequest", "Invalid request: type must be view, edit or embed.")
        permission_id = fake.new_id("perm-")
        link = {"type": kind, "scope": scope, "webUrl": f"https://contoso-my.sharepoint.com/:u:/g/{permission_id}"}
        return 201, {"id": permission_id, "roles": ["read" if kind == "view" else "write"], "link": link}, None, None
    raise _Refusal(405, "invalidRequest", "The OData request is not supported.")


def _remove(drive: Drive, item: DriveItem) -> None:
    for child in drive.children(item):
        _remove(drive, child)
    del drive.items[item.id]


def _download(fake: FakeMicrosoft, token: str) -> Answer:
    with fake.lock:
        found = fake._downloads.get(token)
        item = fake.drives[found[0]].items.get(found[1]) if found else None
    if item is None or item.data is None:
        raise _Refusal(404, "itemNotFound", "The download link has expired.")
    return 200, None, None, item.data


def _upload(fake: FakeMicrosoft, method: str, session_id: str, headers: dict[str, str], raw: bytes) -> Answer:
    if "authorization" in headers:
        raise _Refusal(401, "unauthenticated", "Upload URLs are pre-authenticated: send no Authorization header.")
    with fake.lock:
        session = fake._sessions.get(session_id)
        if session is None:
            raise _Refusal(404, "itemNotFound", "The upload session was not found.")
        if method == "DELETE":
            del fake._sessions[session_id]
            fake.cancelled_uploads.append(session_id)
            return 204, None, None, None
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
        if not found:
            raise _Refusal(400, "invalidRequest", "The Content-Range header is missing or malformed.")
        start, end, total = (int(group) for group in found.groups())
        session.total = session.total or total
        if start != len(session.received) or end - start + 1 != len(raw) or total != session.total:
            raise _Refusal(
                416, "invalidRange", f"The fragment does not start at the expected byte {len(session.received)}."
            )
        if end + 1 < total and len(raw) % FRAGMENT_BYTES:
            raise _Refusal(400, "invalidRequest", "The fragment size must be a multiple of 320 KiB.")
        session.received.extend(raw)
        if end + 1 < total:
            return (
                202,
                {"expirationDateTime": "2026-01-12T09:00:00Z", "nextExpectedRanges": [f"{end + 1}-"]},
                None,
                None,
            )
        del fake._sessions[session_id]
        drive = session.drive
        name, replaced = _conflict_name(drive, session.parent, session.name, session.conflict)
        if replaced is not None:
            replaced.data = bytes(session.received)
            return 200, _item_json(fake, drive, replaced), None, None
        created = DriveItem(fake.new_id("01FILE"), name, session.parent.id, bytes(session.received))
        drive.items[created.id] = created
        return 201, _item_json(fake, drive, created), None, None


STATUSES = ("notStarted", "inProgress", "completed", "waitingOnOthers", "deferred")


def _task_filter(query: dict[str, str]) -> Predicate:
    text = query.get("$filter", "").strip()
    if not text:
        return lambda task: True
    found = re.fullmatch(r"(status|importance) (eq|ne) '([A-Za-z]+)'", text)
    if not found:
        raise _Refusal(400, "BadRequest", f"Invalid filter clause: {text}")
    key, operator, value = found.groups()
    return lambda task: (task[key] == value) == (operator == "eq")


def _check_task(fields: dict[str, Any]) -> None:
    if fields.get("status", "notStarted") not in STATUSES:
        raise _Refusal(400, "invalidRequest", f"Invalid value '{fields['status']}' for status.")
    if fields.get("importance", "normal") not in ("low", "normal", "high"):
        raise _Refusal(400, "invalidRequest", f"Invalid value '{fields['importance']}' for importance.")
    due = fields.get("dueDateTime")
    if due is not None and not (isinstance(due, dict) and due.get("dateTime") and due.get("timeZone")):
        raise _Refusal(400, "invalidRequest", "dueDateTime needs a dateTime and a timeZone.")


def _todo(fake: FakeMicrosoft, user: User, method: str, rest: str, query: dict[str, str], body: Any) -> Answer:
    found = re.fullmatch(r"/lists/([^/]+)/tasks(?:/([^/]+))?", rest)
    if not found:
        raise _Refusal(400, "BadRequest", f"Resource not found for the segment '{rest}'.")
    tasks = user.todo_lists.get(found.group(1))
    if tasks is None:
        raise _Refusal(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    body = body if isinstance(body, dict) else {}
    if found.group(2) is None and method == "GET":
        keep = _task_filter(query)
        chosen = [task for task in tasks.values() if keep(task)]
        return 200, _page(fake, f"/users/{user.upn}/todo{rest}", chosen, query), None, None
    if found.group(2) is None and method == "POST":
        if not str(body.get("title") or "").strip():
            raise _Refusal(400, "invalidRequest", "Invalid request: the title is required.")
        _check_task(body)
        return 201, fake._new_task(tasks, body), None, None
    task = tasks.get(found.group(2) or "")
    if task is None:
        raise _Refusal(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    if method == "GET":
        return 200, task, None, None
    if method == "PATCH":
        _check_task({**task, **body})
        for key in ("title", "body", "status", "importance"):
            if key in body:
                task[key] = body[key]
        if "dueDateTime" in body:
            if body["dueDateTime"] is None:
                task.pop("dueDateTime", None)
            else:
                task["dueDateTime"] = body["dueDateTime"]
        if task["status"] == "completed":
            task["completedDateTime"] = {"dateTime": "2026-01-06T10:00:00.0000000", "timeZone": "UTC"}
        else:
            task.pop("completedDateTime", None)
        task["lastModifiedDateTime"] = "2026-01-06T10:00:00Z"
        return 200, task, None, None
    if method == "DELETE":
        del tasks[task["id"]]
        return 204, None, None, None
    raise _Refusal(405, "invalidRequest", "The OData request is not supported.")


@contextmanager
def fake_microsoft_server() -> Iterator[FakeMicrosoft]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeMicrosoft(host, port), name="fake-microsoft") as fake:
        yield fake
