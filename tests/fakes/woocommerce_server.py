"""A real HTTP server on 127.0.0.1 speaking the part of the WooCommerce REST API v3 the WooCommerce nodes use.

Routes (HTTP basic ``<consumer key>:<consumer secret>``, else 401 ``woocommerce_rest_authentication_error`` naming
the wrong part, or ``woocommerce_rest_cannot_view`` without credentials), all under ``/wp-json/wc/v3``:
    ``GET /data/currencies/current``          the store's currency.
    ``GET|POST /orders``                      list newest first (``status``, ``customer``, ``after``; ``page`` and
                                              ``per_page`` up to 100, with ``X-WP-Total`` and ``X-WP-TotalPages``),
                                              or create (400 ``woocommerce_rest_invalid_product_id`` for a product not
                                              in :data:`PRODUCTS`, ``rest_invalid_param`` for a malformed billing
                                              email); ``set_paid`` makes the order processing.
    ``GET|PUT|DELETE /orders/<id>``           one order; update (status, addresses merged, customer note); delete
                                              with ``force=true``, or move to the bin (a second time: 410
                                              ``woocommerce_rest_already_trashed``).
    ``POST /orders/<id>/notes``               add a note (``note``, ``customer_note``).
Unknown orders are 404 ``woocommerce_rest_shop_order_invalid_id``; other paths 404 ``rest_no_route``. Every request
is recorded, and the notes of each order are kept.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.serving import FakeServer, serve

CONSUMER_KEY = "ck_fake0123456789abcdef0123456789abcdef01"
CONSUMER_SECRET = "cs_fake0123456789abcdef0123456789abcdef01"
PREFIX = "/wp-json/wc/v3"
PRODUCTS = {93: ("Woo Mug", "12.00"), 22: ("Woo T-shirt", "18.00"), 23: ("Woo T-shirt - Large", "20.00")}
OPENED = datetime(2026, 1, 1, 10)
"""Orders are made a minute apart from here on (by id), in the store's time zone as WooCommerce reports dates."""
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased; ``path`` below the API prefix)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, params: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        data: dict[str, Any] = {"status": status}
        if params:
            data["params"] = params
            data["details"] = {
                name: {"code": code, "message": problem, "data": None} for name, problem in params.items()
            }
        self.body = {"code": code, "message": message, "data": data}


def _invalid(name: str, problem: str) -> _Refusal:
    return _Refusal(400, "rest_invalid_param", f"Invalid parameter(s): {name}", {name: problem})


