"""A real HTTP server on 127.0.0.1 speaking the part of Trello's REST API the Trello nodes use.

Routes (every one needs the ``key`` and ``token`` query parameters, else 401 ``invalid key`` / ``invalid token``):
    ``GET /1/members/me``                       the token's member (:data:`MEMBER`).
    ``POST /1/cards``                           create: ``idList`` (400 ``invalid value for idList``), ``name``,
                                                ``desc``, ``due`` (400 ``invalid date``), ``dueComplete``,
                                                ``idLabels`` (comma-separated, labels of the board), ``pos``
                                                (top, bottom or a number).
    ``GET|PUT|DELETE /1/cards/<id>``            one card by id or short link; update takes the create fields,
                                                ``idList`` and ``closed``; delete answers ``{"limits": {}}``.
    ``POST /1/cards/<id>/actions/comments``     ``text`` → a ``commentCard`` action.
    ``GET /1/lists/<id>/cards``                 the list's open cards, top to bottom, in one answer.
Fields come as query parameters or as a JSON body, as Trello takes both. A malformed id is 400 ``invalid id``, an
unknown one 404 ``The requested resource was not found.``; both are plain text, as Trello answers. Set
:attr:`FakeTrello.rate_limited` to answer the next that many requests with 429 and Trello's JSON body. Every request
is recorded.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

API_KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "ATTAfakeFAKEfake0123456789abcdef"
MEMBER = {"id": "5f0000000000000000000001", "username": "hitlbot", "fullName": "HITL Bot"}
BOARD = "5f00000000000000000000b0"
LABELS = {"5f00000000000000000000e1": ("Bug", "red"), "5f00000000000000000000e2": ("Ops", "blue")}
TRELLO_ID = re.compile(r"^[0-9a-f]{24}$")
NOT_FOUND = "The requested resource was not found."


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; key and token stay in ``query`` for the tests to check)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass
class FakeTrello:
    host: str
    port: int
    api_key: str = API_KEY
    token: str = TOKEN
    lists: dict[str, str] = field(default_factory=dict)
    """List names by id."""
    cards: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(0x5F1000000000000000000000))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, str]:
        """The ``trello_api`` credential's data that reaches this server."""
        return {"api_key": self.api_key, "token": token, "api_url": self.api_url}

    def add_list(self, name: str) -> str:
        with self.lock:
            list_id = f"{next(self._ids):024x}"
            self.lists[list_id] = name
            return list_id

    def add_card(self, list_id: str, name: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"idList": list_id, "name": name, **fields})

    def card(self, card_id: str) -> dict[str, Any]:
        with self.lock:
            return _card(self, card_id)

    def received(self, method: str | None = None, path_part: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_part in r.path]

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        list_id = str(fields.get("idList") or "")
        if list_id not in self.lists:
            raise _Refusal(400, "invalid value for idList")
        card_id = f"{next(self._ids):024x}"
        short = card_id[-8:]
        same_list = [card for card in self.cards if card["idList"] == list_id]
        card: dict[str, Any] = {
            "id": card_id,
            "idShort": len(self.cards) + 1,
            "shortLink": short,
            "name": "",
            "desc": "",
            "idBoard": BOARD,
            "idList": list_id,
            "idLabels": [],
            "labels": [],
            "due": None,
            "dueComplete": False,
            "closed": False,
            "pos": (max((card["pos"] for card in same_list), default=0) + 16384),
            "shortUrl": f"https://trello.com/c/{short}",
            "url": f"https://trello.com/c/{short}/{len(self.cards) + 1}",
            "dateLastActivity": "2026-01-01T00:00:00.000Z",
        }
        _apply(self, card, {key: value for key, value in fields.items() if key != "idList"})
        self.cards.append(card)
        return card


