"""Microsoft Teams Message: post a text or an Adaptive Card into a channel through its webhook URL, once per item."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param
from nodes.teams.credentials import TeamsWebhookCredential

DEFAULT_TIMEOUT_SECONDS = 30.0
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"
THROTTLED_IN_BODY = "Microsoft Teams endpoint returned HTTP error"
"""Incoming webhook connectors answer 200 with this text when Teams refused the message behind them."""
HINTS = {
    400: "Teams refused the message's content: check the card JSON (designer: adaptivecards.io/designer), "
    "and note that Workflows URLs take only Adaptive Cards.",
    401: "The URL's signature is wrong or expired: copy the whole URL again from the workflow or connector.",
    403: "The URL may not post here any more: check that the workflow is on and its owner still has access.",
    404: "The webhook or workflow was removed: create a new one in the channel and update the credential.",
    410: "The webhook or workflow was removed: create a new one in the channel and update the credential.",
    413: "The message is too large: Teams takes at most 28 KB per message.",
    429: "Teams is limiting this webhook: wait a minute before retrying, or send fewer messages (at most 4 a second).",
}


class TeamsMessageParameters(Parameters):
    operation: Literal["send_text", "send_card", "send_card_json"] = param(
        "send_text",
        title="Operation",
        description="send_text: a plain message (incoming webhooks only); send_card: an Adaptive Card built from "
        "a title, text, facts and buttons; send_card_json: an Adaptive Card you wrote.",
        no_expressions=True,
    )
    text: str = param(
        "",
        title="Text",
        description="In Markdown; in a card, shown under the title.",
        widget="textarea",
        show_if={"operation": ["send_text", "send_card"]},
    )
    title: str = param("", title="Title", description="Shown large and bold.", show_if={"operation": ["send_card"]})
    facts: list[dict[str, Any]] | str | None = param(
        None,
        title="Facts",
        description='Label and value pairs as JSON: [{"title": "Status", "value": "Done"}].',
        widget="json",
        show_if={"operation": ["send_card"]},
    )
    buttons: list[dict[str, Any]] | str | None = param(
        None,
        title="Buttons",
        description='Buttons opening links, as JSON: [{"title": "Open", "url": "https://..."}].',
        widget="json",
        show_if={"operation": ["send_card"]},
    )
    card: dict[str, Any] | str | None = param(
        None,
        title="Card JSON",
        description='An Adaptive Card ({"type": "AdaptiveCard", "body": [...]}), '
        'or a whole message with "attachments".',
        widget="json",
        show_if={"operation": ["send_card_json"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> TeamsMessageParameters:
        self.facts = _pairs(self.facts, "facts", ("title", "value"))
        self.buttons = _pairs(self.buttons, "buttons", ("title", "url"))
        self.card = _card(self.card)
        if self.operation == "send_text" and not self.text.strip():
            raise ValueError("send_text needs a text")
        if self.operation == "send_card_json" and self.card is None:
            raise ValueError("send_card_json needs the card JSON")
        if self.operation == "send_card" and not (self.title.strip() or self.text.strip() or self.facts):
            raise ValueError("send_card needs a title, a text or facts")
        for button in self.buttons or []:
            if not str(button["url"]).startswith(("https://", "http://")):
                raise ValueError(f"the button {button['title']!r} needs a url starting with https://")
        return self


def _json_value(value: Any, what: str) -> Any:
    """Expressions and the JSON widget may hand JSON over as text."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError as err:
            raise ValueError(f"the {what} are not valid JSON ({err})") from err
    return value


def _pairs(value: Any, what: str, keys: tuple[str, str]) -> list[dict[str, Any]] | None:
    value = _json_value(value, what)
    if not value:
        return None
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ValueError(f"the {what} must be a JSON list of objects")
    pairs = []
    for entry in value:
        # People also write {"name": ..., "value": ...}, as in other chat tools' fields.
        label = entry.get(keys[0], entry.get("name"))
        if label in (None, "") or entry.get(keys[1]) in (None, ""):
            raise ValueError(f"each of the {what} needs a {keys[0]} and a {keys[1]}")
        pairs.append({keys[0]: str(label), keys[1]: str(entry[keys[1]])})
    return pairs


