"""Calling Stripe's REST API: form-encoded bodies, idempotent creates, cursor paging, refusals as NodeErrors."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import Context, NodeError
from nodes.stripe.credentials import STRIPE_API_URL, StripeApiCredential, StripeApiFields

PAGE_SIZE = 100
"""The largest page Stripe serves."""
FORM_TYPE = "application/x-www-form-urlencoded"
HINTS = {
    400: "Change what Stripe named above, then retry.",
    401: "The key is wrong, rolled or deleted: copy the current secret key from Developers → API keys "
    "into the credential.",
    402: "The payment failed: ask the customer for another payment method, or see the charge in the Dashboard.",
    403: "The key may not do this: give the restricted key write access to Customers, Charges and Refunds, "
    "or use the secret key.",
    404: "Check the id (cus_…, ch_…, pi_…, re_…) and that the key belongs to the same account and mode "
    "(test or live) as the object.",
    409: "Another request with the same idempotency key is still running: retry the node in a moment.",
    429: "Stripe is limiting requests: slow the workflow down (Loop Over Items with a Wait), or retry the node later.",
}
IDEMPOTENCY_HINT = (
    "The idempotency key was used before with other parameters: leave 'Idempotency key' empty, "
    "or make it unique per request."
)


def path(*parts: str) -> str:
    """``/v1/<part>/<part>`` with each part escaped: ids come from items and expressions."""
    return "/v1/" + "/".join(quote(part.strip(), safe="") for part in parts)


def form(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's form encoding: objects as ``metadata[key]=value``, lists as ``items[0]=value``.

    ``None`` leaves a field out; an empty string is sent, since that is how Stripe clears a value
    (a metadata key, a description).
    """
    pairs: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for name, inner in value.items():
                add(f"{key}[{name}]", inner)
        elif isinstance(value, list | tuple):
            for position, inner in enumerate(value):
                add(f"{key}[{position}]", inner)
        elif isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))

    for name, value in data.items():
        add(name, value)
    return pairs


def idempotency_key(ctx: Context, item_index: int, request: str, body: Sequence[tuple[str, str]], given: str) -> str:
    """The ``Idempotency-Key`` of a create: the one the person gave, or one derived from the item.

    Stripe keeps the answer to a request sent with an idempotency key for 24 hours, and answers a
    later request with the same key by replaying it instead of running it again. A node's requests
    are sent again when the engine retries the node (retry on fail) or a worker re-runs a step
    whose answer was lost, say after a timeout once Stripe had already charged. Deriving the key
    from the execution, the node, its run in a loop, the item and the exact body makes those
    repeats replays, so nobody is charged twice, while another item, another loop run or changed
    parameters still get a key of their own. Across executions (a webhook delivered twice) only
    a key of the person's own, such as the order's id, can tell a repeat from a new payment.

    Args:
        ctx: The running node's context (execution id, node name, run index).
        item_index: The item the request is for.
        request: The method and path, e.g. ``POST /v1/charges``.
        body: The form-encoded body.
        given: The node's 'Idempotency key' parameter; empty to derive one.
    """
    if given.strip():
        return given.strip()
    # Without an execution id there is nothing to tell two executions apart by: never let them share a key.
    execution = ctx.execution_id or uuid.uuid4().hex
    seed = json.dumps([execution, ctx.node_name, ctx.run_index, item_index, request, list(body)])
    return "hitl-" + hashlib.sha256(seed.encode()).hexdigest()


def _refusal(response: httpx.Response) -> dict[str, str]:
    """Stripe's ``{"error": {"type", "code", "decline_code", "message", "param"}}``, or the body's text."""
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:200].strip()}
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return {}
    return {key: str(error[key]) for key in ("type", "code", "decline_code", "message", "param") if error.get(key)}


def _describe(status: int, refusal: Mapping[str, str]) -> str:
    """``402 card_error, card_declined (generic_decline)`` for the message's parenthesis."""
    label = f"{status} {refusal.get('type', '')}".strip()
    if refusal.get("code"):
        label += f", {refusal['code']}"
    if refusal.get("decline_code"):
        label += f" ({refusal['decline_code']})"
    return label


class StripeClient(RestClient[StripeApiFields]):
    """A client signed in with the credential's key; use it as a context manager."""

    service = "Stripe"
    credential_type = StripeApiCredential
    not_json_hint = f"Check the credential's API URL: it must be Stripe's API ({STRIPE_API_URL})."

    def connect(self, fields: StripeApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Authorization": f"Bearer {fields.secret_key}", "Accept": "application/json"},
            secrets=(fields.secret_key,),
        )

    def request(  # type: ignore[override]  # Stripe takes form bodies, not JSON
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        body: Sequence[tuple[str, str]] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Send one request and return Stripe's JSON answer.

        Args:
            method: ``GET``, ``POST`` or ``DELETE`` (Stripe updates with POST).
            url: From :func:`path`.
            action: What the request does, for the message: ``creating a charge of 1000 usd``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters, encoded like a body (``created[gte]=…``).
            body: The form fields, from :func:`form`.
            idempotency_key: Sent as ``Idempotency-Key`` so that sending the request again replays it.

        Raises:
            NodeError: With Stripe's status, error type, code and message and what to do; never the key.
        """
        headers: dict[str, str] = {}
        content = None
        if body is not None:
            headers["Content-Type"] = FORM_TYPE
            content = urlencode(body).encode()
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = self.exchange(
                method,
                url,
                action,
                item_index=item_index,
                params=form(params) if params else None,
                content=content,
                headers=headers,
            )
        except NodeError as err:
            if idempotency_key:
                err.description += " Retrying is safe: Stripe answers the same idempotency key with the first result."
            raise
        if not response.is_success:
            raise self.refusal(response, action, item_index)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self.error(
                f"{action}: Stripe answered {response.status_code} with something other than a JSON object",
                self.not_json_hint,
                item_index,
            )
        return data

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Stripe's status, error type, code, decline code and message; an idempotency clash has its own hint."""
        status = response.status_code
        refusal = _refusal(response)
        message = refusal.get("message", "")
        if refusal.get("param"):
            message = f"{message} (parameter {refusal['param']})".strip()
        if status == 429:
            text = f"Stripe is limiting requests and refused {action} ({_describe(status, refusal)})"
        else:
            text = f"Stripe refused {action} ({_describe(status, refusal)})"
        if message:
            text += f": {message}"
        if refusal.get("type") == "idempotency_error":
            hint = IDEMPOTENCY_HINT
        else:
            hint = HINTS.get(status, "Stripe is failing: retry later." if status >= 500 else "See Stripe's message.")
        return self.error(text, hint, item_index)

    def list_all(
        self,
        url: str,
        action: str,
        *,
        limit: int | None,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` objects of a list (every one when ``None``), paging with ``starting_after``.

        Stripe lists newest first and answers ``{"data": [...], "has_more": bool}``; the next page
        starts after the last object's id.
        """
        query: dict[str, Any] = dict(params or {})
        entries: list[dict[str, Any]] = []
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(entries))
            page = self.request("GET", url, action, item_index=item_index, params={**query, "limit": size})
            data = [entry for entry in page.get("data") or [] if isinstance(entry, dict)]
            entries.extend(data)
            if not page.get("has_more") or not data or (limit is not None and len(entries) >= limit):
                break
            query["starting_after"] = data[-1]["id"]
        return entries if limit is None else entries[:limit]
