"""Typeform Response: read the responses of a form (optionally as question → answer), or delete some of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.typeform._client import TypeformClient

DELETE_BATCH = 100
"""Response ids per delete request, so the query string stays well under servers' URL limits."""


def _ids(value: Any) -> Any:
    """Ids as a list, or as text separated by commas or spaces."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


class TypeformResponseParameters(Parameters):
    operation: Literal["get_many", "delete"] = param(
        "get_many",
        title="Operation",
        description="get_many: one item per response, newest first; delete: remove the responses with these ids.",
        no_expressions=True,
    )
    form_id: str = param(
        title="Form id",
        description="The part after /to/ in the form's link (https://acme.typeform.com/to/<id>).",
        placeholder="lT4Z3j",
    )
    since: str = param(
        "",
        title="Submitted since",
        description="Only responses submitted at or after this moment (ISO 8601, UTC: 2026-01-31T09:00:00Z).",
        show_if={"operation": ["get_many"]},
    )
    until: str = param(
        "",
        title="Submitted until",
        description="Only responses submitted at or before this moment (ISO 8601, UTC).",
        show_if={"operation": ["get_many"]},
    )
    completed: Literal["any", "completed", "partial"] = param(
        "any",
        title="Completed",
        description="completed: submitted responses only; partial: those left unfinished.",
        show_if={"operation": ["get_many"]},
    )
    query: str = param(
        "",
        title="Containing",
        description="Only responses with this text in an answer or hidden field.",
        show_if={"operation": ["get_many"]},
    )
    fields: list[str] = param(
        default_factory=list,
        title="Only answers to",
        description="Field ids whose answers to return (a list, or text separated by commas); empty: every answer.",
        show_if={"operation": ["get_many"]},
        advanced=True,
    )
    flatten: bool = param(
        False,
        title="Question → answer",
        description="Output each response as {question title: answer} (choices as their labels) instead of "
        "Typeform's full response; the form is read once to learn its questions.",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Read every page; otherwise stop after 'Limit' responses.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many responses per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    response_ids: list[str] = param(
        default_factory=list,
        title="Response ids",
        description="The response_id (or token) of each response to delete: a list, or text separated by commas.",
        placeholder="{{ $json.response_id }}",
        show_if={"operation": ["delete"]},
    )

    @field_validator("fields", "response_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        return _ids(value)

    @field_validator("since", "until")
    @classmethod
    def _moment(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"{value!r} is not an ISO 8601 date and time such as 2026-01-31T09:00:00Z") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> TypeformResponseParameters:
        self.form_id = self.form_id.strip()
        if not self.form_id:
            raise ValueError("the form id is required")
        if self.operation == "delete" and not self.response_ids:
            raise ValueError("delete needs at least one response id")
        return self

    def filters(self) -> dict[str, str]:
        """The query parameters that narrow the responses."""
        query = {"since": self.since, "until": self.until, "query": self.query.strip(), "fields": ",".join(self.fields)}
        if self.completed != "any":
            query["completed"] = "true" if self.completed == "completed" else "false"
        return {name: value for name, value in query.items() if value}


class TypeformResponseNode(Node):
    type = "typeform.response"
    display_name = "Typeform Response"
    category = Category.INTEGRATION
    description = "Reads the responses of a Typeform form, optionally as question and answer, or deletes some of them."
    icon = "clipboard-list"
    Parameters = TypeformResponseParameters
    credentials = (CredentialRequirement("typeform_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        titles: dict[str, dict[str, str]] = {}
        with TypeformClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: TypeformResponseParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index, titles))
        return [produced]


def _run(
    client: TypeformClient, params: TypeformResponseParameters, index: int, titles: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    form = params.form_id
    if params.operation == "delete":
        for start in range(0, len(params.response_ids), DELETE_BATCH):
            batch = params.response_ids[start : start + DELETE_BATCH]
            client.request(
                "DELETE",
                f"/forms/{quote(form, safe='')}/responses",
                f"deleting {len(batch)} response(s) of form {form}",
                item_index=index,
                params={"included_response_ids": ",".join(batch)},
            )
        return [{"form_id": form, "deleted_response_ids": params.response_ids}]
    responses = client.responses(
        form,
        f"reading the responses of form {form}",
        limit=None if params.return_all else params.limit,
        item_index=index,
        params=params.filters(),
    )
    if not params.flatten:
        return responses
    if form not in titles:
        # Once per form and run: the answers name their field by id, the form knows its title.
        definition = client.request("GET", f"/forms/{quote(form, safe='')}", f"reading form {form}", item_index=index)
        titles[form] = _titles(definition.get("fields") or [])
    return [_flatten(response, titles[form]) for response in responses]


def _titles(fields: list[Any]) -> dict[str, str]:
    """Each question's title by field id, including the questions inside question groups."""
    found: dict[str, str] = {}
    for entry in fields:
        if not isinstance(entry, dict):
            continue
        found[str(entry.get("id"))] = str(entry.get("title") or entry.get("ref") or entry.get("id"))
        inner = (entry.get("properties") or {}).get("fields")
        if isinstance(inner, list):
            found.update(_titles(inner))
    return found


def _answer(answer: dict[str, Any]) -> Any:
    """An answer's value: the label of a choice, the labels of choices, else the value under its type."""
    kind = str(answer.get("type") or "")
    value = answer.get(kind)
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(value.get("labels") or [])
        return [*labels, value["other"]] if value.get("other") else labels
    return value


def _flatten(response: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    """``{question title: answer}``; a title asked twice gets its field's ref in brackets the second time."""
    flat: dict[str, Any] = {}
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        question = answer.get("field") or {}
        title = titles.get(str(question.get("id")), str(question.get("ref") or question.get("id")))
        if title in flat:
            title = f"{title} ({question.get('ref') or question.get('id')})"
        flat[title] = _answer(answer)
    return flat
