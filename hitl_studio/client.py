"""A small Python client for HITL Studio's approvals API, for agents (needs only ``httpx``).

Ask people to approve an action, wait for their answer, act on it. Runnable as
it stands against a studio with an API key (``HITL_API_KEY``) and an approver::

    import os

    from hitl_studio.client import ApprovalNotGranted, HITLClient, requires_approval

    client = HITLClient(os.environ.get("HITL_URL", "http://localhost:8000"), os.environ["HITL_API_KEY"])
    approver = os.environ.get("HITL_APPROVER", "ana@example.com")

    # 1. By hand: request, wait (long-polls; returns at the decision or the timeout), read the answer.
    request = client.request_approval(
        "Refund 40 EUR on order #1234?",
        [approver],
        description="The customer says the parcel never arrived.",
        ui_schema={"type": "object", "properties": {"amount": {"type": "number", "maximum": 40}}},
        timeout_seconds=600,
    )
    print("waiting for", approver, "on", request.id)
    request.wait(timeout=600)
    print(request.status, request.response_data, request.feedback)

    # 2. As a gate: the function runs only once approved, with the approver's edits if it takes them.
    @requires_approval(client, "Refund a customer", [approver], timeout=600)
    def refund(order: str, amount: float, approval_edits: dict | None = None) -> float:
        return (approval_edits or {}).get("amount", amount)

    try:
        print("refunded", refund("#1234", 40.0))
    except ApprovalNotGranted as refused:  # ApprovalRejected or ApprovalTimedOut
        print("not refunded:", refused)

Every failed call raises :class:`HITLError` with the studio's error
(``status_code``, ``code``, ``message`` and ``fields``, which names each bad
field); network failures raise ``httpx.HTTPError``, except inside
:meth:`ApprovalRequest.wait`, which rides out short outages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

import httpx

from hitl_studio.signing import verify_signature

__all__ = [
    "ApprovalNotGranted",
    "ApprovalRejected",
    "ApprovalRequest",
    "ApprovalTimedOut",
    "HITLClient",
    "HITLError",
    "requires_approval",
    "verify_signature",
]

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
WAIT_SLICE_SECONDS = 30.0
"""The longest one long-poll asks the server to hold (the server allows 60)."""
WAIT_RETRY_WINDOW = 120.0
"""How long :meth:`ApprovalRequest.wait` keeps retrying through network errors and 502/503/504 in a row."""
DEADLINE_GRACE_SECONDS = 5.0
"""Extra local waiting, in the decorator, for the server's own deadline to be applied."""
CREATE_ATTEMPTS = 3
"""Tries of one :meth:`HITLClient.request_approval` through network errors and 502/503/504, all with one key."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
PENDING = "pending"
APPROVED_STATUSES = frozenset({"approved", "executing", "completed", "failed"})
_RETRYABLE_STATUSES = frozenset({502, 503, 504})
_ACTION_TYPE_MAX = 200
_REPR_MAX = 2000

P = ParamSpec("P")
R = TypeVar("R")


class HITLError(Exception):
    """The studio answered with an error (any 4xx or 5xx).

    ``code`` is the studio's machine-readable code (``invalid_input``, ``unauthorized``,
    ``forbidden``, ``not_found``, ``conflict``...); ``fields`` maps each bad field to its problem.
    """

    def __init__(self, status_code: int, code: str, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})

    @classmethod
    def from_response(cls, response: httpx.Response) -> HITLError:
        """Read the studio's ``{"error": {...}}`` body; anything else (a proxy's page) becomes ``http_error``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            fields = error.get("fields")
            return cls(
                response.status_code,
                str(error.get("code") or "error"),
                str(error.get("message") or response.reason_phrase),
                {str(key): str(value) for key, value in fields.items()} if isinstance(fields, dict) else None,
            )
        return cls(response.status_code, "http_error", response.text.strip()[:500] or response.reason_phrase)


class ApprovalNotGranted(Exception):
    """Raised by :func:`requires_approval` instead of calling the function; ``request`` holds the last state."""

    def __init__(self, request: ApprovalRequest, reason: str) -> None:
        self.request = request
        detail = f"approval {request.id} {reason}"
        if request.responded_by and request.responded_by != "timeout":
            detail += f" by {request.responded_by}"
        if request.feedback:
            detail += f": {request.feedback}"
        super().__init__(detail)


