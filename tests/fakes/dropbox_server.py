"""Two real HTTP servers on 127.0.0.1 speaking the part of the Dropbox API v2 the Dropbox node uses.

One stands for ``api.dropboxapi.com`` (RPC: JSON arguments in the body), the other for
``content.dropboxapi.com`` (arguments in the ``Dropbox-API-Arg`` header, file bytes in the body or the answer);
an endpoint called on the wrong host is 400. Routes (``Authorization: Bearer <token>``, else 401
``invalid_access_token``; an :meth:`FakeDropbox.expire` token is 401 ``expired_access_token``; an endpoint needing
a scope the token lacks is 401 ``missing_scope`` with its ``required_scope``):
    API host:
        ``POST /2/users/get_current_account``          the token's account (no arguments).
        ``POST /2/files/list_folder``, ``…/continue``  entries (``recursive``, ``limit``), pages of at most
                                                       :attr:`FakeDropbox.page_size` with ``cursor`` and
                                                       ``has_more``; an unknown cursor is 409 ``reset``.
        ``POST /2/files/create_folder_v2``, ``move_v2``, ``copy_v2``, ``delete_v2``   ``{"metadata": …}``.
        ``POST /2/files/search_v2``, ``/2/files/search/continue_v2``   matches on names (and contents unless
                                                       ``filename_only``) under ``options.path``.
        ``POST /2/files/get_temporary_link``           ``{"metadata", "link"}``.
    Content host:
        ``POST /2/files/upload``       ``mode`` add (409 ``path/conflict/file`` unless ``autorename``) or
                                       overwrite; parent folders are made as needed.
        ``POST /2/files/download``     the bytes, with the metadata in the ``Dropbox-API-Result`` header.
Paths are case-insensitive, start with ``/`` or are ``id:…``; one that breaks the endpoint's pattern is 400 in plain
text, as Dropbox answers malformed requests. Endpoint errors are 409 ``{"error_summary", "error": {".tag"}}``
(``path/not_found``, ``from_lookup/not_found``, ``to/conflict/file``...). Set :attr:`FakeDropbox.rate_limited` to
answer the next that many requests with 429 ``too_many_requests`` and ``Retry-After``. Every request is recorded.
"""

from __future__ import annotations

import itertools
import json
import posixpath
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.serving import FakeServer, serve