@dataclass
class FakeWoocommerce:
    host: str
    port: int
    consumer_key: str = CONSUMER_KEY
    consumer_secret: str = CONSUMER_SECRET
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(700))
    _note_ids: Iterator[int] = field(default_factory=lambda: itertools.count(9000))

    @property
    def store_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, consumer_secret: str = CONSUMER_SECRET, consumer_key: str = CONSUMER_KEY) -> dict[str, Any]:
        """The ``woocommerce_api`` credential that reaches this server."""
        return {"store_url": self.store_url, "consumer_key": consumer_key, "consumer_secret": consumer_secret}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def add_order(self, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._create({"line_items": [{"product_id": 93, "quantity": 1}], **fields})

    def _create(self, fields: dict[str, Any]) -> dict[str, Any]:
        status = fields.get("status") or ("processing" if fields.get("set_paid") else "pending")
        if status not in STATUSES:
            raise _invalid("status", f"status is not one of {', '.join(STATUSES)}.")
        billing = _address(fields.get("billing") or {}, "billing")
        lines = [_line(line) for line in fields.get("line_items") or []]
        order_id = next(self._ids)
        order = {
            "id": order_id,
            "number": str(order_id),
            "status": status,
            "currency": "USD",
            "date_created": fields.get("date_created", (OPENED + timedelta(minutes=order_id)).isoformat()),
            "date_paid": "2026-01-01T10:00:00" if fields.get("set_paid") else None,
            "total": f"{sum(float(line['total']) for line in lines):.2f}",
            "customer_id": int(fields.get("customer_id") or 0),
            "customer_note": fields.get("customer_note", ""),
            "billing": billing,
            "shipping": _address(fields.get("shipping") or {}, "shipping"),
            "payment_method": fields.get("payment_method", ""),
            "payment_method_title": fields.get("payment_method_title", ""),
            "line_items": lines,
        }
        self.orders[order_id] = order
        self.notes[order_id] = []
        return order


def _address(given: dict[str, Any], name: str) -> dict[str, Any]:
    email = given.get("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
        raise _invalid(name, "Invalid email address.")
    return dict(given)


def _line(line: dict[str, Any]) -> dict[str, Any]:
    product_id = int(line.get("variation_id") or line.get("product_id") or 0)
    if product_id not in PRODUCTS:
        raise _Refusal(400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid.")
    name, price = PRODUCTS[product_id]
    quantity = int(line.get("quantity") or 1)
    return {
        "product_id": int(line["product_id"]),
        "variation_id": int(line.get("variation_id") or 0),
        "name": name,
        "quantity": quantity,
        "price": float(price),
        "total": f"{float(price) * quantity:.2f}",
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeWoocommerce]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = parts.path.removeprefix(PREFIX)
        with fake.lock:
            fake.requests.append(Received(self.command, path, query, headers, body))
        try:
            _authenticate(fake, headers.get("authorization", ""))
            if path == parts.path:
                raise _Refusal(404, "rest_no_route", "No route was found matching the URL and request method.")
            with fake.lock:
                status, answer, extra = _route(fake, self.command, path, query, body or {})
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer, extra)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


def _authenticate(fake: FakeWoocommerce, authorization: str) -> None:
    if not authorization.startswith("Basic "):
        raise _Refusal(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
    key, _, secret = base64.b64decode(authorization.removeprefix("Basic ")).decode().partition(":")
    if key != fake.consumer_key:
        raise _Refusal(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
    if secret != fake.consumer_secret:
        raise _Refusal(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")


ORDER = re.compile(r"^/orders/(\d+)(/notes)?$")


def _route(
    fake: FakeWoocommerce, method: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any, dict[str, str] | None]:
    if method == "GET" and path == "/data/currencies/current":
        return 200, {"code": "USD", "name": "United States (US) dollar", "symbol": "&#36;"}, None
    if path == "/orders" and method == "POST":
        return 201, fake._create(body), None
    if path == "/orders" and method == "GET":
        return _list(fake, query)
    found = ORDER.match(path)
    if not found:
        raise _Refusal(404, "rest_no_route", "No route was found matching the URL and request method.")
    order = fake.orders.get(int(found.group(1)))
    if order is None:
        raise _Refusal(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
    if found.group(2) and method == "POST":
        if not str(body.get("note") or "").strip():
            raise _Refusal(
                400, "rest_missing_callback_param", "Missing parameter(s): note", {"note": "note is required"}
            )
        note = {
            "id": next(fake._note_ids),
            "author": "WooCommerce",
            "date_created": "2026-01-02T10:00:00",
            "note": body["note"],
            "customer_note": bool(body.get("customer_note")),
            "added_by_user": False,
        }
        fake.notes[order["id"]].append(note)
        return 201, note, None
    if found.group(2):
        raise _Refusal(404, "rest_no_route", "No route was found matching the URL and request method.")
    if method == "GET":
        return 200, order, None
    if method == "PUT":
        return 200, _update(order, body), None
    if method == "DELETE":
        if query.get("force") == "true":
            del fake.orders[order["id"]]
            return 200, order, None
        if order["status"] == "trash":
            raise _Refusal(410, "woocommerce_rest_already_trashed", "The order has already been deleted.")
        order["status"] = "trash"
        return 200, order, None
    raise _Refusal(404, "rest_no_route", "No route was found matching the URL and request method.")


def _update(order: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    if changes.get("status") not in (None, *STATUSES):
        raise _invalid("status", f"status is not one of {', '.join(STATUSES)}.")
    for name in ("billing", "shipping"):
        if name in changes:
            order[name] = {**order[name], **_address(changes[name], name)}
    for name in ("status", "customer_note"):
        if name in changes:
            order[name] = changes[name]
    return order


def _list(fake: FakeWoocommerce, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
    per_page, page = query.get("per_page", "10"), query.get("page", "1")
    if not per_page.isdigit() or not 1 <= int(per_page) <= 100:
        raise _invalid("per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)")
    if not page.isdigit() or int(page) < 1:
        raise _invalid("page", "page must be greater than or equal to 1")
    statuses = query.get("status", "any").split(",")
    chosen = [
        order
        for order in fake.orders.values()
        if (statuses == ["any"] and order["status"] != "trash") or order["status"] in statuses
    ]
    if "customer" in query:
        chosen = [order for order in chosen if str(order["customer_id"]) == query["customer"]]
    if "after" in query:
        chosen = [order for order in chosen if order["date_created"] > query["after"]]
    chosen.sort(key=lambda order: (order["date_created"], order["id"]), reverse=True)
    size, number = int(per_page), int(page)
    pages = max(1, -(-len(chosen) // size))
    headers = {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(pages)}
    return 200, chosen[(number - 1) * size : number * size], headers


@contextmanager
def fake_woocommerce_server() -> Iterator[FakeWoocommerce]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, FakeWoocommerce, name="fake-woocommerce") as fake:
        yield fake
