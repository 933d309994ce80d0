"""A real HTTP server on 127.0.0.1 speaking the part of Stripe's API the Stripe nodes use.

Bodies and queries are form-encoded with nested keys (``metadata[order]=7``); answers are JSON.
Routes (``Authorization: Bearer <secret key>``, else 401 ``Invalid API Key provided``):
    ``GET /v1/balance``                                  the balance (test mode).
    ``POST /v1/customers``, ``GET /v1/customers``        create (a malformed ``email`` is 400 ``email_invalid``);
                                                         list (``email``, exact and case-sensitive).
    ``GET|POST|DELETE /v1/customers/<id>``               one customer; update (metadata merges, an empty value
                                                         removes its key); delete (a deleted customer reads as a
                                                         ``deleted: true`` stub).
    ``POST /v1/charges``, ``GET /v1/charges``            create (``customer`` with a default card or one of theirs
                                                         as ``source``, or a test token: ``tok_visa`` succeeds,
                                                         ``tok_chargeDeclined`` is 402 ``card_declined``; amounts
                                                         under the currency's minimum are 400 ``amount_too_small``);
                                                         list (``customer``).
    ``GET|POST /v1/charges/<id>``                        one charge; update (``description``, ``receipt_email``,
                                                         ``metadata``).
    ``POST /v1/refunds``, ``GET /v1/refunds``            refund a ``charge`` or ``payment_intent``, all or
                                                         ``amount`` of what is left (else 400 ``amount_too_large``
                                                         or ``charge_already_refunded``); list (``charge``,
                                                         ``payment_intent``).
    ``GET /v1/refunds/<id>``                             one refund.
Lists are newest first and page with ``limit`` (1 to 100), ``starting_after`` and ``has_more``. Unknown parameters
are 400 ``parameter_unknown``, unknown ids in the path 404 and in a parameter 400, both ``resource_missing``.
A POST with an ``Idempotency-Key`` already seen is answered with the first answer (``Idempotent-Replayed: true``)
without running again, or 400 ``idempotency_error`` when its parameters differ. Errors are
``{"error": {"type", "code", "message", "param"}}``. Set :attr:`FakeStripe.rate_limited` to answer the next that
many requests with 429, and :attr:`FakeStripe.lose_answers` to run the next that many requests but drop the
connection instead of answering (an answer lost on the way back). Every request is recorded.
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

SECRET_KEY = "sk_test_51FakeFAKEfake0123456789abcdef"
CREATED = 1767225600
MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30, "jpy": 50}
"""The smallest charge per currency Stripe accepts, in the smallest unit."""
TEST_CARDS = {"tok_visa": ("Visa", "4242"), "tok_mastercard": ("MasterCard", "4444")}
DECLINED = "tok_chargeDeclined"
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
ALLOWED = {
    ("POST", "customers"): {"email", "name", "phone", "description", "address", "metadata"},
    ("POST", "charges"): {
        "amount",
        "currency",
        "customer",
        "source",
        "description",
        "receipt_email",
        "capture",
        "metadata",
    },
    ("POST", "charge"): {"description", "receipt_email", "metadata"},
    ("POST", "refunds"): {"charge", "payment_intent", "amount", "reason", "metadata"},
    ("GET", "customers"): {"email", "limit", "starting_after"},
    ("GET", "charges"): {"customer", "limit", "starting_after"},
    ("GET", "refunds"): {"charge", "payment_intent", "limit", "starting_after"},
}


@dataclass(frozen=True)
class Received:
    """One request: header names lower-cased, the form body and query as pairs and as nested objects."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    pairs: list[tuple[str, str]]
    form: dict[str, Any]