def _card(fake: FakeTrello, card_id: str) -> dict[str, Any]:
    if not TRELLO_ID.match(card_id) and not re.match(r"^[0-9a-zA-Z]{8}$", card_id):
        raise _Refusal(400, "invalid id")
    for card in fake.cards:
        if card_id in (card["id"], card["shortLink"]):
            return card
    raise _Refusal(404, NOT_FOUND)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _apply(fake: FakeTrello, card: dict[str, Any], fields: dict[str, Any]) -> None:
    for key in ("name", "desc"):
        if key in fields:
            card[key] = str(fields[key])
    if "due" in fields:
        due = fields["due"]
        if due in (None, "", "null"):
            card["due"] = None
        else:
            try:
                datetime.fromisoformat(str(due).replace("Z", "+00:00"))
            except ValueError as err:
                raise _Refusal(400, "invalid date") from err
            card["due"] = str(due)
    if "dueComplete" in fields:
        card["dueComplete"] = _flag(fields["dueComplete"])
    if "closed" in fields:
        card["closed"] = _flag(fields["closed"])
    if "idLabels" in fields:
        ids = [label for label in str(fields["idLabels"]).split(",") if label]
        if any(label not in LABELS for label in ids):
            raise _Refusal(400, "invalid value for idLabels")
        card["idLabels"] = ids
        card["labels"] = [{"id": label, "name": LABELS[label][0], "color": LABELS[label][1]} for label in ids]
    if "idList" in fields:
        if fields["idList"] not in fake.lists:
            raise _Refusal(400, "invalid value for idList")
        card["idList"] = fields["idList"]
    if "pos" in fields:
        in_list = [other["pos"] for other in fake.cards if other["idList"] == card["idList"] and other is not card]
        position = str(fields["pos"])
        if position == "top":
            card["pos"] = min(in_list, default=16384) / 2
        elif position == "bottom":
            card["pos"] = max(in_list, default=0) + 16384
        else:
            try:
                card["pos"] = float(position)
            except ValueError as err:
                raise _Refusal(400, "invalid value for pos") from err


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeTrello]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any = None, text: str | None = None) -> None:
        body = text.encode() if text is not None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if text is not None else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        headers = {name.lower(): value for name, value in self.headers.items()}
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            if limited:
                fake.rate_limited -= 1
        if limited:
            self._reply(429, {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"})
            return
        if query.get("key") != fake.api_key:
            self._reply(401, text="invalid key")
            return
        if query.get("token") != fake.token:
            self._reply(401, text="invalid token")
            return
        fields = {key: value for key, value in query.items() if key not in ("key", "token")}
        fields.update(body)
        segments = [unquote(segment) for segment in parts.path.split("/")[1:]]
        try:
            with fake.lock:
                status, data = _route(fake, self.command, segments, fields)
        except _Refusal as refusal:
            self._reply(refusal.status, text=refusal.text)
            return
        self._reply(status, data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


def _route(fake: FakeTrello, method: str, segments: list[str], fields: dict[str, Any]) -> tuple[int, Any]:
    if segments == ["1", "members", "me"] and method == "GET":
        return 200, MEMBER
    if segments == ["1", "cards"] and method == "POST":
        return 200, fake._create(fields)
    if len(segments) == 4 and segments[:2] == ["1", "lists"] and segments[3] == "cards" and method == "GET":
        list_id = segments[2]
        if not TRELLO_ID.match(list_id):
            raise _Refusal(400, "invalid id")
        if list_id not in fake.lists:
            raise _Refusal(404, NOT_FOUND)
        open_cards = [card for card in fake.cards if card["idList"] == list_id and not card["closed"]]
        return 200, sorted(open_cards, key=lambda card: card["pos"])
    if len(segments) >= 3 and segments[:2] == ["1", "cards"]:
        card = _card(fake, segments[2])
        rest = segments[3:]
        if not rest and method == "GET":
            return 200, card
        if not rest and method == "PUT":
            _apply(fake, card, fields)
            return 200, card
        if not rest and method == "DELETE":
            fake.cards.remove(card)
            return 200, {"limits": {}}
        if rest == ["actions", "comments"] and method == "POST":
            if not str(fields.get("text") or "").strip():
                raise _Refusal(400, "invalid value for text")
            action = {
                "id": f"{next(fake._ids):024x}",
                "idMemberCreator": MEMBER["id"],
                "type": "commentCard",
                "date": "2026-01-01T00:00:00.000Z",
                "data": {"text": fields["text"], "card": {"id": card["id"], "name": card["name"]}},
                "memberCreator": MEMBER,
            }
            fake.comments.append(action)
            return 200, action
    raise _Refusal(404, "Cannot " + method + " /" + "/".join(segments))


@contextmanager
def fake_trello_server() -> Iterator[FakeTrello]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeTrello, name="fake-trello") as fake:
        yield fake
