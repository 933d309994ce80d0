"""A real GraphQL server on 127.0.0.1 for the GraphQL node's tests: graphql-core runs queries on a small schema.

Routes:
    ``/graphql``        GraphQL over POST (JSON body) or GET (``query``, ``variables``, ``operationName``).
    ``/secure``         the same, but 401 unless the request carries :attr:`FakeGraphqlServer.auth_header`
                        (a header name and value) or :attr:`FakeGraphqlServer.auth_query` (a query parameter).
    ``/status/<code>``  that status with a short text body.
    ``/not-graphql``    200 with an HTML page.
    ``/redirect``       302 to ``/graphql``.
    ``/slow``           answers after :data:`SLOW_SECONDS`.

The schema: ``orders(first)`` lists :data:`ORDERS`; ``order(id)`` returns one or null with an error;
``whoami`` echoes the Authorization header; ``addOrder(total)`` is a mutation.

Use it as a context manager::

    with fake_graphql_server() as server:
        httpx.post(server.url("/graphql"), json={"query": "{ orders { id } }"})
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import graphql

from tests.fakes.serving import FakeServer, serve

SLOW_SECONDS = 1.0
SDL = """
type Order { id: ID!, total: Float!, customer: String! }
type Query {
  orders(first: Int): [Order!]!
  order(id: ID!): Order
  whoami: String
}
type Mutation { addOrder(total: Float!, customer: String!): Order! }
"""
ORDERS = [
    {"id": "1", "total": 12.5, "customer": "Ada"},
    {"id": "2", "total": 99.0, "customer": "Grace"},
    {"id": "3", "total": 7.25, "customer": "Linus"},
]


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeGraphqlServer:
    host: str
    port: int
    auth_header: tuple[str, str] | None = None
    auth_query: tuple[str, str] | None = None
    requests: list[Received] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def received(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path == path]


class _Root:
    """Resolvers of the top-level fields; ``info.context`` holds the request's headers and the fake."""

    @staticmethod
    def orders(_info: Any, first: int | None = None) -> list[dict[str, Any]]:
        return ORDERS[:first] if first is not None else ORDERS

    @staticmethod
    def order(_info: Any, id: str) -> dict[str, Any]:
        for order in ORDERS:
            if order["id"] == id:
                return order
        raise ValueError(f"no order {id}")

    @staticmethod
    def whoami(info: Any) -> str | None:
        return info.context["headers"].get("authorization")

    @staticmethod
    def addOrder(info: Any, total: float, customer: str) -> dict[str, Any]:
        fake: FakeGraphqlServer = info.context["fake"]
        order = {"id": str(len(ORDERS) + len(fake.added) + 1), "total": total, "customer": customer}
        with fake.lock:
            fake.added.append(order)
        return order


SCHEMA = graphql.build_schema(SDL)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeGraphqlServer]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
        path = parts.path
        if path == "/secure" and not self._authorised(fake, headers, query):
            self._json(401, {"errors": [{"message": "not authenticated"}]})
        elif path in ("/graphql", "/secure"):
            self._graphql(fake, query, headers, body)
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self._send(code, f"the fake answered {code}".encode(), "text/plain; charset=utf-8")
        elif path == "/not-graphql":
            self._send(200, b"<html><body>Welcome</body></html>", "text/html")
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._json(200, {"data": {"whoami": None}})
        elif path == "/redirect":
            self._send(302, b"", "text/plain", Location=fake.url("/graphql"))
        else:
            self._json(404, {"error": f"no route {path}"})

    @staticmethod
    def _authorised(fake: FakeGraphqlServer, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        if fake.auth_header is not None:
            name, value = fake.auth_header
            return headers.get(name.lower()) == value
        if fake.auth_query is not None:
            name, value = fake.auth_query
            return query.get(name) == [value]
        return False

    def _graphql(
        self, fake: FakeGraphqlServer, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> None:
        if self.command == "GET":
            request = {name: values[0] for name, values in query.items()}
            if "variables" in request:
                request["variables"] = json.loads(request["variables"])
        elif headers.get("content-type", "").startswith("application/json"):
            request = json.loads(body)
        else:
            self._json(415, {"errors": [{"message": "send application/json"}]})
            return
        if not isinstance(request.get("query"), str):
            self._json(400, {"errors": [{"message": "no query"}]})
            return
        if self.command == "GET" and request["query"].lstrip().startswith("mutation"):
            self._json(405, {"errors": [{"message": "mutations need POST"}]})
            return
        result = graphql.graphql_sync(
            SCHEMA,
            request["query"],
            root_value=_Root,
            context_value={"headers": headers, "fake": fake},
            variable_values=request.get("variables"),
            operation_name=request.get("operationName"),
        )
        self._json(200, result.formatted)

    do_GET = do_POST = _handle


@contextmanager
def fake_graphql_server() -> Iterator[FakeGraphqlServer]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeGraphqlServer, name="fake-graphql", quiet_disconnects=True) as fake:
        yield fake