class ApprovalRejected(ApprovalNotGranted):
    """An approver rejected the request, or someone cancelled it."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(request, "was rejected" if request.status == "rejected" else f"is {request.status}")


class ApprovalTimedOut(ApprovalNotGranted):
    """Nobody decided in time: the request's deadline passed, or the caller's wait did."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(request, f"got no decision in time (status {request.status})")


@dataclass(eq=False)
class ApprovalRequest:
    """One approval request as last seen: ``data`` is the server's full snapshot of it."""

    client: HITLClient = field(repr=False)
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def status(self) -> str:
        """``pending``, ``approved``, ``rejected``, ``timeout``, ``cancelled`` (or ``executing``... after approval)."""
        return str(self.data.get("status", PENDING))

    @property
    def decision(self) -> str | None:
        """``approve`` or ``reject`` once decided (a timeout counts as ``reject`` unless it approves)."""
        return self.data.get("decision")

    @property
    def response_data(self) -> dict[str, Any] | None:
        """The approver's edits (checked against the request's ``ui_schema``), or ``None``."""
        return self.data.get("response_data")

    @property
    def feedback(self) -> str | None:
        return self.data.get("feedback")

    @property
    def responded_by(self) -> str | None:
        """The approver's email, or ``timeout`` when the deadline decided."""
        return self.data.get("responded_by")

    @property
    def callback_secret(self) -> str | None:
        """What ``X-HITL-Signature`` on ``callback_url`` calls is checked with (see :func:`verify_signature`).

        The studio returns it when a request with a ``callback_url`` is created; it is the same for all
        of one requester's requests.
        """
        return self.data.get("callback_secret")

    @property
    def decided(self) -> bool:
        """Whether the request is no longer pending."""
        return self.status != PENDING

    @property
    def approved(self) -> bool:
        return self.status in APPROVED_STATUSES

    def refresh(self) -> ApprovalRequest:
        """Reload the state from the server; returns ``self``."""
        self._update(self.client.get(self.id).data)
        return self

    def _update(self, data: dict[str, Any]) -> None:
        secret = self.data.get("callback_secret")
        self.data = {**data, "callback_secret": secret} if secret and "callback_secret" not in data else data

    def wait(self, timeout: float | None = None) -> ApprovalRequest:
        """Block until the request is decided or ``timeout`` seconds pass (``None``: no limit); returns ``self``.

        Long-polls ``/wait`` in slices of at most :data:`WAIT_SLICE_SECONDS`, so
        the server answers the moment someone decides; at least one request is
        made, so ``wait(0)`` is a refresh. Network errors and 502/503/504 are
        retried with back-off for up to :data:`WAIT_RETRY_WINDOW` seconds in a
        row; other errors raise :class:`HITLError`. Check :attr:`status`
        afterwards: it is still ``pending`` if the time ran out.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        failing_since: float | None = None
        failures = 0
        while True:
            remaining = math.inf if deadline is None else max(0.0, deadline - time.monotonic())
            slice_seconds = min(WAIT_SLICE_SECONDS, remaining)
            started = time.monotonic()
            try:
                self._update(self.client._wait_once(self.id, slice_seconds))
            except (httpx.TransportError, HITLError) as err:
                if isinstance(err, HITLError) and err.status_code not in _RETRYABLE_STATUSES:
                    raise
                now = time.monotonic()
                failing_since = failing_since or started
                failures += 1
                if now - failing_since >= WAIT_RETRY_WINDOW or (deadline is not None and now >= deadline):
                    raise
                pause = min(5.0, 0.25 * 2**failures)
                logger.warning("waiting on approval %s: %s; retrying in %.1f s", self.id, err, pause)
                _sleep_until(now + pause, deadline)
                continue
            failing_since, failures = None, 0
            if self.decided or (deadline is not None and time.monotonic() >= deadline):
                return self
            if time.monotonic() - started < slice_seconds / 2:
                # Answered "pending" well before the slice ended (a proxy cutting long polls short?): pace ourselves.
                _sleep_until(time.monotonic() + 1.0, deadline)

    def cancel(self) -> ApprovalRequest:
        """Withdraw the request (its requester or an admin); returns ``self``."""
        self._update(self.client.cancel(self.id).data)
        return self

    def events(self) -> list[dict[str, Any]]:
        """The request's timeline, oldest first."""
        return self.client.events(self.id)


