"""A real HTTP server on 127.0.0.1 for the HTTP Request node's tests; it records every request.

Routes:
    ``/echo[/...]``      the request as JSON: method, path, query, headers, body (and form, JSON, multipart parts).
    ``/ok``              ``{"ok": true}``, without echoing anything.
    ``/items``           a JSON array.
    ``/file[?name=N]``   a small PDF with a Content-Disposition file name (N, UTF-8 encoded); ``/file/<name>``
                         without one.
    ``/pages?page=N``    ``{"page": N, "results": [...]}``: two results on pages 1 to 3, none after.
    ``/cursor?after=K``  two results after K, and ``next``: the absolute URL of the next page (null at the end).
    ``/status/<code>``   that status with a short text body.
    ``/flaky``           503 twice (per server), then 200.
    ``/slow``            answers after :data:`SLOW_SECONDS`.
    ``/basic``           200 with the right HTTP Basic user and password, else 401.
    ``/redirect?to=URL`` 302 to ``URL`` (only to this machine).

Use it as a context manager, or through a fixture::

    with fake_http_server() as server:
        httpx.get(server.url("/echo"))
        assert server.requests[-1].method == "GET"
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

from tests.fakes.serving import FakeServer, serve

SLOW_SECONDS = 2.0
PAGE_COUNT = 3
CURSOR_TOTAL = 6
FILE_BYTES = b"%PDF-1.4\n% fake report\n\x00\x01\x02\xff"
BASIC_USER = "ada"
BASIC_PASSWORD = "lovelace-1843"


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeHttpServer:
    host: str
    port: int
    requests: list[Received] = field(default_factory=list)
    flaky_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def received(self, path: str) -> list[Received]:
        """The requests made to ``path`` (query string excluded), oldest first."""
        with self.lock:
            return [request for request in self.requests if request.path == path]


def _multipart(content_type: str, body: bytes) -> list[dict[str, Any]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = []
    for part in message.iter_parts():
        data = part.get_payload(decode=True) or b""
        entry: dict[str, Any] = {
            "name": part.get_param("name", header="content-disposition"),
            "filename": part.get_filename(),
            "content_type": part.get("content-type"),
        }
        if part.get_filename():
            entry["base64"] = base64.b64encode(data).decode()
        else:
            entry["value"] = data.decode()
        parts.append(entry)
    return parts


def _simple(query: dict[str, list[str]]) -> dict[str, Any]:
    return {name: values[0] if len(values) == 1 else values for name, values in query.items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeHttpServer]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, **headers: str) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", **headers)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
        path = parts.path
        if path == "/echo" or path.startswith("/echo/"):
            self._echo(path, query, headers, body)
        elif path == "/ok":
            self._json(200, {"ok": True})
        elif path == "/items":
            self._json(200, [{"id": 1}, {"id": 2}, "three"])
        elif path == "/file" and "name" in query:
            disposition = f"attachment; filename*=UTF-8''{quote(query['name'][0], safe='')}"
            self._send(200, FILE_BYTES, "application/pdf", Content_Disposition=disposition)
        elif path == "/file":
            self._send(200, FILE_BYTES, "application/pdf", Content_Disposition='attachment; filename="report.pdf"')
        elif path.startswith("/file/"):
            self._send(200, FILE_BYTES, "application/octet-stream")
        elif path == "/pages":
            page = int(query.get("page", ["1"])[0])
            results = [{"id": page * 2 - 1}, {"id": page * 2}] if 1 <= page <= PAGE_COUNT else []
            self._json(200, {"page": page, "results": results})
        elif path == "/cursor":
            after = int(query.get("after", ["0"])[0])
            results = [{"id": n} for n in range(after + 1, min(after + 2, CURSOR_TOTAL) + 1)]
            following = after + 2 if after + 2 < CURSOR_TOTAL else None
            next_url = fake.url(f"/cursor?after={following}") if following is not None else None
            self._json(200, {"results": results, "next": next_url})
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            text = b"" if code in (204, 304) else f"the fake answered {code}".encode()
            self._send(code, text, "text/plain; charset=utf-8")
        elif path == "/flaky":
            with fake.lock:
                fake.flaky_calls += 1
                calls = fake.flaky_calls
            if calls <= 2:
                self._send(503, b"busy, try again", "text/plain", Retry_After="0")
            else:
                self._json(200, {"ok": True, "calls": calls})
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._json(200, {"slow": True})
        elif path == "/basic":
            expected = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
            if headers.get("authorization") == f"Basic {expected}":
                self._json(200, {"user": BASIC_USER})
            else:
                self._json(401, {"error": "who are you?"}, WWW_Authenticate='Basic realm="fake"')
        elif path == "/redirect":
            target = query.get("to", [""])[0]
            # Only ever point clients at this machine: tests must not reach the internet.
            if not target.startswith(("http://127.0.0.1:", "/")):
                self._json(400, {"error": "redirects only to 127.0.0.1"})
            else:
                self._send(302, b"", "text/plain", Location=target)
        else:
            self._json(404, {"error": f"no route {path}"})

    def _echo(self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> None:
        content_type = headers.get("content-type", "")
        echoed: dict[str, Any] = {
            "method": self.command,
            "path": path,
            "query": _simple(query),
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
        }
        if content_type.startswith("application/json") and body:
            echoed["json"] = json.loads(body)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            pairs = parse_qsl(body.decode(), keep_blank_values=True)
            echoed["form"] = _simple({name: [v for n, v in pairs if n == name] for name, _ in pairs})
        elif content_type.startswith("multipart/form-data"):
            echoed["multipart"] = _multipart(content_type, body)
        self._json(200, echoed)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


@contextmanager
def fake_http_server() -> Iterator[FakeHttpServer]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeHttpServer, name="fake-http", quiet_disconnects=True) as fake:
        yield fake