TOKEN = "sl.fakeDROPBOXtoken-0123456789abcdefABCDEF"
ACCOUNT = {
    "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
    "name": {"display_name": "Grace Hopper", "given_name": "Grace", "surname": "Hopper"},
    "email": "grace@example.com",
    "email_verified": True,
}
SCOPES = ("account_info.read", "files.metadata.read", "files.content.read", "files.content.write")
MODIFIED = "2026-01-05T09:00:00Z"
PATH_PATTERN = re.compile(r"(/(.|[\r\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)", re.DOTALL)
ROOT_PATTERN = re.compile(r"(/(.|[\r\n])*)?|(ns:[0-9]+(/.*)?)|(id:.*)", re.DOTALL)
DOWNLOAD_PATTERN = re.compile(r"(/(.|[\r\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/.*)?)", re.DOTALL)
CONTENT_ENDPOINTS = ("files/upload", "files/download")
NEEDS = {
    "files/upload": "files.content.write",
    "files/download": "files.content.read",
    "files/create_folder_v2": "files.content.write",
    "files/move_v2": "files.content.write",
    "files/copy_v2": "files.content.write",
    "files/delete_v2": "files.content.write",
    "files/get_temporary_link": "files.content.read",
    "users/get_current_account": "account_info.read",
}


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; ``arg`` from the body or the ``Dropbox-API-Arg`` header)."""

    host: str
    """``api`` or ``content``."""
    endpoint: str
    headers: dict[str, str]
    arg: Any
    body: bytes


class _Refusal(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def _endpoint_error(summary: str, error: dict[str, Any]) -> _Refusal:
    """A 409, as Dropbox pads its summary: ``path/not_found/..``."""
    return _Refusal(409, {"error_summary": f"{summary}/..", "error": error})


def _lookup(route: str, reason: str) -> _Refusal:
    """A LookupError under ``route`` (``path``, ``from_lookup``, ``path_lookup``)."""
    return _endpoint_error(f"{route}/{reason}", {".tag": route, route: {".tag": reason}})


@dataclass
class Entry:
    id: str
    path_display: str
    data: bytes | None = None
    """``None`` for a folder."""
    rev: str = "015f9a1b2c3d4e5f0000000"

    @property
    def name(self) -> str:
        return posixpath.basename(self.path_display)

    def metadata(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            ".tag": "folder" if self.data is None else "file",
            "name": self.name,
            "path_lower": self.path_display.lower(),
            "path_display": self.path_display,
            "id": self.id,
        }
        if self.data is not None:
            entry.update(
                client_modified=MODIFIED,
                server_modified=MODIFIED,
                rev=self.rev,
                size=len(self.data),
                is_downloadable=True,
            )
        return entry


@dataclass
class FakeDropbox:
    host: str
    port: int
    content_port: int = 0
    token: str = TOKEN
    scopes: set[str] = field(default_factory=lambda: set(SCOPES))
    entries: dict[str, Entry] = field(default_factory=dict)
    """Files and folders by lower-cased path."""
    page_size: int = 2000
    rate_limited: int = 0
    expired: set[str] = field(default_factory=set)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _cursors: dict[str, tuple[str, list[dict[str, Any]], int]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def content_url(self) -> str:
        return f"http://{self.host}:{self.content_port}"

    def credential(self, token: str | None = None) -> dict[str, Any]:
        """The ``dropbox_api`` credential's data that reaches both hosts."""
        return {"access_token": token or self.token, "api_url": self.api_url, "content_url": self.content_url}

    def expire(self, token: str) -> None:
        with self.lock:
            self.expired.add(token)

    def add_file(self, path: str, data: bytes) -> Entry:
        with self.lock:
            return self._put(path, data)

    def add_folder(self, path: str) -> Entry:
        with self.lock:
            return self._folder(path)

    def at(self, path: str) -> Entry | None:
        with self.lock:
            return self.entries.get(path.lower())

    def received(self, endpoint: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if endpoint is None or r.endpoint == endpoint]

    def _new_id(self) -> str:
        return f"id:a4ayc_80_OEAAAAAAAA{next(self._ids):04d}"

    def _folder(self, path: str) -> Entry:
        if not path or path == "/":
            raise AssertionError("the root is not an entry")
        found = self.entries.get(path.lower())
        if found is not None:
            if found.data is not None:
                raise _endpoint_error("path/conflict/file_ancestor", {".tag": "path"})
            return found
        parent = posixpath.dirname(path)
        if parent != "/":
            self._folder(parent)
        folder = Entry(self._new_id(), path)
        self.entries[path.lower()] = folder
        return folder

    def _put(self, path: str, data: bytes) -> Entry:
        parent = posixpath.dirname(path)
        if parent != "/":
            self._folder(parent)
        existing = self.entries.get(path.lower())
        entry = Entry(existing.id if existing else self._new_id(), path, data, f"{next(self._ids):09x}0000000")
        self.entries[path.lower()] = entry
        return entry

    def _resolve(self, path: str) -> Entry | None:
        if path.startswith("id:"):
            return next((entry for entry in self.entries.values() if entry.id == path), None)
        return self.entries.get(path.lower())

    def _children(self, folder: str, recursive: bool) -> list[Entry]:
        prefix = "/" if not folder else folder.lower() + "/"
        found = []
        for key, entry in sorted(self.entries.items()):
            if key.startswith(prefix) and (recursive or "/" not in key[len(prefix) :]):
                found.append(entry)
        return found

    def _free(self, path: str, autorename: bool, route: str, kind: str) -> str:
        """``path``, or with `` (n)`` added when taken and ``autorename``; a 409 conflict otherwise."""
        if path.lower() not in self.entries:
            return path
        if not autorename:
            raise _endpoint_error(
                f"{route}/conflict/{kind}", {".tag": route, route: {".tag": "conflict", "conflict": {".tag": kind}}}
            )
        stem, extension = posixpath.splitext(path)
        number = 1
        while f"{stem} ({number}){extension}".lower() in self.entries:
            number += 1
        return f"{stem} ({number}){extension}"

    def _cursor(self, kind: str, rest: list[dict[str, Any]], size: int) -> str:
        """A cursor to the ``rest`` of a listing, served ``size`` at a time."""
        cursor = f"AAE{kind}{next(self._ids):06d}cursor"
        self._cursors[cursor] = (kind, rest, size)
        return cursor


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeDropbox]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        if raw is not None:
            body, content_type = raw, "application/octet-stream"
        elif isinstance(data, str):
            body, content_type = data.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = json.dumps(data).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        fake = self.server.fake
        host = "content" if self.server.server_address[1] == fake.content_port else "api"
        endpoint = self.path.split("?", 1)[0].removeprefix("/2/")
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            arg = _arguments(host, endpoint, headers, raw)
        except _Refusal as refusal:
            with fake.lock:
                fake.requests.append(Received(host, endpoint, headers, None, raw))
            self._reply(refusal.status, refusal.body, refusal.headers)
            return
        with fake.lock:
            fake.requests.append(Received(host, endpoint, headers, arg, raw))
        try:
            with fake.lock:
                answer = _route(fake, host, endpoint, headers, arg, raw)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body, refusal.headers)
            return
        self._reply(*answer)


