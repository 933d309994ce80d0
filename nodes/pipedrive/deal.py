"""Pipedrive Deal: create, get, list, update, delete or search the deals of a Pipedrive company."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.pipedrive._client import PipedriveClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete", "search"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
LISTS = ("get_many", "search")
CURRENCY = re.compile(r"^[A-Z]{3}$")
UNCHANGED = "unchanged"


class CustomFieldValue(BaseModel):
    """A value of one of the company's own deal fields, by the field's API key."""

    model_config = ConfigDict(extra="forbid")

    key: str = param(
        title="Field key",
        description="The field's API key, 40 letters and digits (Company settings → Data fields → the field → "
        "⋯ → Copy API key).",
        min_length=1,
    )
    value: Any = param("", title="Value", description="Text, a number, or an option's id for a single option field.")


class PipedriveDealParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a deal per item; get one; get_many: one item per deal; update one (only the fields "
        "given); delete one; search by a term.",
        no_expressions=True,
    )
    deal_id: int = param(
        0,
        title="Deal id",
        description="The number in the deal's URL.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
        ge=0,
    )
    title: str = param(
        "", title="Title", description="update: empty keeps the current title.", show_if={"operation": WRITES}
    )
    value: float | None = param(
        None,
        title="Value",
        description="The deal's worth; empty: none on create, unchanged on update.",
        show_if={"operation": WRITES},
    )
    currency: str = param(
        "",
        title="Currency",
        description="Three-letter code such as EUR; empty: the company's default currency (or unchanged).",
        show_if={"operation": WRITES},
    )
    person_id: int | None = param(
        None,
        title="Person id",
        description="create/update: the contact person the deal is with; search: only their deals.",
        show_if={"operation": [*WRITES, "search"]},
        ge=1,
    )
    org_id: int | None = param(
        None,
        title="Organization id",
        description="create/update: the organization the deal is with; search: only its deals.",
        show_if={"operation": [*WRITES, "search"]},
        ge=1,
    )
    stage_id: int | None = param(
        None,
        title="Stage id",
        description="The pipeline stage (its pipeline follows); create: empty puts it in the first stage of the "
        "default pipeline.",
        show_if={"operation": WRITES},
        ge=1,
    )
    status: Literal["unchanged", "open", "won", "lost"] = param(
        UNCHANGED, title="Status", description="create: unchanged means open.", show_if={"operation": WRITES}
    )
    lost_reason: str = param("", title="Lost reason", show_if={"operation": WRITES, "status": ["lost"]})
    expected_close_date: str = param(
        "",
        title="Expected close date",
        description="YYYY-MM-DD; update: empty keeps it.",
        placeholder="2026-03-31",
        show_if={"operation": WRITES},
        advanced=True,
    )
    custom_fields: list[CustomFieldValue] = param(
        default_factory=list,
        title="Custom fields",
        description='Values of the company\'s own deal fields; an expression may give {"<field key>": value}.',
        show_if={"operation": WRITES},
        advanced=True,
    )
    status_filter: Literal["all_not_deleted", "open", "won", "lost", "deleted"] = param(
        "all_not_deleted", title="Status is", show_if={"operation": ["get_many"]}
    )
    term: str = param(
        "",
        title="Search term",
        description="At least 2 characters (1 with 'Exact match').",
        show_if={"operation": ["search"]},
    )
    exact_match: bool = param(
        False,
        title="Exact match",
        description="Only deals whose field equals the term, case-insensitively; otherwise a part matches.",
        show_if={"operation": ["search"]},
    )
    search_fields: list[Literal["title", "notes", "custom_fields"]] = param(
        default_factory=list,
        title="Search in",
        description="Empty: every searchable field.",
        show_if={"operation": ["search"]},
    )
    search_status: Literal["any", "open", "won", "lost"] = param(
        "any", title="Status is", show_if={"operation": ["search"]}
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' deals.",
        show_if={"operation": LISTS},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many deals per item.",
        show_if={"operation": LISTS, "return_all": [False]},
        ge=1,
    )

    @field_validator("value", "person_id", "org_id", "stage_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # An expression over a missing field gives "": treat it as the empty field it stands for.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        value = value.strip().upper()
        if value and not CURRENCY.match(value):
            raise ValueError("the currency is a three-letter code, such as EUR or USD")
        return value

    @field_validator("expected_close_date")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                date.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"the expected close date {value!r} is not YYYY-MM-DD") from err
        return value

    @field_validator("custom_fields", mode="before")
    @classmethod
    def _fields_from_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError as err:
                raise ValueError(f"the custom fields are not valid JSON ({err})") from err
        if isinstance(value, Mapping):
            return [{"key": key, "value": inner} for key, inner in value.items()]
        return value

    @model_validator(mode="after")
    def _needs(self) -> PipedriveDealParameters:
        if self.operation in BY_ID and self.deal_id < 1:
            raise ValueError(f"{self.operation} needs the deal id")
        if self.operation == "create" and not self.title.strip():
            raise ValueError("create needs the deal's title")
        if self.operation == "update" and not self.fields():
            raise ValueError("update needs at least one field to change")
        if self.operation == "search":
            shortest = 1 if self.exact_match else 2
            if len(self.term.strip()) < shortest:
                raise ValueError(f"search needs a term of at least {shortest} characters")
        return self

    def fields(self) -> dict[str, Any]:
        """The deal's fields a create or update sends, as Pipedrive names them."""
        body: dict[str, Any] = {}
        if self.title.strip():
            body["title"] = self.title.strip()
        given = {
            "value": self.value,
            "currency": self.currency or None,
            "person_id": self.person_id,
            "org_id": self.org_id,
            "stage_id": self.stage_id,
            "expected_close_date": self.expected_close_date or None,
        }
        body.update({name: value for name, value in given.items() if value is not None})
        if self.status != UNCHANGED:
            body["status"] = self.status
            if self.status == "lost" and self.lost_reason.strip():
                body["lost_reason"] = self.lost_reason.strip()
        body.update({entry.key.strip(): entry.value for entry in self.custom_fields})
        return body