def _sleep_until(moment: float, deadline: float | None) -> None:
    end = moment if deadline is None else min(moment, deadline)
    time.sleep(max(0.0, end - time.monotonic()))


class HITLClient:
    """The studio's approvals API for one API key.

    ``base_url`` is the studio's API address (``http://localhost:8000``; a
    trailing ``/api/v1`` is fine); ``timeout`` applies to each ordinary request
    (a long-poll gets its own wait on top). Thread-safe; close it (or use it as
    a context manager) when done.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        if root.endswith(API_PREFIX):
            root = root[: -len(API_PREFIX)]
        self.base_url = root
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=root + API_PREFIX,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "hitl-studio-client"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> HITLClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"HITLClient({self.base_url!r})"

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timeout: httpx.Timeout | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = self._http.request(
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            timeout=timeout if timeout is not None else self.timeout,
        )
        if response.is_error:
            raise HITLError.from_response(response)
        return response.json()

    def _request(self, data: dict[str, Any]) -> ApprovalRequest:
        return ApprovalRequest(self, data)

    def request_approval(
        self,
        title: str,
        approvers: Sequence[str] | str,
        *,
        description: str = "",
        ui_schema: dict[str, Any] | None = None,
        action_type: str | None = None,
        action_data: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
        expires_at: dt.datetime | str | None = None,
        timeout_action: str = "reject",
        escalation: list[dict[str, Any]] | None = None,
        quorum: int = 1,
        channels: Sequence[str] | None = None,
        callback_url: str | None = None,
        allow_self_approval: bool = True,
        agent_id: str | None = None,
        reminders: Sequence[int] | None = None,
        idempotency_key: str | None = None,
    ) -> ApprovalRequest:
        """Ask ``approvers`` (user emails or ``group:<name>``) to approve; returns the pending request.

        ``ui_schema`` is the JSON Schema of the form approvers may edit;
        ``timeout_seconds`` or ``expires_at`` (naive means UTC) set the deadline,
        when ``timeout_action`` (``reject``, ``approve`` or ``escalate`` through
        ``escalation``: ``[{"approvers": [...], "timeout_seconds": n}, ...]``)
        applies; ``channels`` adds ``slack``, ``email`` or ``sms`` to the studio's inbox;
        ``reminders`` are seconds before the deadline to remind whoever has not decided
        (``[]``: none; default: the studio's setting).

        The call sends an ``Idempotency-Key`` (``idempotency_key``, or a new UUID made
        once per call) and retries network errors and 502/503/504 with it up to
        :data:`CREATE_ATTEMPTS` times, so a retry never files the request twice. Pass
        your own key to make retries across calls (or processes) safe too.

        Raises:
            HITLError: 422 naming the bad field (``fields``), 401 for a bad key, 403 for a role that may not,
                409 when ``idempotency_key`` was already used for a different request.
        """
        body: dict[str, Any] = {
            "title": title,
            "approvers": [approvers] if isinstance(approvers, str) else list(approvers),
            "description": description,
            "timeout_action": timeout_action,
            "quorum": quorum,
            "allow_self_approval": allow_self_approval,
        }
        optional = {
            "ui_schema": ui_schema,
            "action_type": action_type,
            "action_data": action_data,
            "timeout_seconds": None if timeout_seconds is None else math.ceil(timeout_seconds),
            "expires_at": expires_at.isoformat() if isinstance(expires_at, dt.datetime) else expires_at,
            "escalation": escalation,
            "channels": None if channels is None else list(channels),
            "callback_url": callback_url,
            "agent_id": agent_id,
            "reminders": None if reminders is None else list(reminders),
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        return self._request(self._create(body, idempotency_key or str(uuid.uuid4())))

    def _create(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST the request, retrying what may not have reached the studio; the key makes the retries safe."""
        headers = {IDEMPOTENCY_HEADER: key}
        attempt = 1
        while True:
            try:
                return cast(dict[str, Any], self._call("POST", "/approvals", json=body, headers=headers))
            except (httpx.TransportError, HITLError) as err:
                if isinstance(err, HITLError) and err.status_code not in _RETRYABLE_STATUSES:
                    raise
                if attempt >= CREATE_ATTEMPTS:
                    raise
                pause = 0.5 * 2 ** (attempt - 1)
                logger.warning("requesting an approval: %s; retrying in %.1f s with the same key", err, pause)
                time.sleep(pause)
                attempt += 1

    def get(self, approval_id: str) -> ApprovalRequest:
        """The request's current state (404 unless you asked for it, it is addressed to you, or you are an admin)."""
        return self._request(self._call("GET", f"/approvals/{approval_id}"))

    def wait(self, approval_id: str, timeout: float | None = None) -> ApprovalRequest:
        """Shorthand for ``get(approval_id).wait(timeout)`` without the extra request."""
        return self._request({"id": approval_id, "status": PENDING}).wait(timeout)

    def list_approvals(
        self,
        *,
        status: str | None = None,
        mine: bool = False,
        search: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ApprovalRequest]:
        """Requests you may see (``mine=True``: those waiting for your decision): pending, then soonest due,
        then newest; ``search`` keeps those whose title or description contains it (any case)."""
        params: dict[str, Any] = {"mine": mine, "limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status
        if search is not None:
            params["search"] = search
        return [self._request(item) for item in self._call("GET", "/approvals", params=params)["items"]]

    def decide(
        self,
        approval_id: str,
        decision: str,
        *,
        response_data: dict[str, Any] | None = None,
        feedback: str | None = None,
    ) -> ApprovalRequest:
        """Approve (``"approve"``, optionally with edited ``response_data``) or reject (``"reject"``).

        Raises:
            HITLError: 403 if the request is not addressed to you, 409 if it is already decided,
                422 if ``response_data`` does not match the form (``fields`` names each problem).
        """
        body: dict[str, Any] = {"decision": decision}
        if response_data is not None:
            body["response_data"] = response_data
        if feedback is not None:
            body["feedback"] = feedback
        return self._request(self._call("POST", f"/approvals/{approval_id}/decision", json=body))

    def cancel(self, approval_id: str) -> ApprovalRequest:
        """Withdraw a pending request (its requester or an admin); 409 once it is decided."""
        return self._request(self._call("POST", f"/approvals/{approval_id}/cancel"))

    def events(self, approval_id: str) -> list[dict[str, Any]]:
        """Every change and attempt, oldest first, each with the state after it and its hash."""
        return cast(list[dict[str, Any]], self._call("GET", f"/approvals/{approval_id}/events"))

    def deliveries(self, approval_id: str) -> list[dict[str, Any]]:
        """Where the request went: per channel and person its status, attempts, last error, next retry, times."""
        return cast(list[dict[str, Any]], self._call("GET", f"/approvals/{approval_id}/deliveries"))

    def verify(self, approval_id: str) -> dict[str, Any]:
        """Check the event log's hash chain: ``{"valid", "events", "first_invalid_event_id"}``."""
        return cast(dict[str, Any], self._call("GET", f"/approvals/{approval_id}/verify"))

    def _wait_once(self, approval_id: str, seconds: float) -> dict[str, Any]:
        seconds = max(0.0, seconds)
        timeout = httpx.Timeout(self.timeout, read=seconds + self.timeout)
        params = {"timeout": round(seconds, 3)}
        return cast(dict[str, Any], self._call("GET", f"/approvals/{approval_id}/wait", params=params, timeout=timeout))


def requires_approval(
    client: HITLClient,
    title: str,
    approvers: Sequence[str] | str,
    *,
    timeout: float | None = 3600.0,
    describe: Callable[..., str] | None = None,
    cancel_on_timeout: bool = True,
    **request_kwargs: Any,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function so each call first asks ``approvers`` and runs only once approved.

    Each call requests an approval whose ``action_type`` is the function's
    module-qualified name and whose ``action_data`` holds the call's arguments
    by name (values that are not JSON become their ``repr``); ``describe``, if
    given, is called with the same arguments to write the description. The
    call then blocks (``async def`` functions await it in a thread) for up to
    ``timeout`` seconds (``None``: until decided). Unless ``request_kwargs``
    sets ``timeout_seconds``, ``expires_at`` or ``escalation``, the request's
    own deadline is set to ``timeout`` too, so approvers see it and its
    ``timeout_action`` applies.

    Approved: the function is called; if the approver sent ``response_data``
    and the function has an ``approval_edits`` parameter, it gets them there.
    Rejected or cancelled: :class:`ApprovalRejected`. No decision in time:
    :class:`ApprovalTimedOut`, after withdrawing the request (unless
    ``cancel_on_timeout`` is false) so nobody approves an action that will not
    run. Either way the function is not called. Other ``request_kwargs`` go to
    :meth:`HITLClient.request_approval`.
    """
    if "action_data" in request_kwargs:
        raise TypeError("requires_approval builds action_data from each call's arguments; do not pass it")
    if describe is not None and "description" in request_kwargs:
        raise TypeError("give describe or description, not both")
    request_kwargs = dict(request_kwargs)
    chosen_action_type = request_kwargs.pop("action_type", None)
    has_deadline = any(request_kwargs.get(name) for name in ("timeout_seconds", "expires_at", "escalation"))
    wait_timeout = timeout
    if timeout is not None and not has_deadline:
        request_kwargs["timeout_seconds"] = max(1, math.ceil(timeout))
        wait_timeout = timeout + DEADLINE_GRACE_SECONDS

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        takes_edits = _takes_keyword(signature, "approval_edits")
        action_type = chosen_action_type or f"{func.__module__}.{func.__qualname__}"

        def gate(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            """Ask, wait, and hand back the keyword arguments to call with; raise if not approved."""
            bound = signature.bind(*args, **kwargs)  # a wrong call fails here, before anyone is asked
            bound.apply_defaults()
            description = describe(*args, **kwargs) if describe is not None else None
            extra = dict(request_kwargs)
            if description is not None:
                extra["description"] = description
            request = client.request_approval(
                title,
                approvers,
                action_type=action_type[:_ACTION_TYPE_MAX],
                action_data=_arguments(bound),
                **extra,
            )
            request.wait(wait_timeout)
            out_of_time = not request.decided
            if out_of_time and cancel_on_timeout:
                _withdraw(request)
            if request.approved:
                if takes_edits and request.response_data is not None:
                    return {**kwargs, "approval_edits": request.response_data}
                return kwargs
            if out_of_time or request.status == "timeout":
                raise ApprovalTimedOut(request)
            raise ApprovalRejected(request)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                call_kwargs = await asyncio.to_thread(gate, args, kwargs)
                return await func(*args, **call_kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            call_kwargs = gate(args, kwargs)
            return func(*args, **call_kwargs)

        return wrapper

    return decorate


def _withdraw(request: ApprovalRequest) -> None:
    """Cancel a request nobody answered in time; if it was decided meanwhile, pick up that decision."""
    try:
        request.cancel()
    except HITLError as err:
        if err.status_code != 409:
            logger.warning("could not withdraw approval %s after its wait ran out: %s", request.id, err)
            return
        request.refresh()
    except httpx.HTTPError as err:
        logger.warning("could not withdraw approval %s after its wait ran out: %s", request.id, err)


def _takes_keyword(signature: inspect.Signature, name: str) -> bool:
    parameter = signature.parameters.get(name)
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


def _arguments(bound: inspect.BoundArguments) -> dict[str, Any]:
    """The call's arguments by name, for the approver to read (``self``/``cls`` and ``approval_edits`` left out)."""
    data: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if name in ("self", "cls", "approval_edits"):
            continue
        if bound.signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            extra = {str(key): _jsonable(item) for key, item in value.items()}
        else:
            data[name] = _jsonable(value)
    return {**extra, **data}


def _jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON can carry it; anything else (or nested too deep) as its ``repr``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if depth < 20:
        if isinstance(value, Mapping):
            return {
                key if isinstance(key, str) else repr(key): _jsonable(item, depth + 1) for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [_jsonable(item, depth + 1) for item in value]
        if isinstance(value, set | frozenset):
            return [_jsonable(item, depth + 1) for item in sorted(value, key=repr)]
    text = repr(value)
    return text if len(text) <= _REPR_MAX else text[: _REPR_MAX - 1] + "…"