Answer = tuple[int, Any, dict[str, str] | None, bytes | None]


def _arguments(host: str, endpoint: str, headers: dict[str, str], raw: bytes) -> Any:
    """The call's arguments: the ``Dropbox-API-Arg`` header on the content host, the JSON body on the API host."""
    where = f'Error in call to API function "{endpoint}"'
    if (host == "content") != (endpoint in CONTENT_ENDPOINTS):
        right = "content.dropboxapi.com" if endpoint in CONTENT_ENDPOINTS else "api.dropboxapi.com"
        raise _Refusal(400, f"{where}: This function must be called on {right}.")
    if host == "content":
        try:
            return json.loads(headers.get("dropbox-api-arg", ""))
        except ValueError as err:
            raise _Refusal(400, f'{where}: Bad HTTP "Dropbox-API-Arg" header: could not decode JSON.') from err
    if not raw or raw == b"null":
        return None
    if "application/json" not in headers.get("content-type", ""):
        raise _Refusal(400, f'{where}: Bad HTTP "Content-Type" header: "{headers.get("content-type")}".')
    try:
        return json.loads(raw)
    except ValueError as err:
        raise _Refusal(400, f"{where}: request body: could not decode input as JSON") from err


def _path(endpoint: str, args: dict[str, Any], key: str, pattern: re.Pattern[str] = PATH_PATTERN) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _Refusal(
            400,
            f'Error in call to API function "{endpoint}": request body: {key}: {value!r} did not match pattern '
            f"'{pattern.pattern}'",
        )
    if value.endswith("/") and len(value) > 1:
        raise _lookup("path", "malformed_path")
    return value


