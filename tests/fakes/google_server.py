"""A real HTTP server on 127.0.0.1 standing in for Google's OAuth token endpoint, Sheets v4 and Drive v3.

Routes:
    ``POST /token``  the JWT-bearer grant: the assertion must be signed by a registered service account's key
                     (:meth:`FakeGoogle.service_account`) for Google's token audience; answers an access token, else 400
                     ``invalid_grant``. Every other route wants ``Authorization: Bearer <a token it issued>`` (401).
    Sheets (``/v4/spreadsheets/<id>/...``): ``values/<range>`` GET and PUT, ``values/<range>:append``,
                     ``values/<range>:clear``, ``values:batchUpdate``. Ranges are A1 notation with a quoted or bare
                     sheet name; USER_ENTERED turns numeric text into numbers; reads are formatted as text unless
                     ``valueRenderOption=UNFORMATTED_VALUE``. Unknown spreadsheets are 404, unknown sheets 400.
    Drive (``/drive/v3/files``): list with ``q`` (``trashed``, ``'<id>' in parents``, ``name contains``,
                     ``name =``, ``mimeType =`` joined by ``and``) in pages of ``pageSize``; get (``alt=media`` for
                     the bytes); PATCH; DELETE; ``POST /upload/drive/v3/files?uploadType=multipart``.

Use it as a context manager::

    with fake_google_server() as google:
        key = google.service_account()          # a JSON key file, as text
        google.spreadsheets["sheet-id"] = {"Sheet1": [["name", "age"], ["Ada", 36]]}
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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

    def _error(self, status: int, message: str, state: str) -> None:
        self._json(status, {"error": {"code": status, "message": message, "status": state}})

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
        if parts.path.startswith("/v4/spreadsheets/"):
            self._sheets(fake, parts.path.removeprefix("/v4/spreadsheets/"), query, body)
        elif parts.path.startswith(("/drive/v3/files", "/upload/drive/v3/files")):
            self._drive(fake, parts.path, query, headers, body)
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
        token = f"ya29.fake-{secrets.token_hex(8)}"
        with fake.lock:
            fake.tokens[token] = (claims["iss"], str(claims.get("scope", "")).split())
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

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def fake_google_server() -> Iterator[FakeGoogle]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeGoogle, name="fake-google") as fake:
        yield fake
