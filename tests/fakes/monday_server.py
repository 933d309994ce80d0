"""A real GraphQL server on 127.0.0.1 speaking the part of monday.com's API v2 the monday.com node uses (graphql-core).

Routes:
    ``POST /v2``    ``{"query", "variables"}`` with ``Authorization: <token>`` (the token itself), else HTTP 401 with an
                    ``UNAUTHENTICATED`` error; the ``API-Version`` header is recorded.

The schema (:data:`SDL`, a slice of monday.com's): ``me``; ``boards(ids)`` with ``items_page(limit, cursor)`` and
``groups(ids) { items_page }``; ``items(ids)``; ``next_items_page(cursor, limit)`` (``limit`` at most 500; cursors are
opaque, unknown ones are a ``CursorException``); ``create_item``, ``change_multiple_column_values``, ``archive_item``
and ``delete_item``. Column values arrive as JSON text (or an object) and are checked against the board's columns
(:data:`COLUMNS`): an unknown column is an ``InvalidColumnIdException``, a status label the column lacks (unless
``create_labels_if_missing``), a number that is not one or a malformed date a ``ColumnValueException``; an unknown
board is an ``InvalidBoardIdException``, group an ``InvalidGroupIdException``, item an ``InvalidItemIdException``, a
name over 255 characters an ``ItemNameTooLongException``. Application errors answer HTTP 200 with ``errors`` whose
``extensions`` carry ``code``, ``status_code`` and ``error_data``, as monday.com does; set
:attr:`FakeMonday.legacy_errors` to answer them in monday.com's older shape instead (HTTP 400 with ``error_code``,
``error_message``, ``error_data``), and :attr:`FakeMonday.rate_limited` to answer the next that many requests with
HTTP 429, ``RATE_LIMIT_EXCEEDED`` and ``Retry-After``. Every request is recorded.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import graphql

from tests.fakes.serving import FakeServer, serve

TOKEN = "eyJhbGciOiJIUzI1NiJ9.fakeFAKEfake.0123456789"
ACCOUNT_ID = 9876543
ME = {"id": "40001", "name": "Ada Lovelace", "email": "ada@acme.test"}
BOARD_ID = "1234567890"
GROUPS = {"topics": "This week", "new_group": "Next week"}
COLUMNS = {"name": "name", "status": "status", "text": "text", "numbers": "numbers", "date4": "date"}
STATUS_LABELS = {0: "Working on it", 1: "Done", 2: "Stuck"}
MAX_LIMIT = 500
VALUE_GUIDE = (
    "invalid value, please check our API documentation for the correct data structure for this column. "
    "https://developer.monday.com/api-reference/docs/change-column-values"
)

SDL = """
scalar JSON

type User { id: ID! name: String! email: String! }
type Board {
  id: ID! name: String! groups(ids: [String]): [Group] items_page(limit: Int, cursor: String): ItemsResponse!
}
type Group { id: ID! title: String! items_page(limit: Int, cursor: String): ItemsResponse! }
type ColumnValue { id: ID! type: String! text: String value: JSON }
type Item {
  id: ID! name: String! state: String created_at: String updated_at: String url: String!
  board: Board group: Group column_values(ids: [String!]): [ColumnValue!]!
}
type ItemsResponse { cursor: String items: [Item!]! }

type Query {
  me: User
  boards(ids: [ID!]): [Board]
  items(ids: [ID!]): [Item]
  next_items_page(cursor: String!, limit: Int): ItemsResponse!
}
type Mutation {
  create_item(
    board_id: ID!, group_id: String, item_name: String!, column_values: JSON, create_labels_if_missing: Boolean
  ): Item
  change_multiple_column_values(
    board_id: ID, item_id: ID, column_values: JSON!, create_labels_if_missing: Boolean
  ): Item
  archive_item(item_id: ID): Item
  delete_item(item_id: ID): Item
}
"""
SCHEMA = graphql.build_schema(SDL)


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; the JSON body)."""

    headers: dict[str, str]
    body: Any

    @property
    def query(self) -> str:
        return str(self.body.get("query") or "")

    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.body.get("variables") or {})