def _route(fake: FakeDropbox, host: str, endpoint: str, headers: dict[str, str], arg: Any, raw: bytes) -> Answer:
    if fake.rate_limited > 0:
        fake.rate_limited -= 1
        body = {
            "error_summary": "too_many_requests/..",
            "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 300},
        }
        raise _Refusal(429, body, {"Retry-After": "300"})
    token = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if token in fake.expired:
        raise _Refusal(401, {"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}})
    if token != fake.token:
        raise _Refusal(401, {"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}})
    needed = NEEDS.get(endpoint, "files.metadata.read")
    if needed not in fake.scopes:
        error = {".tag": "missing_scope", "required_scope": needed}
        raise _Refusal(401, {"error_summary": "missing_scope/..", "error": error})
    if endpoint == "users/get_current_account":
        if arg is not None:
            raise _Refusal(400, f'Error in call to API function "{endpoint}": request body: expected null')
        return 200, ACCOUNT, None, None
    args = arg if isinstance(arg, dict) else {}
    if endpoint == "files/upload":
        return _upload(fake, args, raw)
    if endpoint == "files/download":
        found = fake._resolve(_path(endpoint, args, "path", DOWNLOAD_PATTERN))
        if found is None:
            raise _lookup("path", "not_found")
        if found.data is None:
            raise _lookup("path", "not_file")
        return 200, None, {"Dropbox-API-Result": json.dumps(found.metadata(), ensure_ascii=True)}, found.data
    if endpoint in ("files/list_folder", "files/list_folder/continue", "files/search_v2", "files/search/continue_v2"):
        return _listing(fake, endpoint, args)
    if endpoint == "files/create_folder_v2":
        path = fake._free(_path(endpoint, args, "path"), bool(args.get("autorename")), "path", "folder")
        return 200, {"metadata": fake._folder(path).metadata()}, None, None
    if endpoint in ("files/move_v2", "files/copy_v2"):
        return _move(fake, endpoint, args)
    if endpoint == "files/delete_v2":
        found = fake._resolve(_path(endpoint, args, "path"))
        if found is None:
            raise _lookup("path_lookup", "not_found")
        metadata = found.metadata()
        for key in [
            k for k in fake.entries if k == found.path_display.lower() or k.startswith(found.path_display.lower() + "/")
        ]:
            del fake.entries[key]
        return 200, {"metadata": metadata}, None, None
    if endpoint == "files/get_temporary_link":
        found = fake._resolve(_path(endpoint, args, "path"))
        if found is None:
            raise _lookup("path", "not_found")
        if found.data is None:
            raise _lookup("path", "not_file")
        link = f"https://uc{found.id[-4:]}.dl.dropboxusercontent.com/cd/0/get/{found.id[3:]}/file"
        return 200, {"metadata": found.metadata(), "link": link}, None, None
    raise _Refusal(400, f'Unknown API function: "{endpoint}"')


def _upload(fake: FakeDropbox, args: dict[str, Any], raw: bytes) -> Answer:
    path = _path("files/upload", args, "path")
    mode = args.get("mode", "add")
    mode = mode.get(".tag") if isinstance(mode, dict) else mode
    if mode not in ("add", "overwrite"):
        raise _Refusal(400, f'Error in call to API function "files/upload": mode: unknown tag {mode!r}')
    if posixpath.basename(path).lower() in (".ds_store", "desktop.ini", "thumbs.db"):
        raise _endpoint_error("path/disallowed_name", {".tag": "path", "reason": {".tag": "disallowed_name"}})
    existing = fake.entries.get(path.lower())
    if existing is not None and existing.data is None:
        raise _endpoint_error("path/conflict/folder", {".tag": "path", "reason": {".tag": "conflict"}})
    if existing is not None and mode == "add":
        if not args.get("autorename"):
            reason = {".tag": "conflict", "conflict": {".tag": "file"}}
            raise _endpoint_error("path/conflict/file", {".tag": "path", "reason": reason})
        path = fake._free(path, True, "path", "file")
    return 200, fake._put(path, raw).metadata(), None, None


def _listing(fake: FakeDropbox, endpoint: str, args: dict[str, Any]) -> Answer:
    search = "search" in endpoint
    if endpoint.endswith("continue") or endpoint.endswith("continue_v2"):
        stored = fake._cursors.pop(str(args.get("cursor") or ""), None)
        if stored is None or stored[0] != ("search" if search else "list"):
            raise _endpoint_error("reset", {".tag": "reset"})
        rest, size = stored[1], stored[2]
    elif search:
        query = str(args.get("query") or "").strip()
        if not query:
            raise _Refusal(400, 'Error in call to API function "files/search_v2": request body: query: too short')
        options = args.get("options") or {}
        folder = _path(endpoint, options, "path", ROOT_PATTERN) if "path" in options else ""
        if folder and folder.lower() not in fake.entries:
            raise _endpoint_error("path/not_found", {".tag": "path", "path": {".tag": "not_found"}})
        words = query.lower().split()
        rest = []
        for entry in fake._children(folder, recursive=True):
            in_name = all(word in entry.name.lower() for word in words)
            in_content = entry.data is not None and all(word.encode() in entry.data.lower() for word in words)
            if in_name or (in_content and not options.get("filename_only")):
                kind = "filename" if in_name else "file_content"
                rest.append(
                    {"match_type": {".tag": kind}, "metadata": {".tag": "metadata", "metadata": entry.metadata()}}
                )
        size = min(int(options.get("max_results") or 100), fake.page_size)
    else:
        folder = _path(endpoint, args, "path", ROOT_PATTERN)
        found = fake._resolve(folder) if folder else None
        if folder and found is None:
            raise _lookup("path", "not_found")
        if found is not None and found.data is not None:
            raise _lookup("path", "not_folder")
        rest = [
            entry.metadata()
            for entry in fake._children(found.path_display if found else "", bool(args.get("recursive")))
        ]
        size = min(int(args.get("limit") or 2000), fake.page_size)
    page, remaining = rest[:size], rest[size:]
    kind = "search" if search else "list"
    answer: dict[str, Any] = {"matches" if search else "entries": page, "has_more": bool(remaining)}
    if remaining or not search:
        answer["cursor"] = fake._cursor(kind, remaining, size)
    return 200, answer, None, None


def _move(fake: FakeDropbox, endpoint: str, args: dict[str, Any]) -> Answer:
    source = fake._resolve(_path(endpoint, args, "from_path"))
    if source is None:
        raise _lookup("from_lookup", "not_found")
    target = _path(endpoint, args, "to_path")
    if target.lower() == source.path_display.lower() or target.lower().startswith(source.path_display.lower() + "/"):
        raise _endpoint_error("cant_move_folder_into_itself", {".tag": "cant_move_folder_into_itself"})
    target = fake._free(target, bool(args.get("autorename")), "to", "file" if source.data is not None else "folder")
    old = source.path_display
    moved = [
        (key, entry)
        for key, entry in list(fake.entries.items())
        if key == old.lower() or key.startswith(old.lower() + "/")
    ]
    for key, entry in moved:
        new_path = target + entry.path_display[len(old) :]
        if endpoint == "files/move_v2":
            del fake.entries[key]
            entry.path_display = new_path
            fake.entries[new_path.lower()] = entry
        else:
            fake.entries[new_path.lower()] = Entry(fake._new_id(), new_path, entry.data, entry.rev)
    parent = posixpath.dirname(target)
    if parent != "/":
        fake._folder(parent)
    return 200, {"metadata": fake.entries[target.lower()].metadata()}, None, None


@contextmanager
def fake_dropbox_server(token: str = TOKEN) -> Iterator[FakeDropbox]:
    """Serve the API host and the content host on free ports of 127.0.0.1; stop both on exit."""
    with serve(_Handler, lambda host, port: FakeDropbox(host, port, token=token), name="fake-dropbox-api") as fake:

        def content_host(host: str, port: int) -> FakeDropbox:
            fake.content_port = port
            return fake

        with serve(_Handler, content_host, name="fake-dropbox-content"):
            yield fake