def _card(value: Any) -> dict[str, Any] | None:
    value = _json_value(value, "card JSON")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("the card JSON must be an object")
    if "attachments" not in value and value.get("type") != "AdaptiveCard":
        raise ValueError(
            'the card JSON must be an Adaptive Card ("type": "AdaptiveCard") or a message with attachments'
        )
    return value


class TeamsMessageNode(Node):
    type = "teams.message"
    display_name = "Microsoft Teams Message"
    category = Category.INTEGRATION
    description = "Posts a text or an Adaptive Card into a Microsoft Teams channel through its webhook, per item."
    icon = "messages-square"
    Parameters = TeamsMessageParameters
    credentials = (CredentialRequirement("teams_webhook"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields = TeamsWebhookCredential.parse(ctx.credential(TeamsWebhookCredential.id))
        remaining = ctx.remaining_seconds()
        timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(1.0, min(remaining, DEFAULT_TIMEOUT_SECONDS))
        produced: list[Item] = []
        with httpx.Client(timeout=timeout) as http:
            for index in range(len(items)):
                params: TeamsMessageParameters = ctx.params(index)
                produced.append(Item(_post(http, fields.webhook_url, payload(params), index), paired_item=index))
        return [produced]


def payload(params: TeamsMessageParameters) -> dict[str, Any]:
    """The JSON body to post for these parameters."""
    if params.operation == "send_text":
        return {"text": params.text}
    if params.operation == "send_card_json":
        card = params.card or {}
        return card if "attachments" in card else _message_with(card)
    body: list[dict[str, Any]] = []
    if params.title.strip():
        body.append({"type": "TextBlock", "text": params.title, "size": "Large", "weight": "Bolder", "wrap": True})
    if params.text.strip():
        body.append({"type": "TextBlock", "text": params.text, "wrap": True})
    if params.facts:
        body.append({"type": "FactSet", "facts": params.facts})
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    if params.buttons:
        card["actions"] = [{"type": "Action.OpenUrl", "title": b["title"], "url": b["url"]} for b in params.buttons]
    return _message_with(card)


def _message_with(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def _post(http: httpx.Client, url: str, body: dict[str, Any], index: int) -> dict[str, Any]:
    host = urlsplit(url).hostname or "the webhook"
    action = f"item {index}: posting the message to Teams"
    try:
        response = http.post(url, json=body)
    except httpx.HTTPError as err:
        # The URL's path and query are its secret: name only the host.
        raise NodeError(
            f"{action} failed: {host} could not be reached ({type(err).__name__})",
            description="Check the credential's webhook URL and the network, then retry.",
            item_index=index,
        ) from err
    text = response.text.strip()
    status = response.status_code
    if response.is_success and THROTTLED_IN_BODY in text:
        status = _status_in(text)
    elif response.is_success:
        return {"status_code": status, "response": text}
    detail = _detail(text) or response.reason_phrase
    hint = HINTS.get(status, "Teams is failing: retry later." if status >= 500 else "See Teams' answer.")
    if status == 429 and response.headers.get("retry-after"):
        hint = f"Teams is limiting this webhook: wait {response.headers['retry-after']} seconds before retrying."
    raise NodeError(f"{action}: Teams refused it ({status}): {detail}", description=hint, item_index=index)


def _status_in(text: str) -> int:
    """429 from ``Microsoft Teams endpoint returned HTTP error 429 with ContextId ...``."""
    word = text.split(THROTTLED_IN_BODY, 1)[1].split()[:1]
    return int(word[0]) if word and word[0].isdigit() else 502


def _detail(text: str) -> str:
    """Workflows answer ``{"error": {"code", "message"}}``; incoming webhooks answer a sentence."""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return f"{error.get('code') or 'error'}: {error.get('message') or ''}".rstrip(": ")
    return text[:300]
