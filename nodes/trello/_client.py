"""Calling Trello's REST API: one client per node run, the key and token as query parameters, refusals as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote

import httpx

from nodes.sdk import Context, NodeError
from nodes.trello.credentials import TrelloApiCredential, TrelloApiFields

DEFAULT_TIMEOUT_SECONDS = 30.0
HINTS = {
    400: "Check the ids (24 characters, from the card's or list's share link or a previous node) and the values "
    "sent, such as the due date and the position.",
    401: "The API key or token is wrong, expired or revoked, or the token may not see this board: generate a "
    "new token for the key and paste both into the credential.",
    403: "The token's member may not change this board: ask an admin of the board for access.",
    404: "Check the id: the card or list does not exist, or was deleted.",
}


def card_path(card_id: str, *rest: str) -> str:
    """``/1/cards/<id>/...`` with each part escaped."""
    return "/1/cards/" + "/".join(quote(part.strip(), safe="") for part in (card_id, *rest))


def _detail(response: httpx.Response) -> str:
    """Trello's answer: mostly a plain text (``invalid id``), sometimes ``{"message", "error"}`` JSON."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or response.reason_phrase)
    return str(data)


class TrelloClient:
    """An ``httpx`` client that signs every request with the key and token; use it as a context manager."""

    def __init__(self, fields: TrelloApiFields, timeout: float | None = None) -> None:
        seconds = DEFAULT_TIMEOUT_SECONDS if timeout is None else max(1.0, min(timeout, DEFAULT_TIMEOUT_SECONDS))
        self._secrets = (fields.api_key, fields.token)
        self._http = httpx.Client(
            base_url=fields.api_url,
            # Trello takes the key and token as query parameters (its Authorization header form is OAuth 1 only).
            params={"key": fields.api_key, "token": fields.token},
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            timeout=seconds,
        )

    @classmethod
    def for_node(cls, ctx: Context) -> TrelloClient:
        """The client for the ``trello_api`` credential selected on the running node."""
        fields = TrelloApiCredential.parse(ctx.credential(TrelloApiCredential.id))
        return cls(fields, ctx.remaining_seconds())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _masked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def request(
        self,
        method: str,
        path: str,
        action: str,
        *,
        item_index: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request and return Trello's JSON answer.

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: From ``/1/``, e.g. from :func:`card_path`.
            action: What the request does, for the message: ``creating a card in list <id>``.
            item_index: The input item the request is for, named in the error.
            params: Query parameters besides the key and token.
            json: The JSON body.

        Raises:
            NodeError: With Trello's status and message and what to do; never the key or token.
        """
        prefix = f"item {item_index}: " if item_index is not None else ""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as err:
            raise NodeError(
                self._masked(f"{prefix}{action} failed: Trello could not be reached ({type(err).__name__}: {err})"),
                description="Check the credential's API URL and the network, then retry.",
                item_index=item_index,
            ) from err
        if response.is_success:
            try:
                return response.json()
            except ValueError as err:
                raise NodeError(
                    f"{prefix}{action}: Trello answered {response.status_code} with something other than JSON",
                    description="Check the credential's API URL: Trello's is https://api.trello.com.",
                    item_index=item_index,
                ) from err
        status = response.status_code
        detail = _detail(response)
        if status == 401:
            text = f"{prefix}Trello did not accept the credential's key and token while {action} (401: {detail})"
            hint = HINTS[401]
        elif status == 429:
            text = f"{prefix}Trello's rate limit stopped {action} (429: {detail})"
            hint = (
                "Trello allows 100 requests per 10 seconds per token: slow the workflow down (Loop Over Items with "
                "a Wait), or retry the node later."
            )
        else:
            text = f"{prefix}Trello refused {action} ({status}): {detail}"
            hint = HINTS.get(status, "Trello is failing: retry later." if status >= 500 else "See Trello's message.")
        raise NodeError(self._masked(text), description=hint, item_index=item_index)
