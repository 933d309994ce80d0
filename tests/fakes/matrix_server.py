"""A real HTTP server on 127.0.0.1 speaking the part of the Matrix Client-Server API (v3) the Matrix node uses.

Routes (under ``/_matrix/client/v3``, ``Authorization: Bearer <token>``; none is 401 ``M_MISSING_TOKEN``, another
is 401 ``M_UNKNOWN_TOKEN``):
    ``GET /account/whoami``                                    the token's ``user_id`` and ``device_id``.
    ``PUT /rooms/<roomId>/send/<eventType>/<txnId>``           post an event to a room the user joined (another
                                                               room is 403 ``M_FORBIDDEN``; an id not starting
                                                               with ! is 400 ``M_INVALID_PARAM``); a transaction
                                                               id used before answers the first event again.
    ``GET /rooms/<roomId>/messages?dir&from&limit&filter``     ``{"chunk", "start", "end"}``; ``dir`` b (newest
                                                               first) or f; ``filter`` a RoomEventFilter whose
                                                               ``types`` are kept; tokens are positions (``t3``);
                                                               ``end`` is left out when nothing follows.
Other paths are 404 ``M_UNRECOGNIZED``. Errors are Matrix's ``{"errcode", "error"}``. Set
:attr:`FakeMatrix.rate_limited` to answer the next that many requests with 429 ``M_LIMIT_EXCEEDED`` and
:attr:`FakeMatrix.retry_after_ms`. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "syt_aGl0bC1ib3Q_fakeFAKEfake_0123ab"
USER_ID = "@hitl-bot:example.org"
DEVICE_ID = "HITLSTUDIO"
ROOM = "!ops:example.org"
CLIENT_API = "/_matrix/client/v3"


@dataclass(frozen=True)
class Received:
    """One request (path decoded, header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, errcode: str, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"errcode": errcode, "error": error, **extra}


@dataclass
class FakeMatrix:
    host: str
    port: int
    rooms: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {ROOM: []})
    """The joined rooms' events, oldest first."""
    transactions: dict[str, str] = field(default_factory=dict)
    """Event id by transaction id."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    retry_after_ms: int = 20
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def homeserver_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_event(
        self, content: dict[str, Any], room: str = ROOM, event_type: str = "m.room.message", sender: str = USER_ID
    ) -> dict[str, Any]:
        with self.lock:
            return dict(self._post(room, event_type, content, sender))

    def received(self, method: str, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.method == method and path_part in r.path]

    def _post(self, room: str, event_type: str, content: dict[str, Any], sender: str) -> dict[str, Any]:
        events = self.rooms.setdefault(room, [])
        count = sum(len(entries) for entries in self.rooms.values()) + 1
        event = {
            "type": event_type,
            "event_id": f"$event{count:06d}",
            "room_id": room,
            "sender": sender,
            "origin_server_ts": 1767258000000 + count * 1000,
            "content": content,
            "unsigned": {"age": 1000},
        }
        events.append(event)
        return event


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeMatrix]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        segments = [unquote(part) for part in parts.path.removeprefix(CLIENT_API).strip("/").split("/")]
        with fake.lock:
            fake.requests.append(Received(self.command, unquote(parts.path), query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        try:
            if not parts.path.startswith(CLIENT_API + "/"):
                raise _Refusal(404, "M_UNRECOGNIZED", "Unrecognized request")
            if "authorization" not in headers:
                raise _Refusal(401, "M_MISSING_TOKEN", "Missing access token.")
            if headers["authorization"] != f"Bearer {TOKEN}":
                raise _Refusal(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", soft_logout=False)
            if limited:
                raise _Refusal(429, "M_LIMIT_EXCEEDED", "Too Many Requests", retry_after_ms=fake.retry_after_ms)
            with fake.lock:
                self._reply(200, self._route(fake, segments, query, body))
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)

    do_GET = do_PUT = _handle

    def _route(self, fake: FakeMatrix, segments: list[str], query: dict[str, str], body: Any) -> Any:
        if self.command == "GET" and segments == ["account", "whoami"]:
            return {"user_id": USER_ID, "device_id": DEVICE_ID, "is_guest": False}
        if len(segments) >= 3 and segments[0] == "rooms":
            room = segments[1]
            if not room.startswith("!"):
                raise _Refusal(400, "M_INVALID_PARAM", f"{room!r} is not a valid room ID")
            if room not in fake.rooms:
                raise _Refusal(403, "M_FORBIDDEN", f"User {USER_ID} not in room {room}")
            if self.command == "PUT" and len(segments) == 5 and segments[2] == "send":
                if not isinstance(body, dict):
                    raise _Refusal(400, "M_NOT_JSON", "Content not JSON.")
                if segments[4] not in fake.transactions:
                    fake.transactions[segments[4]] = fake._post(room, segments[3], body, USER_ID)["event_id"]
                return {"event_id": fake.transactions[segments[4]]}
            if self.command == "GET" and segments[2:] == ["messages"]:
                return self._messages(fake.rooms[room], query)
        raise _Refusal(404, "M_UNRECOGNIZED", "Unrecognized request")

    def _messages(self, events: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        types = json.loads(query["filter"]).get("types") if "filter" in query else None
        limit = int(query.get("limit", "10"))
        backwards = query.get("dir", "b") == "b"
        start = query.get("from")
        position = int(start[1:]) if start else (len(events) if backwards else 0)
        picked: list[dict[str, Any]] = []
        while len(picked) < limit and (position > 0 if backwards else position < len(events)):
            event = events[position - 1] if backwards else events[position]
            position += -1 if backwards else 1
            if types is None or event["type"] in types:
                picked.append(dict(event))
        answer: dict[str, Any] = {"chunk": picked, "start": start or f"t{len(events) if backwards else 0}"}
        if position > 0 if backwards else position < len(events):
            answer["end"] = f"t{position}"
        return answer


@contextmanager
def fake_matrix_server() -> Iterator[FakeMatrix]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeMatrix, name="fake-matrix") as fake:
        yield fake
