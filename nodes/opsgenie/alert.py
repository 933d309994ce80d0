"""Opsgenie Alert: create, get, list, close, acknowledge, add notes to or delete Opsgenie alerts."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.opsgenie._client import OpsgenieClient, alert_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "close", "acknowledge", "add_note", "delete"]
BY_IDENTIFIER = ("get", "close", "acknowledge", "add_note", "delete")
ACTIONS = ("close", "acknowledge", "add_note", "delete")
WRITES = ("create", *ACTIONS)
WITH_NOTE = ("create", "close", "acknowledge", "add_note")
MAX_MESSAGE = 130
"""Opsgenie cuts a longer message; refusing it here says so instead."""
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


class Responder(BaseModel):
    """Who is notified: a team, user, escalation or schedule, by id, or by name (a user by username)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["team", "user", "escalation", "schedule"] = param(title="Type")
    id: str = param("", title="Id", description="The responder's id; or give its name instead.")
    name: str = param("", title="Name", description="A team's, escalation's or schedule's name.")
    username: str = param("", title="Username", description="A user's email address.")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """``team:Ops``, ``user:ada@acme.com`` or ``schedule:<id>``, as people type them."""
        if not isinstance(value, str):
            return value
        kind, _, who = value.partition(":")
        kind, who = kind.strip().lower(), who.strip()
        if not who:
            raise ValueError(f"write a responder as type:name, such as team:Ops (not {value!r})")
        if UUID.match(who):
            return {"type": kind, "id": who}
        return {"type": kind, "username" if kind == "user" else "name": who}

    @model_validator(mode="after")
    def _one_reference(self) -> Responder:
        given = [key for key in ("id", "name", "username") if getattr(self, key).strip()]
        if len(given) != 1:
            raise ValueError(
                f"give a {self.type} responder's id or its {'username' if self.type == 'user' else 'name'}"
            )
        if self.type == "user" and given == ["name"]:
            raise ValueError("a user responder is given by id or username (email), not name")
        if self.type != "user" and given == ["username"]:
            raise ValueError(f"a {self.type} responder is given by id or name, not username")
        return self

    def reference(self) -> dict[str, str]:
        key = next(key for key in ("id", "name", "username") if getattr(self, key).strip())
        return {"type": self.type, key: getattr(self, key).strip()}


