"""A real HTTP server on 127.0.0.1 speaking the part of Shopify's Admin REST API (2025-01) the Shopify nodes use.

Routes (``X-Shopify-Access-Token: <token>``, else 401 ``{"errors": "[API] Invalid API key or access token ..."}``),
all under ``/admin/api/2025-01``:
    ``GET /shop.json``                            the shop (:data:`SHOP`).
    ``GET|POST /orders.json``                     list (``status`` open by default, ``financial_status``,
                                                  ``fulfillment_status``, ``created_at_min``) or create from
                                                  ``{"order": {...}}`` (422 without line items, for an unknown
                                                  variant or a malformed email).
    ``GET|PUT|DELETE /orders/<id>.json``          one order; update its note, tags, email or shipping address;
                                                  delete (422 for an order paid through an online gateway).
    ``GET|POST /products.json``                   list (``title``, ``vendor``, ``product_type``, ``status``) or
                                                  create (422 without a title); new variants get ids.
    ``GET|PUT|DELETE /products/<id>.json``        one product; update; delete.
Lists page by cursor: ``limit`` (1 to 250, default 50) and a ``Link: <…page_info=…>; rel="next"`` header whose
``page_info`` carries the filters, so a request with ``page_info`` and a filter is 400, as on Shopify. Unknown ids
and other API versions are 404 ``{"errors": "Not Found"}``. Set :attr:`FakeShopify.rate_limited` to answer the
next that many requests with 429 and ``Retry-After: 2.0``, and :attr:`FakeShopify.link_base` to point ``Link``
headers at another host. Every request is recorded.
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
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.serving import FakeServer, serve

TOKEN = "shpat_fakeFAKEfake0123456789abcdef"
PREFIX = "/admin/api/2025-01"
SHOP = {"id": 548380009, "name": "Acme Goods", "myshopify_domain": "acme.myshopify.com", "currency": "EUR"}
CREATED = "2026-01-01T10:00:00+01:00"
FINANCIAL = ("pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided")
PRODUCT_STATUSES = ("active", "draft", "archived")
ORDER_FIELDS = ("email", "note", "tags")
LIST_FILTERS = {
    "orders.json": ("status", "financial_status", "fulfillment_status", "created_at_min"),
    "products.json": ("title", "vendor", "product_type", "status"),
}


@dataclass(frozen=True)
class Received:
    """One request (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Refusal(Exception):
    def __init__(self, status: int, errors: Any) -> None:
        super().__init__(str(errors))
        self.status = status
        self.body = {"errors": errors}


@dataclass
class FakeShopify:
    host: str
    port: int
    token: str = TOKEN
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Customers by email, as new orders add them."""
    requests: list[Received] = field(default_factory=list)
    rate_limited: int = 0
    link_base: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(450789001))
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, token: str = TOKEN) -> dict[str, Any]:
        """The ``shopify_api`` credential that reaches this server (its full address as the shop)."""
        return {"shop": self.base_url, "access_token": token}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        """Requests by method and path below the API version's prefix (``/orders.json``)."""
        full = None if path is None else PREFIX + path
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and full in (None, r.path)]

    def add_order(self, **fields: Any) -> dict[str, Any]:
        with self.lock:
            line_items = fields.pop("line_items", [{"title": "Mug", "price": "12.00", "quantity": 1}])
            return self._new_order({"line_items": line_items, **fields})

    def add_product(self, title: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_product({"title": title, **fields})

    def _new_order(self, fields: dict[str, Any]) -> dict[str, Any]:
        lines = fields.get("line_items") or []
        if not lines:
            raise _Refusal(422, {"line_items": ["must have at least one line item"]})
        email = fields.get("email")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            raise _Refusal(422, {"email": ["is invalid"]})
        if fields.get("financial_status") not in (None, *FINANCIAL):
            raise _Refusal(422, {"financial_status": ["is not included in the list"]})
        order_id = next(self._ids)
        number = next(self._numbers)
        line_items = [self._line(line) for line in lines]
        total = sum(float(line["price"]) * line["quantity"] for line in line_items)
        order = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "order_number": number,
            "email": email,
            "created_at": fields.get("created_at", CREATED),
            "updated_at": fields.get("created_at", CREATED),
            "closed_at": fields.get("closed_at"),
            "cancelled_at": fields.get("cancelled_at"),
            "financial_status": fields.get("financial_status") or "paid",
            "fulfillment_status": fields.get("fulfillment_status"),
            "gateway": fields.get("gateway", "manual"),
            "note": fields.get("note"),
            "tags": fields.get("tags", ""),
            "currency": SHOP["currency"],
            "total_price": f"{total:.2f}",
            "line_items": line_items,
            "customer": self._customer(fields.get("customer"), email),
            "shipping_address": fields.get("shipping_address"),
            "send_receipt": bool(fields.get("send_receipt")),
            "inventory_behaviour": fields.get("inventory_behaviour", "bypass"),
        }
        self.orders[order_id] = order
        return order

    def _line(self, line: dict[str, Any]) -> dict[str, Any]:
        quantity = int(line.get("quantity") or 1)
        if line.get("variant_id"):
            for product in self.products.values():
                for variant in product["variants"]:
                    if variant["id"] == line["variant_id"]:
                        return {
                            "id": next(self._ids),
                            "variant_id": variant["id"],
                            "product_id": product["id"],
                            "title": product["title"],
                            "sku": variant.get("sku"),
                            "price": variant["price"],
                            "quantity": quantity,
                        }
            raise _Refusal(422, {"line_items": [f"Unable to find variant with id {line['variant_id']}"]})
        if not line.get("title") or line.get("price") is None:
            raise _Refusal(422, {"line_items": ["a custom line item needs a title and a price"]})
        return {
            "id": next(self._ids),
            "variant_id": None,
            "title": line["title"],
            "price": line["price"],
            "quantity": quantity,
        }

    def _customer(self, given: Any, email: Any) -> dict[str, Any] | None:
        if not given and not email:
            return None
        given = given or {}
        if given.get("id"):
            return {"id": given["id"]}
        key = str(given.get("email") or email or "").lower()
        if key not in self.customers:
            self.customers[key] = {
                "id": next(self._ids),
                "email": key,
                "first_name": given.get("first_name"),
                "last_name": given.get("last_name"),
            }
        return self.customers[key]

    def _new_product(self, fields: dict[str, Any]) -> dict[str, Any]:
        if not str(fields.get("title") or "").strip():
            raise _Refusal(422, {"title": ["can't be blank"]})
        if fields.get("status") not in (None, *PRODUCT_STATUSES):
            raise _Refusal(422, {"status": ["is not included in the list"]})
        variants = fields.get("variants") or [{"price": "0.00"}]
        options = [variant.get("option1") or "Default Title" for variant in variants]
        for option in options:
            if options.count(option) > 1:
                raise _Refusal(422, {"base": [f"The variant '{option}' already exists."]})
        product_id = next(self._ids)
        product = {
            "id": product_id,
            "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
            "title": fields["title"],
            "body_html": fields.get("body_html"),
            "vendor": fields.get("vendor") or SHOP["name"],
            "product_type": fields.get("product_type", ""),
            "tags": fields.get("tags", ""),
            "status": fields.get("status") or "active",
            "handle": re.sub(r"[^a-z0-9]+", "-", fields["title"].lower()).strip("-"),
            "created_at": CREATED,
            "updated_at": CREATED,
            "variants": [
                {
                    "id": next(self._ids),
                    "product_id": product_id,
                    "title": variant.get("option1") or "Default Title",
                    "option1": variant.get("option1") or "Default Title",
                    "price": variant.get("price") or "0.00",
                    "compare_at_price": variant.get("compare_at_price"),
                    "sku": variant.get("sku") or "",
                }
                for variant in variants
            ],
        }
        self.products[product_id] = product
        return product


