"""The skeleton every integration's HTTP client shares: :class:`RestClient`.

Each integration (GitHub, Jira, Stripe…) talks to its service through a small client in its own
``_client.py``. Those clients used to repeat the same skeleton: clamp the node's remaining time
into a timeout, build an ``httpx.Client`` from the credential, close it on exit, turn a network
failure into a :class:`~nodes.sdk.NodeError`, read the JSON answer (``{}`` for an empty one) and
turn a refusal into a NodeError. That part lives here once, so every integration fails the same
way on a dead network and never leaks its secret into a message.

What differs per service stays in the subclass: how the credential becomes a base URL, headers
and auth (:meth:`RestClient.connect`), how the service words a refusal and what to do about it
(:meth:`RestClient.refusal`), rate limits, and pagination, whose styles (``Link`` headers,
cursors, offsets, tokens in the body) have too little in common to share.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx

from nodes.sdk import Context, CredentialType, NodeError

DEFAULT_TIMEOUT_SECONDS = 30.0
"""The longest a request may take unless the client says otherwise; the node's own timeout can only shorten it."""
MINIMUM_TIMEOUT_SECONDS = 1.0
"""The shortest timeout given to ``httpx``: a node nearly out of time still gets one real attempt."""

FieldsT = TypeVar("FieldsT")


def item_prefix(item_index: int | None) -> str:
    """``item 3: `` when the error is about one input item, else nothing: how every message starts."""
    return f"item {item_index}: " if item_index is not None else ""


def clamp_timeout(timeout: float | None, ceiling: float) -> float:
    """The request timeout: ``ceiling`` when the node has no deadline, else the time left, within 1 s and ``ceiling``.

    The time left (``Context.remaining_seconds``) keeps a slow service from outliving the node's
    timeout; the floor keeps a nearly spent node from failing with a zero timeout it cannot explain.
    """
    return ceiling if timeout is None else max(MINIMUM_TIMEOUT_SECONDS, min(timeout, ceiling))


@dataclass(frozen=True)
class Connection:
    """How a client reaches its service, built from the credential by :meth:`RestClient.connect`.

    Attributes:
        base_url: What request paths are relative to.
        headers: Sent with every request (auth tokens, ``Accept``, API versions).
        params: Query parameters sent with every request, for services that take their key in the URL.
        auth: ``httpx`` auth, e.g. ``(user, password)`` for basic auth.
        secrets: Values masked as ``***`` in every message (tokens, keys, passwords); empty ones are ignored.
    """

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    auth: httpx.Auth | tuple[str, str] | None = None
    secrets: tuple[str, ...] = ()