def _names(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class OpsgenieAlertParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an alert per item; get one; get_many: one item per alert matching a search; close, "
        "acknowledge, add_note to or delete one. Writes are processed by Opsgenie a moment later: the node waits "
        "for the outcome and outputs it.",
        no_expressions=True,
    )
    identifier: str = param(
        "",
        title="Alert",
        description="The alert's id, alias or tiny id (see Identifier type).",
        placeholder="{{ $json.alertId }}",
        show_if={"operation": BY_IDENTIFIER},
    )
    identifier_type: Literal["id", "alias", "tiny"] = param(
        "id",
        title="Identifier type",
        description="What the Alert field holds: the alert's id, the alias it was created with, or its tiny id.",
        show_if={"operation": BY_IDENTIFIER},
    )
    message: str = param(
        "",
        title="Message",
        description="The alert's title (at most 130 characters).",
        show_if={"operation": ["create"]},
    )
    alias: str = param(
        "",
        title="Alias",
        description="Your key for the alert: while an alert with this alias is open, creating another with it adds "
        "to that one instead (deduplication). It also finds the alert later with Identifier type alias.",
        placeholder="{{ $json.check_id }}",
        show_if={"operation": ["create"]},
    )
    description: str = param(
        "",
        title="Description",
        description="The alert's details, for responders (up to 15000 characters).",
        widget="textarea",
        show_if={"operation": ["create"]},
    )
    responders: list[Responder] = param(
        default_factory=list,
        title="Responders",
        description="Who is notified: a list of {type, id|name|username}, or text such as "
        "'team:Ops, user:ada@acme.com'. Empty: the integration's own responders.",
        show_if={"operation": ["create"]},
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="A list, or text separated by commas.",
        show_if={"operation": ["create"]},
    )
    priority: Literal["P1", "P2", "P3", "P4", "P5"] = param(
        "P3",
        title="Priority",
        description="P1 is critical, P5 informational.",
        show_if={"operation": ["create"]},
    )
    details: dict[str, Any] | str | None = param(
        None,
        title="Details",
        description='Extra properties shown on the alert, as a JSON object of texts: {"region": "eu-west-1"}.',
        widget="json",
        show_if={"operation": ["create"]},
    )
    entity: str = param(
        "",
        title="Entity",
        description="What the alert is about, such as a host or an application.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    source: str = param(
        "",
        title="Source",
        description="Where the alert or action comes from; empty: the caller's IP address.",
        show_if={"operation": WRITES},
        advanced=True,
    )
    user: str = param(
        "",
        title="User",
        description="The name shown as the alert's or action's author.",
        show_if={"operation": WRITES},
        advanced=True,
    )
    note: str = param(
        "",
        title="Note",
        description="add_note: the note's text; create, close and acknowledge: an optional note to add.",
        widget="textarea",
        show_if={"operation": WITH_NOTE},
    )
    query: str = param(
        "",
        title="Search query",
        description="Opsgenie's alert search, as in the Alerts page: status:open AND priority:P1; empty: every alert.",
        placeholder="status:open",
        show_if={"operation": ["get_many"]},
    )
    sort: Literal["createdAt", "updatedAt", "lastOccurredAt", "count", "priority", "status"] = param(
        "createdAt", title="Sort by", show_if={"operation": ["get_many"]}
    )
    order: Literal["desc", "asc"] = param("desc", title="Order", show_if={"operation": ["get_many"]})
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' alerts.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many alerts per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    poll_attempts: int = param(
        5,
        title="Check the outcome",
        description="How many times to ask Opsgenie whether a write was processed (about 3 s for 5); 0: output the "
        "request id without waiting.",
        show_if={"operation": WRITES},
        advanced=True,
        ge=0,
        le=10,
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("responders", mode="before")
    @classmethod
    def _responder_list(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("details", mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        """Expressions and the JSON widget may hand the details over as text."""
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = json.loads(value)
            except ValueError as err:
                raise ValueError(f"the details are not valid JSON ({err})") from err
        if value is not None and not isinstance(value, dict):
            raise ValueError("the details must be a JSON object")
        return value

    @model_validator(mode="after")
    def _needs(self) -> OpsgenieAlertParameters:
        if self.operation in BY_IDENTIFIER and not self.identifier.strip():
            raise ValueError(f"{self.operation} needs the alert's identifier")
        if self.operation == "create":
            if not self.message.strip():
                raise ValueError("create needs a message")
            if len(self.message.strip()) > MAX_MESSAGE:
                raise ValueError(f"the message is longer than {MAX_MESSAGE} characters")
        if self.operation == "add_note" and not self.note.strip():
            raise ValueError("add_note needs the note's text")
        return self

    def alert(self) -> dict[str, Any]:
        """The create body, with only what was given."""
        body: dict[str, Any] = {"message": self.message.strip(), "priority": self.priority}
        for name, value in (
            ("alias", self.alias),
            ("entity", self.entity),
            ("source", self.source),
            ("user", self.user),
            ("note", self.note),
        ):
            if value.strip():
                body[name] = value.strip()
        if self.description.strip():
            body["description"] = self.description
        if self.responders:
            body["responders"] = [responder.reference() for responder in self.responders]
        if self.tags:
            body["tags"] = self.tags
        if self.details:
            # Opsgenie keeps details as texts; sending numbers would make it refuse the alert.
            body["details"] = {
                key: value if isinstance(value, str) else json.dumps(value) for key, value in self.details.items()
            }
        return body

    def action(self) -> dict[str, str]:
        """The ``user``, ``source`` and ``note`` of a close, acknowledge or note, when given."""
        return {
            name: value.strip()
            for name, value in (("user", self.user), ("source", self.source), ("note", self.note))
            if value.strip()
        }


class OpsgenieAlertNode(Node):
    type = "opsgenie.alert"
    display_name = "Opsgenie Alert"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, closes, acknowledges, adds notes to or deletes Opsgenie alerts."
    icon = "megaphone"
    Parameters = OpsgenieAlertParameters
    credentials = (CredentialRequirement("opsgenie_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with OpsgenieClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: OpsgenieAlertParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: OpsgenieClient, params: OpsgenieAlertParameters, index: int) -> list[dict[str, Any]]:
    identifier = params.identifier.strip()
    by = {"identifierType": params.identifier_type}
    named = f"alert {identifier}" if params.identifier_type == "id" else f"alert {params.identifier_type} {identifier}"
    attempts = params.poll_attempts
    match params.operation:
        case "create":
            return [
                client.write(
                    "POST", "/v2/alerts", "creating an alert", item_index=index, attempts=attempts, json=params.alert()
                )
            ]
        case "get":
            answer = client.request("GET", alert_path(identifier), f"getting {named}", item_index=index, params=by)
            return [answer.get("data") or {}]
        case "get_many":
            query: dict[str, Any] = {"sort": params.sort, "order": params.order}
            if params.query.strip():
                query["query"] = params.query.strip()
            return client.paginate(
                "listing alerts", limit=None if params.return_all else params.limit, item_index=index, params=query
            )
        case "close" | "acknowledge":
            verb = "closing" if params.operation == "close" else "acknowledging"
            path = alert_path(identifier, params.operation)
            return [
                client.write(
                    "POST",
                    path,
                    f"{verb} {named}",
                    item_index=index,
                    attempts=attempts,
                    params=by,
                    json=params.action(),
                )
            ]
        case "add_note":
            path = alert_path(identifier, "notes")
            return [
                client.write(
                    "POST",
                    path,
                    f"adding a note to {named}",
                    item_index=index,
                    attempts=attempts,
                    params=by,
                    json=params.action(),
                )
            ]
        case "delete":
            # DELETE carries no body: Opsgenie takes the author and source as query parameters.
            extra = {name: value for name, value in params.action().items() if name != "note"}
            return [
                client.write(
                    "DELETE",
                    alert_path(identifier),
                    f"deleting {named}",
                    item_index=index,
                    attempts=attempts,
                    params={**by, **extra},
                )
            ]
    raise AssertionError(f"unhandled operation {params.operation!r}")
