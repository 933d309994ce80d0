"""Calling Trello's REST API: one client per node run, the key and token as query parameters, refusals as NodeErrors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from nodes._rest import Connection, RestClient
from nodes.sdk import NodeError
from nodes.trello.credentials import TrelloApiCredential, TrelloApiFields

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


class TrelloClient(RestClient[TrelloApiFields]):
    """A client that signs every request with the key and token; use it as a context manager."""

    service = "Trello"
    credential_type = TrelloApiCredential
    not_json_hint = "Check the credential's API URL: Trello's is https://api.trello.com."

    def connect(self, fields: TrelloApiFields) -> Connection:
        return Connection(
            base_url=fields.api_url,
            headers={"Accept": "application/json", "User-Agent": "hitl-studio"},
            # Trello takes the key and token as query parameters (its Authorization header form is OAuth 1 only).
            params={"key": fields.api_key, "token": fields.token},
            secrets=(fields.api_key, fields.token),
        )

    def decode(self, response: httpx.Response, action: str, item_index: int | None = None) -> Any:
        """Trello's JSON answer; every answer of Trello has a body, so an empty one is not JSON either."""
        try:
            return response.json()
        except ValueError as err:
            raise self.not_json(response, action, item_index) from err

    def refusal(self, response: httpx.Response, action: str, item_index: int | None) -> NodeError:
        """Trello's message (JSON or plain text), with Trello's rate limit in the hint."""
        status = response.status_code
        detail = _detail(response)
        if status == 401:
            text = f"Trello did not accept the credential's key and token while {action} (401: {detail})"
            hint = HINTS[401]
        elif status == 429:
            text = f"Trello's rate limit stopped {action} (429: {detail})"
            hint = (
                "Trello allows 100 requests per 10 seconds per token: slow the workflow down (Loop Over Items with "
                "a Wait), or retry the node later."
            )
        else:
            text = f"Trello refused {action} ({status}): {detail}"
            hint = HINTS.get(status, "Trello is failing: retry later." if status >= 500 else "See Trello's message.")
        return self.error(text, hint, item_index)