class PipedriveDealNode(Node):
    type = "pipedrive.deal"
    display_name = "Pipedrive Deal"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, deletes or searches Pipedrive deals."
    icon = "handshake"
    Parameters = PipedriveDealParameters
    credentials = (CredentialRequirement("pipedrive_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with PipedriveClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: PipedriveDealParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _found(data: Any) -> list[dict[str, Any]]:
    """A search's deals: each ``item`` with its ``result_score`` beside its fields."""
    if not isinstance(data, dict):
        return []
    return [
        {**entry["item"], "result_score": entry.get("result_score")}
        for entry in data.get("items") or []
        if isinstance(entry, dict) and isinstance(entry.get("item"), dict)
    ]


def _run(client: PipedriveClient, params: PipedriveDealParameters, index: int) -> list[dict[str, Any]]:
    deal = f"/deals/{params.deal_id}"
    limit = None if params.return_all else params.limit
    match params.operation:
        case "create":
            action = f"creating deal {params.title.strip()!r}"
            return [client.request("POST", "/deals", action, item_index=index, json=params.fields())["data"]]
        case "get":
            return [client.request("GET", deal, f"getting deal {params.deal_id}", item_index=index)["data"]]
        case "get_many":
            return client.paginate(
                "/deals",
                "listing deals",
                limit=limit,
                item_index=index,
                params={"status": params.status_filter},
            )
        case "update":
            action = f"updating deal {params.deal_id}"
            return [client.request("PUT", deal, action, item_index=index, json=params.fields())["data"]]
        case "delete":
            answer = client.request("DELETE", deal, f"deleting deal {params.deal_id}", item_index=index)
            return [{"id": (answer.get("data") or {}).get("id", params.deal_id), "deleted": True}]
        case "search":
            query: dict[str, Any] = {"term": params.term.strip(), "exact_match": str(params.exact_match).lower()}
            if params.search_fields:
                query["fields"] = ",".join(params.search_fields)
            if params.person_id is not None:
                query["person_id"] = params.person_id
            if params.org_id is not None:
                query["organization_id"] = params.org_id
            if params.search_status != "any":
                query["status"] = params.search_status
            return client.paginate(
                "/deals/search",
                f"searching deals for {params.term.strip()!r}",
                limit=limit,
                item_index=index,
                params=query,
                entries_of=_found,
            )
    raise AssertionError(f"unhandled operation {params.operation!r}")