def _error(code: str, message: str, **data: Any) -> graphql.GraphQLError:
    return graphql.GraphQLError(message, extensions={"code": code, "status_code": 200, "error_data": data})


@dataclass
class FakeMonday:
    host: str
    port: int
    token: str = TOKEN
    boards: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {BOARD_ID: {"id": BOARD_ID, "name": "Launch plan", "labels": dict(STATUS_LABELS)}}
    )
    items: list[dict[str, Any]] = field(default_factory=list)
    """Every item not deleted, archived ones too (``state``), in creation order."""
    cursors: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)
    """Open cursors: board, group (or ``None``) and where the next page starts."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    legacy_errors: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(5_000_000_001))

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v2"

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        """The ``monday_api`` credential that reaches this server."""
        return {"token": token, "api_url": self.url}

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def add_item(self, name: str, group: str = "topics", **values: Any) -> dict[str, Any]:
        with self.lock:
            return self._create(BOARD_ID, group, name, values, create_labels=False)

    def item(self, item_id: str) -> dict[str, Any]:
        for item in self.items:
            if item["id"] == item_id:
                return item
        raise _error("InvalidItemIdException", "Item not found", item_id=item_id)

    def _board(self, board_id: str) -> dict[str, Any]:
        if board_id not in self.boards:
            raise _error(
                "InvalidBoardIdException",
                "The board does not exist. Please check your board ID and try again",
                board_id=board_id,
            )
        return self.boards[board_id]

    def _create(
        self, board_id: str, group: str | None, name: str, values: dict[str, Any], *, create_labels: bool
    ) -> dict[str, Any]:
        self._board(board_id)
        group = group or next(iter(GROUPS))
        if group not in GROUPS:
            raise _error("InvalidGroupIdException", "The group does not exist on the board", group_id=group)
        item = {
            "id": str(next(self._ids)),
            "name": "",
            "state": "active",
            "board_id": board_id,
            "group_id": group,
            "values": {},
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }
        self._write(item, {"name": name, **values}, create_labels)
        self.items.append(item)
        return item

    def _write(self, item: dict[str, Any], values: dict[str, Any], create_labels: bool) -> None:
        """Check every value against its column, then store them all (a refused value changes nothing)."""
        labels = self.boards[item["board_id"]]["labels"]
        stored: dict[str, Any] = {}
        for column, value in values.items():
            kind = COLUMNS.get(column)
            if kind is None:
                raise _error("InvalidColumnIdException", "This column ID doesn't exist for the board", column_id=column)
            stored[column] = _stored(column, kind, value, labels, create_labels)
        name = stored.pop("name", None)
        if name is not None:
            if not name.strip():
                raise _error("ColumnValueException", "Item name can't be empty", column_id="name", column_type="name")
            if len(name) > 255:
                raise _error("ItemNameTooLongException", "Item name is too long, maximum length is 255 characters")
            item["name"] = name
        item["values"].update(stored)
        item["updated_at"] = "2026-01-02T00:00:00Z"

    def json(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as the API answers it, nested objects included."""
        board = self.boards[item["board_id"]]
        return {
            "id": item["id"],
            "name": item["name"],
            "state": item["state"],
            "created_at": item["created_at"],
            "updated_at": item["updated_at"],
            "url": f"https://acme.monday.com/boards/{board['id']}/pulses/{item['id']}",
            "board": {"id": board["id"], "name": board["name"]},
            "group": {"id": item["group_id"], "title": GROUPS[item["group_id"]]},
            "column_values": [
                _column_value(column, kind, item, board["labels"]) for column, kind in COLUMNS.items() if kind != "name"
            ],
        }

    def page(self, board_id: str, group: str | None, start: int, limit: int | None) -> dict[str, Any]:
        size = 25 if limit is None else limit
        if not 1 <= size <= MAX_LIMIT:
            raise _error("InvalidArgumentException", f"limit must be between 1 and {MAX_LIMIT}")
        chosen = [
            i
            for i in self.items
            if i["board_id"] == board_id and i["state"] == "active" and group in (None, i["group_id"])
        ]
        chunk = chosen[start : start + size]
        cursor = None
        if start + size < len(chosen):
            cursor = f"MSw{uuid.uuid4().hex}"
            self.cursors[cursor] = (board_id, group, start + size)
        return {"cursor": cursor, "items": [self.json(item) for item in chunk]}


