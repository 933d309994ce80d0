"""Calling monday.com's GraphQL API: one client per node run, its ``errors`` (or older ``error_code``) as NodeErrors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nodes._rest import Connection, RestClient
from nodes.monday.credentials import MondayApiCredential, MondayApiFields
from nodes.sdk import NodeError

TOKEN_HINT = (
    "The API token is wrong or was regenerated: copy it again (your avatar → Developers → My access tokens) and "
    "paste it into the credential."
)
LIMIT_CODES = frozenset(
    {
        "RATE_LIMIT_EXCEEDED",
        "COMPLEXITY_BUDGET_EXHAUSTED",
        "ComplexityException",
        "DAILY_LIMIT_EXCEEDED",
        "maxConcurrencyExceeded",
        "IP_RATE_LIMIT_EXCEEDED",
    }
)
HINTS = {
    "UserUnauthorizedException": "The token's user may not do this: make them a member (or owner) of the board, "
    "or use a token with the boards:write scope.",
    "InvalidBoardIdException": "Check the board id (the number in the board's address) and that the token's user "
    "can see the board.",
    "ResourceNotFoundException": "Check the board, group and item ids: they do not exist or the token's user "
    "cannot see them.",
    "InvalidItemIdException": "Check the item id: the item does not exist, or was deleted.",
    "InvalidGroupIdException": "Check the group id (group menu → Copy group ID, such as topics or new_group12345).",
    "InvalidColumnIdException": "Check the column ids (turn on Developer mode in monday.labs to see them, such as "
    "status or date4).",
    "ColumnValueException": "The value does not fit the column's type: see monday.com's 'change column values' "
    'guide for each type\'s JSON (a status takes {"label": "Done"}, a date {"date": "2026-03-31"}).',
    "ItemNameTooLongException": "Shorten the item's name to at most 255 characters.",
    "CreateBoardException": "Check the board: it may be archived, deleted or a sub-items board.",
}


def _errors(answer: Any) -> list[dict[str, Any]]:
    """Every error of an answer as ``{"message", "code", "data"}``.

    monday.com answers GraphQL ``errors`` (``extensions.code``, ``extensions.error_data``); older API versions, and a
    few transport errors, answer ``{"error_code", "error_message", "error_data"}`` at the top level instead.
    """
    if not isinstance(answer, dict):
        return []
    found = []
    for error in answer.get("errors") or []:
        if isinstance(error, dict):
            extensions = error.get("extensions") if isinstance(error.get("extensions"), dict) else {}
            found.append(
                {
                    "message": str(error.get("message") or "").strip(),
                    "code": str(extensions.get("code") or ""),
                    "data": extensions.get("error_data") or {},
                    "retry": extensions.get("retry_in_seconds"),
                }
            )
    if answer.get("error_message") or answer.get("error_code"):
        found.append(
            {
                "message": str(answer.get("error_message") or "").strip(),
                "code": str(answer.get("error_code") or ""),
                "data": answer.get("error_data") or {},
                "retry": None,
            }
        )
    return found


def _describe(error: dict[str, Any]) -> str:
    """The message, with the column or value monday.com named in ``error_data``."""
    text = error["message"] or "no message"
    data = error["data"] if isinstance(error["data"], dict) else {}
    named = [f"{key} {data[key]}" for key in ("column_id", "column_type", "item_id", "board_id") if data.get(key)]
    return f"{text} ({', '.join(named)})" if named else text


class MondayClient(RestClient[MondayApiFields]):
    """A client signed in with the credential's token and pinned to its API version."""

    service = "monday.com"
    credential_type = MondayApiCredential

    def connect(self, fields: MondayApiFields) -> Connection:
        # Every operation goes to the one GraphQL URL, posted to as it is (a base URL would add a slash).
        self._url = fields.api_url
        return Connection(
            base_url="",
            headers={
                # A personal token goes in the header as it is, without "Bearer".
                "Authorization": fields.token,
                "API-Version": fields.api_version,
                "Accept": "application/json",
            },
            secrets=(fields.token,),
        )

    def graphql(
        self, query: str, variables: Mapping[str, Any], action: str, *, item_index: int | None = None
    ) -> dict[str, Any]:
        """Run one GraphQL operation and return its ``data``.

        Args:
            query: The operation's document.
            variables: Its variables (``JSON`` ones, such as column values, as JSON text).
            action: What it does, for the message: ``creating an item on board 123``.
            item_index: The input item it is for, named in the error.

        Raises:
            NodeError: For a transport failure, an answer that is not JSON, or any error monday.com reports, with its
                message, code and what to do; never the token.
        """
        body = {"query": query, "variables": dict(variables)}
        response = self.exchange("POST", self._url, action, item_index=item_index, json=body)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        errors = _errors(answer)
        if not isinstance(answer, dict) or (not response.is_success and not errors):
            status = response.status_code
            what = "something other than JSON" if response.is_success else response.text[:200].strip() or "no body"
            raise self.error(
                f"{action}: monday.com answered {status} with {what}",
                "monday.com is failing: retry later."
                if status >= 500
                else "Check the credential's API URL: monday.com's is https://api.monday.com/v2.",
                item_index,
            )
        if errors or not response.is_success:
            raise self._refusal(response, errors, action, item_index)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def _refusal(
        self, response: httpx.Response, errors: list[dict[str, Any]], action: str, item_index: int | None
    ) -> NodeError:
        first = errors[0]
        code = first["code"]
        detail = "; ".join(_describe(error) for error in errors)
        if response.status_code == 401 or code in ("UNAUTHENTICATED", "Unauthorized"):
            text = f"monday.com did not accept the credential's token while {action}: {detail}"
            hint = TOKEN_HINT
        elif response.status_code == 429 or code in LIMIT_CODES:
            wait = first["retry"] or response.headers.get("retry-after", "")
            text = f"monday.com's rate limit stopped {action} ({code or response.status_code}): {detail}"
            hint = (
                f"Wait {f'{wait} seconds' if str(wait).isdigit() else 'a minute'} and retry the node, or slow the "
                "workflow down (Loop Over Items with a Wait): monday.com limits requests and query complexity per "
                "minute."
            )
        else:
            text = f"monday.com refused {action} ({code or response.status_code}): {detail}"
            hint = HINTS.get(code, "monday.com is failing: retry later." if response.status_code >= 500 else "")
            hint = hint or "See monday.com's message."
        return self.error(text, hint, item_index)
