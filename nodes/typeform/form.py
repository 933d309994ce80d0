"""Typeform Form: get a form with its questions, or list the account's forms."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.typeform._client import TypeformClient


class TypeformFormParameters(Parameters):
    operation: Literal["get", "get_many"] = param(
        "get",
        title="Operation",
        description="get one form with its questions (fields); get_many: one item per form of the account.",
        no_expressions=True,
    )
    form_id: str = param(
        "",
        title="Form id",
        description="The part after /to/ in the form's link (https://acme.typeform.com/to/<id>).",
        placeholder="lT4Z3j",
        show_if={"operation": ["get"]},
    )
    search: str = param(
        "",
        title="Title contains",
        description="Only forms whose title contains this text.",
        show_if={"operation": ["get_many"]},
    )
    workspace_id: str = param(
        "",
        title="Workspace id",
        description="Only the forms of this workspace; empty: every form the token can see.",
        show_if={"operation": ["get_many"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Read every page; otherwise stop after 'Limit' forms.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many forms per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> TypeformFormParameters:
        self.form_id = self.form_id.strip()
        if self.operation == "get" and not self.form_id:
            raise ValueError("get needs the form id")
        return self


class TypeformFormNode(Node):
    type = "typeform.form"
    display_name = "Typeform Form"
    category = Category.INTEGRATION
    description = "Gets a Typeform form with its questions, or lists the account's forms."
    icon = "file-text"
    Parameters = TypeformFormParameters
    credentials = (CredentialRequirement("typeform_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with TypeformClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: TypeformFormParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: TypeformClient, params: TypeformFormParameters, index: int) -> list[dict[str, Any]]:
    if params.operation == "get":
        form = params.form_id
        return [client.request("GET", f"/forms/{quote(form, safe='')}", f"reading form {form}", item_index=index)]
    query = {"search": params.search.strip(), "workspace_id": params.workspace_id.strip()}
    return client.pages(
        "/forms",
        "listing forms",
        limit=None if params.return_all else params.limit,
        item_index=index,
        params={name: value for name, value in query.items() if value},
    )