def _encode(after: int, filters: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after, "filters": filters}).encode()).decode().rstrip("=")


def _decode(page_info: str) -> tuple[int, dict[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(page_info + "=" * (-len(page_info) % 4)))
        return int(data["after"]), dict(data["filters"])
    except (ValueError, KeyError, TypeError) as err:
        raise _Refusal(400, {"page_info": ["is invalid"]}) from err


def _page(fake: FakeShopify, resource: str, query: dict[str, str], pick: Any) -> tuple[dict[str, Any], dict[str, str]]:
    limit_text = query.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 250:
        raise _Refusal(400, {"limit": ["must be a number from 1 to 250"]})
    limit = int(limit_text)
    after = 0
    filters = {name: query[name] for name in LIST_FILTERS[resource] if name in query}
    if "page_info" in query:
        if filters:
            raise _Refusal(400, {"page_info": ["cannot be combined with other parameters than limit and fields"]})
        after, filters = _decode(query["page_info"])
    chosen = sorted((entry for entry in pick(filters) if entry["id"] > after), key=lambda entry: entry["id"])
    chunk = chosen[:limit]
    headers: dict[str, str] = {}
    if len(chosen) > limit:
        base = fake.link_base or fake.base_url
        following = urlencode({"limit": limit, "page_info": _encode(chunk[-1]["id"], filters)})
        headers["Link"] = f'<{base}{PREFIX}/{resource}?{following}>; rel="next"'
    return {resource.removesuffix(".json"): chunk}, headers


def _orders_matching(fake: FakeShopify, filters: dict[str, str]) -> list[dict[str, Any]]:
    status = filters.get("status", "open")
    financial = filters.get("financial_status", "any")
    fulfillment = filters.get("fulfillment_status", "any")
    chosen = []
    for order in fake.orders.values():
        open_now = order["closed_at"] is None and order["cancelled_at"] is None
        if status == "open" and not open_now:
            continue
        if status == "closed" and order["closed_at"] is None:
            continue
        if status == "cancelled" and order["cancelled_at"] is None:
            continue
        if financial == "unpaid" and order["financial_status"] not in ("pending", "authorized"):
            continue
        if financial not in ("any", "unpaid") and order["financial_status"] != financial:
            continue
        shipped = order["fulfillment_status"]
        wanted = {
            "shipped": shipped == "fulfilled",
            "partial": shipped == "partial",
            "unshipped": shipped is None,
            "unfulfilled": shipped in (None, "partial"),
        }
        if fulfillment != "any" and not wanted.get(fulfillment, False):
            continue
        if "created_at_min" in filters and order["created_at"] < filters["created_at_min"]:
            continue
        chosen.append(order)
    return chosen


def _products_matching(fake: FakeShopify, filters: dict[str, str]) -> list[dict[str, Any]]:
    statuses = set(filters["status"].split(",")) if "status" in filters else set(PRODUCT_STATUSES)
    return [
        product
        for product in fake.products.values()
        if product["status"] in statuses
        and all(product[name] == filters[name] for name in ("title", "vendor", "product_type") if name in filters)
    ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeShopify]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
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
        path = parts.path.removeprefix(PREFIX) if parts.path.startswith(PREFIX + "/") else parts.path
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, body))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
        if limited:
            message = (
                "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
            )
            self._reply(429, {"errors": message}, {"Retry-After": "2.0"})
            return
        if headers.get("x-shopify-access-token") != fake.token:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            self._reply(401, {"errors": message})
            return
        try:
            if path == parts.path:
                raise _Refusal(404, "Not Found")
            with fake.lock:
                status, answer, extra = _route(fake, self.command, path, query, body)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        self._reply(status, answer, extra)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


