"""A real HTTP server on 127.0.0.1 speaking the part of the Notion API (version 2022-06-28) the Notion nodes use.

Routes (``Authorization: Bearer <token>`` else 401 ``unauthorized``; ``Notion-Version`` else 400 ``missing_version``):
    ``GET /v1/users/me``                   the integration's bot user.
    ``GET /v1/databases/<id>``             a database and its property schema.
    ``POST /v1/databases/<id>/query``      its pages that are not archived: ``filter`` (a property filter with
                                           ``equals``, ``does_not_equal``, ``contains``, ``greater_than``,
                                           ``less_than``, ``is_empty``, ``is_not_empty``; or ``and``/``or`` lists),
                                           ``sorts`` (by property or ``created_time``), ``page_size`` (at most 100)
                                           and ``start_cursor``.
    ``POST /v1/pages``                     a page in a database; property values are checked against the schema.
    ``GET|PATCH /v1/pages/<id>``           read, set ``properties`` (refused while archived) or ``archived``.
    ``GET|PATCH /v1/blocks/<id>/children`` list (paginated like queries, the cursor in the query string) or append
                                           ``children`` (at most 100) at the end or ``after`` a child.
Errors are Notion's ``{"object": "error", "status", "code", "message"}``: 404 ``object_not_found`` for unknown or
unshared ids, 400 ``validation_error`` for bad bodies. Set :attr:`FakeNotion.rate_limited` to answer the next that many
requests with 429 ``rate_limited``. Ids are accepted with or without dashes, as Notion does.

Use it as a context manager::

    with fake_notion_server() as notion:
        tasks = notion.add_database("Tasks", {"Name": "title", "Done": "checkbox"})
        notion.add_page(tasks, {"Name": "Write docs", "Done": True})
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "secret_FAKEnotionIntegrationToken0123"
NOTION_VERSION = "2022-06-28"
MAX_PAGE_SIZE = 100
EMPTY = {
    "title": [],
    "rich_text": [],
    "number": None,
    "select": None,
    "status": None,
    "multi_select": [],
    "date": None,
    "checkbox": False,
    "url": None,
    "email": None,
    "phone_number": None,
    "people": [],
    "relation": [],
}
SHARE_HINT = "Make sure the relevant pages and databases are shared with your integration."


class NotionError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.body = {"object": "error", "status": status, "code": code, "message": message}
        self.status = status


def invalid(message: str) -> NotionError:
    return NotionError(400, "validation_error", message)


def canonical(raw: str) -> str:
    """Notion takes ids with or without dashes; the fake stores them dashed."""
    compact = raw.replace("-", "").lower()
    if not re.fullmatch(r"[0-9a-f]{32}", compact):
        raise invalid(f'path failed validation: path.id should be a valid uuid, instead was `"{raw}"`.')
    return str(uuid.UUID(compact))


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeNotion:
    host: str
    port: int
    token: str = TOKEN
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    """Child block ids of every page and block, in order."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    _clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _now(self) -> str:
        tick = next(self._clock)
        return f"2024-05-01T{tick // 3600 % 24:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}.000Z"

    def add_database(self, title: str, schema: dict[str, str]) -> str:
        """A database with these properties (name → type); returns its id."""
        database_id = str(uuid.uuid4())
        properties = {
            name: {"id": f"p{position}", "name": name, "type": kind, kind: {}}
            for position, (name, kind) in enumerate(schema.items())
        }
        with self.lock:
            self.databases[database_id] = {
                "object": "database",
                "id": database_id,
                "created_time": self._now(),
                "title": _rich(title),
                "properties": properties,
                "url": f"https://www.notion.so/{database_id.replace('-', '')}",
                "archived": False,
            }
        return database_id

    def add_page(self, database_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """A page with simple values (text, numbers, names...), stored as Notion would return it."""
        schema = self.databases[database_id]["properties"]
        properties = {}
        for name, value in values.items():
            kind = schema[name]["type"]
            properties[name] = _request_value(kind, value)
        with self.lock:
            return self._create_page(database_id, properties)

    def received(self, method: str | None = None, prefix: str = "/v1/") -> list[Received]:
        with self.lock:
            return [
                request
                for request in self.requests
                if request.path.startswith(prefix) and (method is None or request.method == method)
            ]

    def page_children(self, page_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [self.blocks[child] for child in self.children.get(page_id, [])]

    def _create_page(self, database_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        schema = self.databases[database_id]["properties"]
        stored = {}
        for name, definition in schema.items():
            kind = definition["type"]
            value = properties.get(name, {kind: EMPTY.get(kind)})
            stored[name] = {"id": definition["id"], "type": kind, kind: _stored(kind, value)}
        unknown = [name for name in properties if name not in schema]
        if unknown:
            raise invalid(f"{unknown[0]} is not a property that exists.")
        page_id = str(uuid.uuid4())
        now = self._now()
        page = {
            "object": "page",
            "id": page_id,
            "created_time": now,
            "last_edited_time": now,
            "archived": False,
            "parent": {"type": "database_id", "database_id": database_id},
            "properties": stored,
            "url": f"https://www.notion.so/{page_id.replace('-', '')}",
        }
        self.pages[page_id] = page
        self.children[page_id] = []
        return page


def _rich(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "text",
            "text": {"content": text, "link": None},
            "annotations": {"bold": False, "italic": False, "code": False, "color": "default"},
            "plain_text": text,
            "href": None,
        }
    ]


def _request_value(kind: str, value: Any) -> dict[str, Any]:
    """A simple value as a property in a request body (what a client sends)."""
    if kind in ("title", "rich_text"):
        return {kind: [{"text": {"content": str(value)}}]}
    if kind in ("select", "status"):
        return {kind: {"name": value}}
    if kind == "multi_select":
        return {kind: [{"name": name} for name in value]}
    if kind == "date":
        return {kind: {"start": value}}
    if kind == "people":
        return {kind: [{"object": "user", "id": user} for user in value]}
    if kind == "relation":
        return {kind: [{"id": page} for page in value]}
    return {kind: value}


def _stored(kind: str, request: Any) -> Any:
    """A property value from a request body, checked, as Notion answers it."""
    if not isinstance(request, dict) or kind not in request:
        raise invalid(f"body failed validation: the property is expected to be {kind}.")
    value = request[kind]
    if kind in ("title", "rich_text"):
        if not isinstance(value, list):
            raise invalid(f"body failed validation: {kind} should be an array.")
        for part in value:
            content = (part.get("text") or {}).get("content")
            if not isinstance(content, str) or len(content) > 2000:
                raise invalid(f"body failed validation: {kind}.text.content.length should be ≤ `2000`.")
        return [_rich(part["text"]["content"])[0] for part in value]
    if kind == "number" and value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise invalid(
            f"body failed validation: number should be a number or `null`, instead was `{json.dumps(value)}`."
        )
    if kind in ("select", "status"):
        return None if value is None else {"id": f"opt-{value['name']}", "name": value["name"], "color": "default"}
    if kind == "multi_select":
        return [{"id": f"opt-{entry['name']}", "name": entry["name"], "color": "default"} for entry in value]
    if kind == "date":
        return None if value is None else {"start": value["start"], "end": value.get("end"), "time_zone": None}
    if kind == "checkbox" and not isinstance(value, bool):
        raise invalid("body failed validation: checkbox should be a boolean.")
    if kind == "people":
        return [{"object": "user", "id": entry["id"]} for entry in value]
    if kind == "relation":
        return [{"id": entry["id"]} for entry in value]
    return value


def _plain(prop: dict[str, Any]) -> Any:
    kind = prop["type"]
    value = prop[kind]
    if kind in ("title", "rich_text"):
        return "".join(part["plain_text"] for part in value)
    if kind in ("select", "status"):
        return value["name"] if value else None
    if kind == "multi_select":
        return [entry["name"] for entry in value]
    if kind == "date":
        return value["start"] if value else None
    return value


def _matches(page: dict[str, Any], condition: dict[str, Any], schema: dict[str, Any]) -> bool:
    if "and" in condition:
        return all(_matches(page, part, schema) for part in condition["and"])
    if "or" in condition:
        return any(_matches(page, part, schema) for part in condition["or"])
    name = condition.get("property")
    if name not in schema:
        raise invalid(f"Could not find property with name or id: {name}")
    kind = schema[name]["type"]
    if kind not in condition:
        raise invalid(f"body failed validation: the filter on {name} is expected to use {kind}.")
    ((operator, expected),) = condition[kind].items()
    actual = _plain(page["properties"][name])
    match operator:
        case "equals":
            return actual == expected
        case "does_not_equal":
            return actual != expected
        case "contains":
            return expected in actual if isinstance(actual, list | str) else False
        case "greater_than":
            return actual is not None and actual > expected
        case "less_than":
            return actual is not None and actual < expected
        case "is_empty":
            return actual in (None, "", [])
        case "is_not_empty":
            return actual not in (None, "", [])
    raise invalid(f"body failed validation: unknown filter condition {operator}.")


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "" or value == []:
        return (2, 0)
    if isinstance(value, bool | int | float):
        return (0, float(value))
    return (1, str(value))


def _page_of(entries: list[dict[str, Any]], page_size: Any, cursor: Any) -> dict[str, Any]:
    try:
        size = int(page_size if page_size is not None else MAX_PAGE_SIZE)
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid(f"body failed validation: page_size should be ≤ `{MAX_PAGE_SIZE}`, instead was `{page_size}`.")
    start = 0
    if cursor is not None:
        ids = [entry["id"] for entry in entries]
        if cursor not in ids:
            raise invalid(f"start_cursor provided is invalid: {cursor}")
        start = ids.index(cursor)
    page = entries[start : start + size]
    more = start + size < len(entries)
    return {
        "object": "list",
        "results": json.loads(json.dumps(page)),
        "next_cursor": entries[start + size]["id"] if more else None,
        "has_more": more,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeNotion]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
            self._json(400, NotionError(400, "invalid_json", "Error parsing JSON body.").body)
            return
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            if limited:
                fake.rate_limited -= 1
        try:
            if headers.get("authorization") != f"Bearer {fake.token}":
                raise NotionError(401, "unauthorized", "API token is invalid.")
            if headers.get("notion-version") != NOTION_VERSION:
                raise NotionError(400, "missing_version", "Notion-Version header failed validation.")
            if limited:
                raise NotionError(429, "rate_limited", "You have been rate limited. Please try again in a few minutes.")
            with fake.lock:
                answer = self._route(fake, parts.path.split("/")[1:], query, body if isinstance(body, dict) else {})
        except NotionError as err:
            self._json(err.status, err.body)
            return
        self._json(200, answer)

    def _route(self, fake: FakeNotion, path: list[str], query: dict[str, str], body: dict[str, Any]) -> Any:
        method = self.command
        match path:
            case ["v1", "users", "me"] if method == "GET":
                return {"object": "user", "id": "bot-0001", "type": "bot", "name": "HITL Studio", "bot": {}}
            case ["v1", "databases", raw] if method == "GET":
                return json.loads(json.dumps(self._database(fake, raw)))
            case ["v1", "databases", raw, "query"] if method == "POST":
                return self._query(fake, self._database(fake, raw), body)
            case ["v1", "pages"] if method == "POST":
                parent = (body.get("parent") or {}).get("database_id")
                if not parent:
                    raise invalid("body failed validation: body.parent.database_id should be defined.")
                database = self._database(fake, parent)
                properties = body.get("properties")
                if not isinstance(properties, dict):
                    raise invalid("body failed validation: body.properties should be an object.")
                return json.loads(json.dumps(fake._create_page(database["id"], properties)))
            case ["v1", "pages", raw] if method == "GET":
                return json.loads(json.dumps(self._page(fake, raw)))
            case ["v1", "pages", raw] if method == "PATCH":
                return self._update(fake, self._page(fake, raw), body)
            case ["v1", "blocks", raw, "children"] if method == "GET":
                parent = self._parent(fake, raw)
                entries = [fake.blocks[child] for child in fake.children[parent]]
                return _page_of(entries, query.get("page_size"), query.get("start_cursor"))
            case ["v1", "blocks", raw, "children"] if method == "PATCH":
                return self._append(fake, self._parent(fake, raw), body)
        raise NotionError(400, "invalid_request_url", "Invalid request URL.")

    @staticmethod
    def _database(fake: FakeNotion, raw: str) -> dict[str, Any]:
        database_id = canonical(raw)
        if database_id not in fake.databases:
            raise NotionError(404, "object_not_found", f"Could not find database with ID: {database_id}. {SHARE_HINT}")
        return fake.databases[database_id]

    @staticmethod
    def _page(fake: FakeNotion, raw: str) -> dict[str, Any]:
        page_id = canonical(raw)
        if page_id not in fake.pages:
            raise NotionError(404, "object_not_found", f"Could not find page with ID: {page_id}. {SHARE_HINT}")
        return fake.pages[page_id]

    @staticmethod
    def _parent(fake: FakeNotion, raw: str) -> str:
        block_id = canonical(raw)
        if block_id not in fake.children:
            raise NotionError(404, "object_not_found", f"Could not find block with ID: {block_id}. {SHARE_HINT}")
        return block_id

    @staticmethod
    def _query(fake: FakeNotion, database: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        schema = database["properties"]
        pages = [
            page
            for page in fake.pages.values()
            if page["parent"].get("database_id") == database["id"] and not page["archived"]
        ]
        if body.get("filter"):
            pages = [page for page in pages if _matches(page, body["filter"], schema)]
        for rule in reversed(body.get("sorts") or []):
            descending = rule.get("direction") == "descending"
            if rule.get("timestamp") == "created_time":
                pages.sort(key=lambda page: page["created_time"], reverse=descending)
                continue
            name = rule.get("property")
            if name not in schema:
                raise invalid(f"Could not find sort property with name or id: {name}")
            pages.sort(key=lambda page, n=name: _sort_key(_plain(page["properties"][n])), reverse=descending)
        return _page_of(pages, body.get("page_size"), body.get("start_cursor"))

    @staticmethod
    def _update(fake: FakeNotion, page: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        properties = body.get("properties") or {}
        if properties and page["archived"] and body.get("archived") is not False:
            raise invalid("Can't edit block that is archived. You must unarchive the block before editing.")
        schema = fake.databases[page["parent"]["database_id"]]["properties"]
        changed = {}
        for name, value in properties.items():
            if name not in schema:
                raise invalid(f"{name} is not a property that exists.")
            kind = schema[name]["type"]
            changed[name] = {"id": schema[name]["id"], "type": kind, kind: _stored(kind, value)}
        page["properties"].update(changed)
        if "archived" in body:
            page["archived"] = bool(body["archived"])
        page["last_edited_time"] = fake._now()
        return json.loads(json.dumps(page))

    @staticmethod
    def _append(fake: FakeNotion, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        children = body.get("children")
        if not isinstance(children, list) or not children:
            raise invalid("body failed validation: body.children should be defined, instead was `undefined`.")
        if len(children) > MAX_PAGE_SIZE:
            raise invalid(
                f"body failed validation: body.children.length should be ≤ `{MAX_PAGE_SIZE}`, "
                f"instead was `{len(children)}`."
            )
        position = len(fake.children[parent])
        if body.get("after"):
            after = canonical(body["after"])
            if after not in fake.children[parent]:
                raise invalid(f"Block {after} is not a child of {parent}.")
            position = fake.children[parent].index(after) + 1
        created = []
        for child in children:
            kind = child.get("type") if isinstance(child, dict) else None
            content = child.get(kind) if kind else None
            if not isinstance(content, dict) or not isinstance(content.get("rich_text"), list):
                raise invalid("body failed validation: each child needs a type and its rich_text.")
            block_id = str(uuid.uuid4())
            stored = {key: value for key, value in content.items() if key != "rich_text"}
            stored["rich_text"] = [_rich(part["text"]["content"])[0] for part in content["rich_text"]]
            block = {
                "object": "block",
                "id": block_id,
                "parent": {"type": "page_id" if parent in fake.pages else "block_id", "page_id": parent},
                "created_time": fake._now(),
                "has_children": False,
                "archived": False,
                "type": kind,
                kind: stored,
            }
            fake.blocks[block_id] = block
            fake.children[block_id] = []
            created.append(block)
        fake.children[parent][position:position] = [block["id"] for block in created]
        return {
            "object": "list",
            "results": json.loads(json.dumps(created)),
            "next_cursor": None,
            "has_more": False,
            "type": "block",
            "block": {},
        }

    do_GET = do_POST = do_PATCH = _handle


@contextmanager
def fake_notion_server() -> Iterator[FakeNotion]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeNotion, name="fake-notion") as fake:
        yield fake