class _Refusal(Exception):
    def __init__(
        self, status: int, message: str, *, kind: str = "invalid_request_error", code: str = "", param: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        error: dict[str, Any] = {"type": kind, "message": message}
        if code:
            error["code"] = code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            error["param"] = param
        self.body = {"error": error}


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a[b][c]=v`` pairs as ``{"a": {"b": {"c": "v"}}}``, the way Stripe reads a form."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        found = KEY.match(key)
        if not found:
            raise _Refusal(400, f"Invalid parameter name: {key}", code="parameter_invalid_string", param=key)
        parts = [found.group(1), *re.findall(r"\[([^\[\]]*)\]", found.group(2))]
        target = data
        for part in parts[:-1]:
            inner = target.setdefault(part, {})
            if not isinstance(inner, dict):
                raise _Refusal(400, f"Invalid object: {key}", code="parameter_invalid_string", param=key)
            target = inner
        target[parts[-1]] = value
    return data


def _missing(kind: str, object_id: str, status: int = 404, param: str = "id") -> _Refusal:
    return _Refusal(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


@dataclass
class FakeStripe:
    host: str
    port: int
    secret_key: str = SECRET_KEY
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every customer by id, oldest first; a deleted one is a ``deleted: true`` stub."""
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    idempotent: dict[str, tuple[str, dict[str, Any], int, Any]] = field(default_factory=dict)
    """Answers by idempotency key: the request, its parameters, the status and the body."""
    rate_limited: int = 0
    lose_answers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def credential(self, secret_key: str = SECRET_KEY) -> dict[str, Any]:
        """The ``stripe_api`` credential that reaches this server."""
        return {"secret_key": secret_key, "api_url": self.api_url}

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if method in (None, r.method) and path in (None, r.path)]

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):014d}"

    def add_customer(self, email: str = "", *, card: bool = True, **fields: Any) -> dict[str, Any]:
        """A customer, with a saved Visa card as default source unless ``card`` is false."""
        with self.lock:
            customer = self._new_customer({"email": email or None, **fields})
            if card:
                card_id = self._id("card")
                customer["default_source"] = card_id
                customer["_sources"] = [card_id]
            return customer

    def add_charge(self, amount: int, currency: str = "usd", **fields: Any) -> dict[str, Any]:
        """A succeeded, captured charge of a Visa card."""
        with self.lock:
            return self._new_charge(amount, currency, source=self._id("card"), **fields)

    def add_payment_intent(self, amount: int, currency: str = "usd") -> dict[str, Any]:
        """A succeeded payment intent with its charge."""
        with self.lock:
            intent_id = self._id("pi")
            charge = self._new_charge(amount, currency, source=self._id("card"), payment_intent=intent_id)
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "currency": currency,
                "status": "succeeded",
                "latest_charge": charge["id"],
            }
            self.payment_intents[intent_id] = intent
            return intent

    def add_refund(self, charge_id: str, amount: int) -> dict[str, Any]:
        """A succeeded refund of ``amount`` of a charge."""
        with self.lock:
            return _refund(self, {"charge": charge_id, "amount": str(amount)})

    def _new_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": self._id("cus"),
            "object": "customer",
            "address": fields.get("address"),
            "balance": 0,
            "created": CREATED + len(self.customers),
            "default_source": None,
            "delinquent": False,
            "description": fields.get("description"),
            "email": fields.get("email"),
            "livemode": False,
            "metadata": {key: value for key, value in (fields.get("metadata") or {}).items() if value != ""},
            "name": fields.get("name"),
            "phone": fields.get("phone"),
        }
        self.customers[customer["id"]] = customer
        return customer

    def _new_charge(self, amount: int, currency: str, *, source: str, **fields: Any) -> dict[str, Any]:
        captured = fields.get("capture", True)
        failed = fields.get("failed", False)
        charge = {
            "id": self._id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount if captured and not failed else 0,
            "amount_refunded": 0,
            "captured": bool(captured) and not failed,
            "created": CREATED + len(self.charges),
            "currency": currency,
            "customer": fields.get("customer"),
            "description": fields.get("description"),
            "failure_code": "card_declined" if failed else None,
            "failure_message": "Your card was declined." if failed else None,
            "livemode": False,
            "metadata": {key: value for key, value in (fields.get("metadata") or {}).items() if value != ""},
            "paid": not failed,
            "payment_intent": fields.get("payment_intent"),
            "receipt_email": fields.get("receipt_email"),
            "refunded": False,
            "source": {"id": source, "object": "card", "brand": "Visa", "last4": "4242"},
            "status": "failed" if failed else "succeeded",
        }
        self.charges[charge["id"]] = charge
        return charge


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if not key.startswith("_")}


def _merge_metadata(target: dict[str, Any], given: Any) -> None:
    if given is None:
        return
    if given == "":
        target["metadata"] = {}
        return
    if not isinstance(given, dict):
        raise _Refusal(400, "Invalid object", code="parameter_invalid_string", param="metadata")
    for key, value in given.items():
        if value == "":
            target["metadata"].pop(key, None)
        else:
            target["metadata"][key] = value


def _integer(value: Any, param: str) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise _Refusal(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)
    return int(value)


def _page(entries: list[dict[str, Any]], query: dict[str, Any], kind: str, url: str) -> dict[str, Any]:
    limit = _integer(query.get("limit", "10"), "limit")
    if not 1 <= limit <= 100:
        raise _Refusal(400, "This value must be between 1 and 100.", code="parameter_invalid_integer", param="limit")
    newest_first = list(reversed(entries))
    after = query.get("starting_after")
    if after:
        ids = [entry["id"] for entry in newest_first]
        if after not in ids:
            raise _missing(kind, after, 400, "starting_after")
        newest_first = newest_first[ids.index(after) + 1 :]
    chunk = newest_first[:limit]
    return {"object": "list", "data": [_public(e) for e in chunk], "has_more": len(newest_first) > limit, "url": url}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer[FakeStripe]

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", f"req_{len(self.server.fake.requests):014d}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        pairs = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True) if length else []
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            query = nested(parse_qsl(parts.query, keep_blank_values=True))
            form = nested(pairs)
        except _Refusal as refusal:
            self._reply(refusal.status, refusal.body)
            return
        with fake.lock:
            fake.requests.append(Received(self.command, parts.path, query, headers, pairs, form))
            limited = fake.rate_limited > 0
            fake.rate_limited = max(0, fake.rate_limited - 1)
            lose = fake.lose_answers > 0
            fake.lose_answers = max(0, fake.lose_answers - 1)
        if limited:
            message = "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."
            self._reply(429, _Refusal(429, message, code="rate_limit").body)
            return
        if headers.get("authorization") != f"Bearer {fake.secret_key}":
            shown = headers.get("authorization", "").removeprefix("Bearer ")
            if shown:
                message = f"Invalid API Key provided: {shown[:8]}****{shown[-4:]}"
            else:
                message = "You did not provide an API key. Provide it in the Authorization header (Bearer auth)."
            self._reply(401, {"error": {"type": "invalid_request_error", "message": message}})
            return
        key = headers.get("idempotency-key", "")
        request = f"{self.command} {parts.path}"
        with fake.lock:
            if self.command == "POST" and key in fake.idempotent:
                first_request, first_form, status, body = fake.idempotent[key]
                if (first_request, first_form) != (request, form):
                    message = (
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{key}' if you meant to execute a different request."
                    )
                    refusal = _Refusal(400, message, kind="idempotency_error")
                    status, body, replayed = refusal.status, refusal.body, False
                else:
                    replayed = True
            else:
                try:
                    status, body = _route(fake, self.command, unquote(parts.path), query, form)
                except _Refusal as refusal:
                    status, body = refusal.status, refusal.body
                if self.command == "POST" and key:
                    fake.idempotent[key] = (request, form, status, body)
                replayed = False
        if lose:
            self.close_connection = True
            return
        self._reply(status, body, {"Idempotent-Replayed": "true"} if replayed else None)

    do_GET = do_POST = do_DELETE = _handle


def _check_allowed(method: str, resource: str, given: dict[str, Any]) -> None:
    for name in given:
        if name not in ALLOWED[(method, resource)]:
            raise _Refusal(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def _route(fake: FakeStripe, method: str, path: str, query: dict[str, Any], form: dict[str, Any]) -> tuple[int, Any]:
    segments = path.strip("/").split("/")
    if segments[0] != "v1" or len(segments) < 2:
        raise _Refusal(404, f"Unrecognized request URL ({method}: {path}).")
    resource, object_id = segments[1], "/".join(segments[2:])
    if method == "GET" and resource == "balance" and not object_id:
        return 200, {"object": "balance", "available": [{"amount": 0, "currency": "usd"}], "livemode": False}
    if resource == "customers":
        return _customers(fake, method, object_id, query, form)
    if resource == "charges":
        return _charges(fake, method, object_id, query, form)
    if resource == "refunds":
        return _refunds(fake, method, object_id, query, form)
    raise _Refusal(404, f"Unrecognized request URL ({method}: {path}).")


def _check_email(form: dict[str, Any]) -> None:
    email = form.get("email")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise _Refusal(400, f"Invalid email address: {email}", code="email_invalid", param="email")


def _customers(
    fake: FakeStripe, method: str, object_id: str, query: dict[str, Any], form: dict[str, Any]
) -> tuple[int, Any]:
    if not object_id and method == "POST":
        _check_allowed("POST", "customers", form)
        _check_email(form)
        return 200, _public(fake._new_customer(form))
    if not object_id and method == "GET":
        _check_allowed("GET", "customers", query)
        live = [c for c in fake.customers.values() if not c.get("deleted")]
        if "email" in query:
            live = [c for c in live if c["email"] == query["email"]]
        return 200, _page(live, query, "customer", "/v1/customers")
    customer = fake.customers.get(object_id)
    if customer is None:
        raise _missing("customer", object_id)
    if method == "GET":
        return 200, _public(customer)
    if customer.get("deleted"):
        raise _missing("customer", object_id)
    if method == "POST":
        _check_allowed("POST", "customers", form)
        _check_email(form)
        for name in ("email", "name", "phone", "description"):
            if name in form:
                customer[name] = form[name] or None
        if "address" in form:
            customer["address"] = {**(customer["address"] or {}), **form["address"]}
        _merge_metadata(customer, form.get("metadata"))
        return 200, _public(customer)
    if method == "DELETE":
        fake.customers[object_id] = {"id": object_id, "object": "customer", "deleted": True}
        return 200, fake.customers[object_id]
    raise _Refusal(404, f"Unrecognized request URL ({method}: /v1/customers/{object_id}).")


def _charges(
    fake: FakeStripe, method: str, object_id: str, query: dict[str, Any], form: dict[str, Any]
) -> tuple[int, Any]:
    if not object_id and method == "POST":
        _check_allowed("POST", "charges", form)
        return 200, _public(_charge(fake, form))
    if not object_id and method == "GET":
        _check_allowed("GET", "charges", query)
        chosen = list(fake.charges.values())
        if "customer" in query:
            chosen = [c for c in chosen if c["customer"] == query["customer"]]
        return 200, _page(chosen, query, "charge", "/v1/charges")
    charge = fake.charges.get(object_id)
    if charge is None:
        raise _missing("charge", object_id)
    if method == "GET":
        return 200, _public(charge)
    if method == "POST":
        _check_allowed("POST", "charge", form)
        for name in ("description", "receipt_email"):
            if name in form:
                charge[name] = form[name] or None
        _merge_metadata(charge, form.get("metadata"))
        return 200, _public(charge)
    raise _Refusal(404, f"Unrecognized request URL ({method}: /v1/charges/{object_id}).")


def _charge(fake: FakeStripe, form: dict[str, Any]) -> dict[str, Any]:
    for name in ("amount", "currency"):
        if name not in form:
            raise _Refusal(400, f"Missing required param: {name}.", code="parameter_missing", param=name)
    amount = _integer(form["amount"], "amount")
    currency = form["currency"]
    if currency not in MINIMUM_AMOUNTS:
        raise _Refusal(400, f"Invalid currency: {currency}.", param="currency")
    if amount < MINIMUM_AMOUNTS[currency]:
        raise _Refusal(
            400,
            f"Amount must be at least {MINIMUM_AMOUNTS[currency]} {currency}",
            code="amount_too_small",
            param="amount",
        )
    customer_id, source = form.get("customer"), form.get("source")
    if not customer_id and not source:
        raise _Refusal(400, "Must provide source or customer.", code="parameter_missing")
    fields = {name: form[name] for name in ("description", "receipt_email", "metadata") if name in form}
    fields["capture"] = form.get("capture", "true") != "false"
    if customer_id:
        customer = fake.customers.get(customer_id)
        if customer is None or customer.get("deleted"):
            raise _missing("customer", customer_id, 400, "customer")
        if source and source not in customer.get("_sources", []):
            message = f"Customer {customer_id} does not have a linked source with ID {source}."
            raise _Refusal(400, message, code="missing", param="source")
        if not source and not customer["default_source"]:
            raise _Refusal(400, "Cannot charge a customer that has no active card", code="missing", param="card")
        return fake._new_charge(
            amount, currency, source=source or customer["default_source"], customer=customer_id, **fields
        )
    if source == DECLINED:
        failed = fake._new_charge(amount, currency, source=fake._id("card"), failed=True, **fields)
        refusal = _Refusal(402, "Your card was declined.", kind="card_error", code="card_declined")
        refusal.body["error"].update(decline_code="generic_decline", charge=failed["id"])
        raise refusal
    if source not in TEST_CARDS:
        raise _missing("token", str(source), 400, "source")
    return fake._new_charge(amount, currency, source=fake._id("card"), **fields)


def _refunds(
    fake: FakeStripe, method: str, object_id: str, query: dict[str, Any], form: dict[str, Any]
) -> tuple[int, Any]:
    if not object_id and method == "POST":
        _check_allowed("POST", "refunds", form)
        return 200, _refund(fake, form)
    if not object_id and method == "GET":
        _check_allowed("GET", "refunds", query)
        chosen = list(fake.refunds.values())
        for name in ("charge", "payment_intent"):
            if name in query:
                chosen = [r for r in chosen if r[name] == query[name]]
        return 200, _page(chosen, query, "refund", "/v1/refunds")
    refund = fake.refunds.get(object_id)
    if refund is None:
        raise _missing("refund", object_id)
    if method == "GET":
        return 200, refund
    raise _Refusal(404, f"Unrecognized request URL ({method}: /v1/refunds/{object_id}).")


def _refund(fake: FakeStripe, form: dict[str, Any]) -> dict[str, Any]:
    charge_id, intent_id = form.get("charge"), form.get("payment_intent")
    if bool(charge_id) == bool(intent_id):
        raise _Refusal(
            400, "You must pass either a charge or a payment_intent, but not both.", code="parameter_missing"
        )
    if intent_id:
        intent = fake.payment_intents.get(intent_id)
        if intent is None:
            raise _missing("payment_intent", intent_id, 400, "payment_intent")
        charge_id = intent["latest_charge"]
    charge = fake.charges.get(str(charge_id))
    if charge is None:
        raise _missing("charge", str(charge_id), 400, "charge")
    left = charge["amount_captured"] - charge["amount_refunded"]
    if left <= 0:
        message = f"Charge {charge['id']} has already been refunded."
        raise _Refusal(400, message, code="charge_already_refunded", param="charge")
    amount = _integer(form["amount"], "amount") if "amount" in form else left
    if amount > left:
        message = f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
        raise _Refusal(400, message, code="amount_too_large", param="amount")
    reason = form.get("reason")
    if reason is not None and reason not in REFUND_REASONS:
        message = "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer"
        raise _Refusal(400, message, param="reason")
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    refund = {
        "id": fake._id("re"),
        "object": "refund",
        "amount": amount,
        "charge": charge["id"],
        "created": CREATED + len(fake.refunds),
        "currency": charge["currency"],
        "metadata": {key: value for key, value in (form.get("metadata") or {}).items() if value != ""},
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": "succeeded",
    }
    fake.refunds[refund["id"]] = refund
    return refund


@contextmanager
def fake_stripe_server(secret_key: str = SECRET_KEY) -> Iterator[FakeStripe]:
    """Serve on a free port of 127.0.0.1 on a background thread; stop on exit."""
    with serve(_Handler, lambda host, port: FakeStripe(host, port, secret_key=secret_key), name="fake-stripe") as fake:
        yield fake