ONE = re.compile(r"^/(orders|products)/(\d+)\.json$")


def _route(
    fake: FakeShopify, method: str, path: str, query: dict[str, str], body: Any
) -> tuple[int, Any, dict[str, str] | None]:
    if method == "GET" and path == "/shop.json":
        return 200, {"shop": SHOP}, None
    if path in ("/orders.json", "/products.json"):
        resource = path.lstrip("/")
        singular = resource.removesuffix("s.json")
        if method == "GET":
            pick = _orders_matching if singular == "order" else _products_matching
            answer, headers = _page(fake, resource, query, lambda filters: pick(fake, filters))
            return 200, answer, headers
        if method == "POST":
            fields = (body or {}).get(singular)
            if not isinstance(fields, dict):
                raise _Refusal(400, {singular: "Required parameter missing or invalid"})
            made = fake._new_order(fields) if singular == "order" else fake._new_product(fields)
            return 201, {singular: made}, None
    found = ONE.match(path)
    if not found:
        raise _Refusal(404, "Not Found")
    kind, number = found.group(1), int(found.group(2))
    store = fake.orders if kind == "orders" else fake.products
    entry = store.get(number)
    if entry is None:
        raise _Refusal(404, "Not Found")
    singular = kind.removesuffix("s")
    if method == "GET":
        return 200, {singular: entry}, None
    if method == "PUT":
        changes = (body or {}).get(singular)
        if not isinstance(changes, dict):
            raise _Refusal(400, {singular: "Required parameter missing or invalid"})
        _update(entry, kind, changes)
        return 200, {singular: entry}, None
    if method == "DELETE":
        if kind == "orders" and entry["gateway"] != "manual":
            raise _Refusal(422, {"base": ["An order with online payment transactions can't be deleted"]})
        del store[number]
        return 200, {}, None
    raise _Refusal(404, "Not Found")


def _update(entry: dict[str, Any], kind: str, changes: dict[str, Any]) -> None:
    if kind == "products":
        if "title" in changes and not str(changes["title"]).strip():
            raise _Refusal(422, {"title": ["can't be blank"]})
        if changes.get("status") not in (None, *PRODUCT_STATUSES):
            raise _Refusal(422, {"status": ["is not included in the list"]})
        for name in ("title", "body_html", "vendor", "product_type", "tags", "status"):
            if name in changes:
                entry[name] = changes[name]
    else:
        email = changes.get("email")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            raise _Refusal(422, {"email": ["is invalid"]})
        for name in ORDER_FIELDS:
            if name in changes:
                entry[name] = changes[name]
        if "shipping_address" in changes:
            entry["shipping_address"] = {**(entry["shipping_address"] or {}), **changes["shipping_address"]}
    entry["updated_at"] = "2026-01-02T10:00:00+01:00"


@contextmanager
def fake_shopify_server(token: str = TOKEN) -> Iterator[FakeShopify]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeShopify(host, port, token=token), name="fake-shopify") as fake:
        yield fake
