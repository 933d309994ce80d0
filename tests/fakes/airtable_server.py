"""A real HTTP server on 127.0.0.1 speaking the part of Airtable's Web API the Airtable nodes use.

Routes (``Authorization: Bearer <token>``, else 401 ``AUTHENTICATION_REQUIRED``):
    ``GET /v0/meta/whoami``                  the token's user.
    ``GET /v0/<base>/<table>``               list: ``filterByFormula`` (``{Field} = 'text'`` or ``{Field} = 12``,
                                             else 422 ``INVALID_FILTER_BY_FORMULA``), ``view`` (a name in the table's
                                             ``views``, else 422 ``VIEW_NAME_NOT_FOUND``), ``fields[]``,
                                             ``sort[n][field|direction]``, ``maxRecords``, ``pageSize`` (at most 100,
                                             else 422) and ``offset`` (the opaque token of the page before).
    ``GET /v0/<base>/<table>/<record>``      one record, or 404 ``{"error": "NOT_FOUND"}`` (Airtable's short form).
    ``POST /v0/<base>/<table>``              create ``records`` (at most 10, else 422 ``INVALID_RECORDS``).
    ``PATCH /v0/<base>/<table>``             update ``records`` by id (only the given fields), or with
                                             ``performUpsert.fieldsToMergeOn`` create-or-update by those fields.
    ``DELETE /v0/<base>/<table>?records[]=`` delete up to 10 records.
Tables are found by name or id; an unknown base is 403 ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND``, an unknown
table 404 ``TABLE_NOT_FOUND``. Writes check field names against the table's ``schema`` (422
``UNKNOWN_FIELD_NAME``) and values of ``number`` fields (422 ``INVALID_VALUE_FOR_COLUMN`` unless ``typecast``).
Set :attr:`FakeAirtable.rate_limited` to answer the next that many requests with 429.

Use it as a context manager::

    with fake_airtable_server() as airtable:
        airtable.add_table("appBase", "Tasks", {"Name": "text", "Points": "number"})
        airtable.add_record("appBase", "Tasks", {"Name": "Write docs", "Points": 3})
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "patFAKE.0123456789abcdef"
MAX_RECORDS_PER_REQUEST = 10
MAX_PAGE_SIZE = 100
FORMULA = re.compile(r"^\{([^}]+)\}\s*=\s*(?:'([^']*)'|(-?\d+(?:\.\d+)?))$")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; ``query`` keeps repeated names in order)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


class _Refusal(Exception):
    def __init__(self, status: int, kind: str, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body: Any = {"error": {"type": kind, "message": message}} if message else {"error": kind}


@dataclass
class FakeAirtable:
    host: str
    port: int
    token: str = TOKEN
    bases: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Tables of each base by name: ``{"id", "schema": {field: "text"|"number"|...}, "records", "views"}``."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_table(self, base: str, name: str, schema: dict[str, str]) -> dict[str, Any]:
        table = {"id": f"tbl{next(self._ids):014d}", "schema": dict(schema), "records": [], "views": {}}
        with self.lock:
            self.bases.setdefault(base, {})[name] = table
        return table

    def add_record(self, base: str, table: str, fields: dict[str, Any]) -> dict[str, Any]:
        record = {
            "id": f"rec{next(self._ids):014d}",
            "createdTime": "2024-05-01T12:00:00.000Z",
            "fields": dict(fields),
        }
        with self.lock:
            self.bases[base][table]["records"].append(record)
        return record

    def records(self, base: str, table: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(record, fields=dict(record["fields"])) for record in self.bases[base][table]["records"]]

    def received(self, method: str | None = None) -> list[Received]:
        """The data requests (not ``/v0/meta``), oldest first; only those of ``method`` when given."""
        with self.lock:
            return [
                request
                for request in self.requests
                if not request.path.startswith("/v0/meta") and (method is None or request.method == method)
            ]

    def table(self, base: str, name: str) -> dict[str, Any]:
        tables = self.bases.get(base)
        if tables is None:
            raise _Refusal(
                403,
                "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                "Invalid permissions, or the requested model was not found. Check that both your user and your token "
                "have the required permissions, and that the model names and/or ids are correct.",
            )
        for table_name, table in tables.items():
            if name in (table_name, table["id"]):
                return table
        raise _Refusal(404, "TABLE_NOT_FOUND", f"Could not find table {name} in application {base}")

    def check_fields(self, table: dict[str, Any], fields: dict[str, Any], typecast: bool) -> dict[str, Any]:
        checked = {}
        for name, value in fields.items():
            kind = table["schema"].get(name)
            if kind is None:
                raise _Refusal(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')
            if kind == "number" and value is not None and not isinstance(value, int | float):
                if not typecast:
                    raise _Refusal(
                        422,
                        "INVALID_VALUE_FOR_COLUMN",
                        f'Field "{name}" cannot accept the provided value: {json.dumps(value)}',
                    )
                try:
                    value = float(value) if "." in str(value) else int(value)
                except ValueError:
                    value = None
            checked[name] = value
        return checked


def _matches(record: dict[str, Any], formula: str) -> bool:
    match = FORMULA.match(formula.strip())
    if not match:
        raise _Refusal(422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {formula}")
    value = record["fields"].get(match.group(1))
    if match.group(3) is not None:
        return isinstance(value, int | float) and float(value) == float(match.group(3))
    return ("" if value is None else str(value)) == match.group(2)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeAirtable]

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
        query = parse_qsl(parts.query, keep_blank_values=True)
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._json(422, {"error": {"type": "INVALID_REQUEST_BODY", "message": "Could not parse request body"}})
            return
        with fake.lock:
            fake.requests.append(Received(self.command, unquote(parts.path), query, headers, body))
            limited = fake.rate_limited > 0
            if limited:
                fake.rate_limited -= 1
        if headers.get("authorization") != f"Bearer {fake.token}":
            self._json(401, {"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}})
            return
        if limited:
            self._json(
                429,
                {"error": {"type": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}},
            )
            return
        try:
            status, answer = self._route(fake, [unquote(part) for part in parts.path.split("/")[1:]], query, body)
        except _Refusal as refusal:
            self._json(refusal.status, refusal.body)
            return
        self._json(status, answer)

    def _route(self, fake: FakeAirtable, path: list[str], query: list[tuple[str, str]], body: Any) -> tuple[int, Any]:
        if path == ["v0", "meta", "whoami"]:
            return 200, {"id": "usrFAKE00000001", "email": "ada@example.com"}
        if len(path) not in (3, 4) or path[0] != "v0":
            raise _Refusal(404, "NOT_FOUND", f"Could not find what you are looking for: /{'/'.join(path)}")
        with fake.lock:
            table = fake.table(path[1], path[2])
            if len(path) == 4:
                if self.command != "GET":
                    raise _Refusal(404, "NOT_FOUND", "This fake only reads single records")
                return 200, self._one(table, path[3])
            match self.command:
                case "GET":
                    return 200, self._list(table, query)
                case "POST":
                    return 200, self._create(fake, table, body or {})
                case "PATCH":
                    return 200, self._update(fake, table, body or {})
                case "DELETE":
                    return 200, self._delete(table, [value for key, value in query if key == "records[]"])
        raise _Refusal(404, "NOT_FOUND")

    @staticmethod
    def _one(table: dict[str, Any], record_id: str) -> dict[str, Any]:
        for record in table["records"]:
            if record["id"] == record_id:
                return json.loads(json.dumps(record))
        raise _Refusal(404, "NOT_FOUND")

    @staticmethod
    def _list(table: dict[str, Any], query: list[tuple[str, str]]) -> dict[str, Any]:
        args: dict[str, str] = dict(query)
        records = list(table["records"])
        view = args.get("view")
        if view is not None:
            if view not in table["views"]:
                raise _Refusal(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{view}" in table')
            records = [record for record in records if record["id"] in table["views"][view]]
        if args.get("filterByFormula"):
            records = [record for record in records if _matches(record, args["filterByFormula"])]
        sorts: list[tuple[str, str]] = []
        for position in itertools.count():
            name = args.get(f"sort[{position}][field]")
            if name is None:
                break
            sorts.append((name, args.get(f"sort[{position}][direction]", "asc")))
        for name, direction in reversed(sorts):
            if name not in table["schema"]:
                raise _Refusal(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')
            records.sort(key=lambda r, n=name: _sort_key(r["fields"].get(n)), reverse=direction == "desc")
        if "maxRecords" in args:
            records = records[: int(args["maxRecords"])]
        page_size = int(args.get("pageSize", MAX_PAGE_SIZE))
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _Refusal(422, "INVALID_PAGE_SIZE", f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        start = 0
        if "offset" in args:
            found = re.fullmatch(r"itrFAKE/(\d+)", args["offset"])
            if not found:
                raise _Refusal(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is no longer valid")
            start = int(found.group(1))
        page = records[start : start + page_size]
        wanted = [value for key, value in query if key == "fields[]"]
        answer: dict[str, Any] = {
            "records": [
                {**record, "fields": {k: v for k, v in record["fields"].items() if not wanted or k in wanted}}
                for record in page
            ]
        }
        if start + page_size < len(records):
            answer["offset"] = f"itrFAKE/{start + page_size}"
        return json.loads(json.dumps(answer))

    @staticmethod
    def _batch(body: dict[str, Any], verb: str) -> list[dict[str, Any]]:
        records = body.get("records")
        if not isinstance(records, list) or not records:
            raise _Refusal(422, "INVALID_REQUEST_MISSING_FIELDS", 'Could not find field "records" in the request body')
        if len(records) > MAX_RECORDS_PER_REQUEST:
            raise _Refusal(
                422,
                "INVALID_RECORDS",
                f"You can {verb} at most {MAX_RECORDS_PER_REQUEST} records per request; got {len(records)}",
            )
        return records

    def _create(self, fake: FakeAirtable, table: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        records = self._batch(body, "create")
        checked = [fake.check_fields(table, entry.get("fields") or {}, bool(body.get("typecast"))) for entry in records]
        created = [self._new(fake, table, fields) for fields in checked]
        return {"records": json.loads(json.dumps(created))}

    @staticmethod
    def _new(fake: FakeAirtable, table: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        record = {"id": f"rec{next(fake._ids):014d}", "createdTime": "2024-06-01T09:00:00.000Z", "fields": fields}
        table["records"].append(record)
        return record

    def _update(self, fake: FakeAirtable, table: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        records = self._batch(body, "update")
        typecast = bool(body.get("typecast"))
        upsert = body.get("performUpsert")
        by_id = {record["id"]: record for record in table["records"]}
        changes = []
        for entry in records:
            fields = fake.check_fields(table, entry.get("fields") or {}, typecast)
            if upsert is None:
                if entry.get("id") not in by_id:
                    raise _Refusal(404, "MODEL_ID_NOT_FOUND", f'Could not find a record with ID "{entry.get("id")}".')
                changes.append((by_id[entry["id"]], fields))
                continue
            merge_on = upsert.get("fieldsToMergeOn") or []
            if not merge_on or any(name not in table["schema"] for name in merge_on):
                raise _Refusal(422, "INVALID_FIELDS_TO_MERGE_ON", f"Invalid fieldsToMergeOn: {merge_on}")
            if any(name not in fields for name in merge_on):
                raise _Refusal(422, "INVALID_RECORDS", "Each record must have a value for every field to merge on")
            matches = [r for r in table["records"] if all(r["fields"].get(n) == fields[n] for n in merge_on)]
            if len(matches) > 1:
                raise _Refusal(422, "INVALID_RECORDS", "More than one record matches the fields to merge on")
            changes.append((matches[0] if matches else None, fields))
        answer_records, created_ids, updated_ids = [], [], []
        for record, fields in changes:
            if record is None:
                record = self._new(fake, table, fields)
                created_ids.append(record["id"])
            else:
                record["fields"].update(fields)
                updated_ids.append(record["id"])
            answer_records.append(record)
        answer: dict[str, Any] = {"records": json.loads(json.dumps(answer_records))}
        if upsert is not None:
            answer.update(createdRecords=created_ids, updatedRecords=updated_ids)
        return answer

    @staticmethod
    def _delete(table: dict[str, Any], ids: list[str]) -> dict[str, Any]:
        if not ids:
            raise _Refusal(422, "INVALID_REQUEST_MISSING_FIELDS", "Give the records to delete as records[]")
        if len(ids) > MAX_RECORDS_PER_REQUEST:
            raise _Refusal(
                422,
                "INVALID_RECORDS",
                f"You can delete at most {MAX_RECORDS_PER_REQUEST} records per request; got {len(ids)}",
            )
        known = {record["id"] for record in table["records"]}
        missing = [record_id for record_id in ids if record_id not in known]
        if missing:
            raise _Refusal(404, "MODEL_ID_NOT_FOUND", f'Could not find a record with ID "{missing[0]}".')
        table["records"] = [record for record in table["records"] if record["id"] not in ids]
        return {"records": [{"id": record_id, "deleted": True} for record_id in ids]}

    do_GET = do_POST = do_PATCH = do_DELETE = _handle


@contextmanager
def fake_airtable_server() -> Iterator[FakeAirtable]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeAirtable, name="fake-airtable") as fake:
        yield fake