class RestClient(Generic[FieldsT]):
    """An ``httpx`` client for one service, signed in from a credential; use it as a context manager.

    Subclasses set :attr:`service`, :attr:`credential_type` and the hints, implement
    :meth:`connect`, and override :meth:`refusal` to word the service's errors. They keep the
    ``Client(fields, timeout=None)`` constructor, so a credential's ``test_connection`` builds one
    directly and nodes use :meth:`for_node`.

    Args:
        fields: The credential's parsed ``Fields`` model.
        timeout: Seconds left for the node (``None`` for no deadline), clamped by :func:`clamp_timeout`.
    """

    service: ClassVar[str]
    """The service's name in messages: ``GitHub`` (``GitHub could not be reached``)."""
    credential_type: ClassVar[type[CredentialType]]
    """The credential type :meth:`for_node` reads from the running node."""
    default_timeout: ClassVar[float] = DEFAULT_TIMEOUT_SECONDS
    """The longest a request may take; raise it for services that take uploads."""
    unreachable_hint: ClassVar[str] = "Check the credential's API URL and the network, then retry."
    """What to do when the service cannot be reached (name the credential field holding its address)."""
    not_json_hint: ClassVar[str] = "Check the credential's API URL: it must be the service's API."
    """What to do when a success is not JSON: the address almost certainly leads somewhere else."""
    json_object: ClassVar[bool] = False
    """Whether every JSON answer must be an object: a list or a string is then :meth:`not_json` too."""
    empty_is_json: ClassVar[bool] = True
    """Whether an empty success (a 204) reads as ``{}``; ``False`` for a service that always answers JSON."""

    def __init__(self, fields: FieldsT, timeout: float | None = None) -> None:
        connection = self.connect(fields)
        self._remaining = timeout
        self._secrets = tuple(secret for secret in connection.secrets if secret)
        self._http = httpx.Client(
            base_url=connection.base_url,
            headers=dict(connection.headers),
            params=dict(connection.params),
            auth=connection.auth,
            timeout=clamp_timeout(timeout, self.default_timeout),
        )

    def connect(self, fields: FieldsT) -> Connection:
        """The base URL, headers, auth and secrets for ``fields``; every subclass implements it.

        It runs first in ``__init__``, so it may also keep what later calls need (an account id).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement connect()")

    @classmethod
    def for_node(cls, ctx: Context) -> Self:
        """The client for the credential of :attr:`credential_type` selected on the running node.

        Raises:
            NodeError: No such credential is selected, or it is incomplete.
        """
        fields = cls.credential_type.parse(ctx.credential(cls.credential_type.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def mask(self, text: str) -> str:
        """``text`` with every secret of the credential replaced by ``***``: messages end up in run logs."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, message: str, hint: str, item_index: int | None = None) -> NodeError:
        """A NodeError for ``message`` (prefixed with the item, secrets masked) and what to do about it."""
        return NodeError(self.mask(item_prefix(item_index) + message), description=hint, item_index=item_index)

    def exchange(
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request and return the answer whatever its status; only a network failure raises.

        For services whose refusals are not told by the status alone (a JSON envelope with ``ok``);
        the others use :meth:`send` or :meth:`request`. ``timeout`` replaces :attr:`default_timeout`
        as this request's ceiling (longer for an upload); the node's time left still shortens it.

        Raises:
            NodeError: ``<action> failed: <service> could not be reached (<error>)`` with :attr:`unreachable_hint`.
        """
        try:
            return self._http.request(
                method,
                url,
                params=params,
                json=json,
                content=content,
                data=data,
                files=files,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else clamp_timeout(self._remaining, timeout),
            )
        except httpx.HTTPError as err:
            raise self.unreachable(err, action, item_index) from err

    def unreachable(self, err: httpx.HTTPError, action: str, item_index: int | None) -> NodeError:
        """The NodeError for a request that got no answer; override to add to the hint (say, that retrying is safe)."""
        return self.error(
            f"{action} failed: {self.service} could not be reached ({type(err).__name__}: {err})",
            self.unreachable_hint,
            item_index,
        )

    def send(
        self,
        method: str,
        url: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """As :meth:`exchange`, but a non-2xx answer raises the NodeError :meth:`refusal` builds.

        Raises:
            NodeError: The service could not be reached, or refused the request.
        """
        response = self.exchange(
            method,
            url,
            action,
            item_index=item_index,
            params=params,
            json=json,
            content=content,
            data=data,
            files=files,
            headers=headers,
            timeout=timeout,
        )
        if not response.is_success:
            raise self.refusal(response, action, item_index)
        return response

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """The NodeError for a non-2xx answer: what the service said and what to do.

        Override it to read the service's error body and hint per status; build the error with
        :meth:`error` so the item is named and secrets are masked. This default only names the status.
        """
        status = response.status_code
        hint = f"{self.service} is failing: retry later." if status >= 500 else f"See {self.service}'s message."
        return self.error(f"{self.service} refused {action} ({status}): {response.reason_phrase}", hint, item_index)

    def decode(self, response: httpx.Response, action: str, item_index: int | None = None) -> Any:
        """The JSON of a successful answer, ``{}`` for an empty one (a 204) unless :attr:`empty_is_json` is off.

        Raises:
            NodeError: The body is not JSON (or not an object, with :attr:`json_object`), with :attr:`not_json_hint`.
        """
        if not response.content and self.empty_is_json:
            return {}
        try:
            data = response.json()
        except ValueError as err:
            raise self.not_json(response, action, item_index) from err
        if self.json_object and not isinstance(data, dict):
            raise self.not_json(response, action, item_index)
        return data

    def not_json(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """The NodeError for a success that is not JSON (or not the JSON the service answers with)."""
        return self.error(
            f"{action}: {self.service} answered {response.status_code} with something other than JSON",
            self.not_json_hint,
            item_index,
        )

    def request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        tolerate: Collection[int] = (),
    ) -> Any:
        """Send one request and return the service's JSON answer (``{}`` for an empty one, such as a 204).

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``.
            path: Below the connection's base URL (or a full URL, for pagination links).
            action: What the request does, for the message: ``creating an issue in octo/app``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters.
            json: The JSON body.
            tolerate: Refusals answered with ``None`` instead of an error: a 404 when looking up what may
                not exist yet, a 409 when someone else created it meanwhile.

        Raises:
            NodeError: The service could not be reached, refused the request, or answered something other
                than JSON; never with a secret in it.
        """
        response = self.exchange(method, path, action, item_index=item_index, params=params, json=json)
        if not response.is_success:
            if response.status_code in tolerate:
                return None
            raise self.refusal(response, action, item_index)
        return self.decode(response, action, item_index)