def _stored(column: str, kind: str, value: Any, labels: dict[int, str], create_labels: bool) -> Any:
    if kind in ("name", "text"):
        return str(value)
    if kind == "numbers":
        try:
            float(str(value))
        except ValueError as err:
            raise _error("ColumnValueException", VALUE_GUIDE, column_id=column, column_type="numbers") from err
        return str(value)
    if kind == "date":
        date = value.get("date") if isinstance(value, dict) else value
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(date)):
            raise _error("ColumnValueException", VALUE_GUIDE, column_id=column, column_type="date")
        return {"date": date}
    label = value.get("label") if isinstance(value, dict) else value
    if isinstance(value, dict) and "index" in value:
        if int(value["index"]) not in labels:
            raise _error("ColumnValueException", VALUE_GUIDE, column_id=column, column_type="status")
        return {"index": int(value["index"])}
    for index, known in labels.items():
        if known == label:
            return {"index": index}
    if not create_labels:
        possible = ", ".join(f"{index}: {name}" for index, name in labels.items())
        raise _error(
            "ColumnValueException",
            f"This status label doesn't exist, possible statuses are: {{{possible}}}",
            column_id=column,
            column_type="status",
        )
    labels[max(labels) + 1] = str(label)
    return {"index": max(labels)}


def _column_value(column: str, kind: str, item: dict[str, Any], labels: dict[int, str]) -> dict[str, Any]:
    stored = item["values"].get(column)
    if stored is None:
        return {"id": column, "type": kind, "text": "", "value": None}
    if kind == "status":
        text = labels[stored["index"]]
    elif kind == "date":
        text = stored["date"]
    else:
        text = stored
    return {"id": column, "type": kind, "text": text, "value": json.dumps(stored)}


def _values(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise _error("JsonParseException", "column_values is not valid JSON") from err
    if not isinstance(raw, dict):
        raise _error("JsonParseException", "column_values must be a JSON object")
    return raw


def _items_page(fake: FakeMonday, board_id: str, group: str | None) -> Callable[..., dict[str, Any]]:
    def resolve(_info: Any, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        if cursor:
            return _Root.next_items_page(_info, cursor, limit)
        return fake.page(board_id, group, 0, limit)

    return resolve


def _board(fake: FakeMonday, board: dict[str, Any]) -> dict[str, Any]:
    def groups(_info: Any, ids: list[str] | None = None) -> list[dict[str, Any]]:
        chosen = [group for group in GROUPS if ids is None or group in ids]
        return [
            {"id": group, "title": GROUPS[group], "items_page": _items_page(fake, board["id"], group)}
            for group in chosen
        ]

    return {
        "id": board["id"],
        "name": board["name"],
        "groups": groups,
        "items_page": _items_page(fake, board["id"], None),
    }


class _Root:
    """Resolvers of the top-level fields; ``info.context`` is the fake, whose lock the handler holds."""

    @staticmethod
    def me(_info: Any) -> dict[str, Any]:
        return ME

    @staticmethod
    def boards(info: Any, ids: list[str] | None = None) -> list[dict[str, Any]]:
        fake: FakeMonday = info.context
        return [_board(fake, board) for board_id, board in fake.boards.items() if ids is None or board_id in ids]

    @staticmethod
    def items(info: Any, ids: list[str] | None = None) -> list[dict[str, Any]]:
        fake: FakeMonday = info.context
        return [fake.json(item) for item in fake.items if ids is None or item["id"] in ids]

    @staticmethod
    def next_items_page(info: Any, cursor: str, limit: int | None = None) -> dict[str, Any]:
        fake: FakeMonday = info.context
        if cursor not in fake.cursors:
            raise _error("CursorException", "Cursor not found or expired: start again from items_page")
        board_id, group, start = fake.cursors.pop(cursor)
        return fake.page(board_id, group, start, limit)

    @staticmethod
    def create_item(
        info: Any,
        board_id: str,
        item_name: str,
        group_id: str | None = None,
        column_values: Any = None,
        create_labels_if_missing: bool = False,
    ) -> dict[str, Any]:
        fake: FakeMonday = info.context
        values = _values(column_values)
        item = fake._create(board_id, group_id, item_name, values, create_labels=bool(create_labels_if_missing))
        return fake.json(item)

    @staticmethod
    def change_multiple_column_values(
        info: Any,
        column_values: Any,
        board_id: str | None = None,
        item_id: str | None = None,
        create_labels_if_missing: bool = False,
    ) -> dict[str, Any]:
        fake: FakeMonday = info.context
        fake._board(str(board_id))
        item = fake.item(str(item_id))
        if item["board_id"] != board_id:
            raise _error("InvalidItemIdException", "Item not found in board", item_id=item_id, board_id=board_id)
        fake._write(item, _values(column_values), bool(create_labels_if_missing))
        return fake.json(item)

    @staticmethod
    def archive_item(info: Any, item_id: str | None = None) -> dict[str, Any]:
        fake: FakeMonday = info.context
        item = fake.item(str(item_id))
        item["state"] = "archived"
        return fake.json(item)

    @staticmethod
    def delete_item(info: Any, item_id: str | None = None) -> dict[str, Any]:
        fake: FakeMonday = info.context
        item = fake.item(str(item_id))
        fake.items.remove(item)
        return {**fake.json(item), "state": "deleted"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeMonday]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = json.loads(raw) if raw and headers.get("content-type", "").startswith("application/json") else {}
        with fake.lock:
            fake.requests.append(Received(headers, request))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if self.path != "/v2":
            self._json(404, {"error_message": f"Cannot POST {self.path}", "status_code": 404})
            return
        if limited:
            error = {
                "message": "Rate limit exceeded for the minute, please try again later",
                "extensions": {"code": "RATE_LIMIT_EXCEEDED", "status_code": 429, "retry_in_seconds": 17},
            }
            self._json(429, {"errors": [error], "account_id": ACCOUNT_ID}, {"Retry-After": "17"})
            return
        if headers.get("authorization") != fake.token:
            error = {"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED", "status_code": 401}}
            self._json(401, {"errors": [error]})
            return
        if not isinstance(request.get("query"), str):
            self._json(400, {"errors": [{"message": "No query string was present"}]})
            return
        with fake.lock:
            result = graphql.graphql_sync(
                SCHEMA,
                request["query"],
                root_value=_Root,
                context_value=fake,
                variable_values=request.get("variables"),
                operation_name=request.get("operationName"),
            )
        answer = {**result.formatted, "account_id": ACCOUNT_ID, "extensions": {"request_id": uuid.uuid4().hex}}
        if result.errors and fake.legacy_errors:
            extensions = result.errors[0].extensions or {}
            legacy = {
                "error_code": extensions.get("code"),
                "error_message": result.errors[0].message,
                "error_data": extensions.get("error_data") or {},
                "status_code": 400,
                "account_id": ACCOUNT_ID,
            }
            self._json(400, legacy)
            return
        self._json(200, answer)


@contextmanager
def fake_monday_server() -> Iterator[FakeMonday]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeMonday, name="fake-monday") as fake:
        yield fake
