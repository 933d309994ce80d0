"""Airtable Record: list, get, create, update, upsert or delete the records of an Airtable table."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.airtable._client import BATCH_SIZE, PAGE_SIZE, AirtableClient, table_path, where
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["list", "get", "create", "update", "upsert", "delete"]
WRITES = ("create", "update", "upsert")
BY_ID = ("get", "update", "delete")


class AirtableSort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = param(title="Field", description="The field's name, as in the table.", min_length=1)
    direction: Literal["asc", "desc"] = param("asc", title="Direction")


class AirtableRecordParameters(Parameters):
    operation: Operation = param(
        "list",
        title="Operation",
        description="list: one item per record; get one record; create, update or upsert a record per item; "
        "delete a record per item.",
        no_expressions=True,
    )
    base: str = param(
        title="Base id",
        description="The base's id, app... (from its URL or the API page).",
        placeholder="appXXXXXXXXXXXXXX",
        min_length=1,
    )
    table: str = param(
        title="Table",
        description="The table's name or id (tbl...).",
        placeholder="Tasks",
        min_length=1,
    )
    record_id: str = param(
        "",
        title="Record id",
        description="The record's id, rec...",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    filter_by_formula: str = param(
        "",
        title="Filter by formula",
        description="Only records for which this Airtable formula is true, e.g. {Status} = 'Done'; empty: all.",
        placeholder="{Status} = 'Done'",
        show_if={"operation": ["list"]},
    )
    view: str = param(
        "",
        title="View",
        description="Only the records of this view (name or id), in its order; empty: the whole table.",
        show_if={"operation": ["list"]},
        advanced=True,
    )
    fields: list[str] = param(
        default_factory=list,
        title="Fields to output",
        description="Empty: every field.",
        show_if={"operation": ["list", "get"]},
        advanced=True,
    )
    sort: list[AirtableSort] = param(
        default_factory=list,
        title="Sort",
        description="Overrides the view's order.",
        show_if={"operation": ["list"]},
        advanced=True,
    )
    return_all: bool = param(
        True,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' records.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many records per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )
    source: Literal["item", "json"] = param(
        "item",
        title="Record fields from",
        description="item: the item's own fields (or only those listed); json: the JSON object below.",
        show_if={"operation": WRITES},
        no_expressions=True,
    )
    columns: list[str] = param(
        default_factory=list,
        title="Fields to send",
        description="Only these fields of the item; empty: all of them. Update changes only the fields sent.",
        show_if={"operation": WRITES, "source": ["item"]},
    )
    record_fields: dict[str, Any] | str | None = param(
        None,
        title="Fields (JSON)",
        description='The record\'s fields as a JSON object, e.g. {"Name": "{{ $json.name }}", "Done": true}.',
        widget="json",
        show_if={"operation": WRITES, "source": ["json"]},
    )
    merge_on: list[str] = param(
        default_factory=list,
        title="Match on fields",
        description="A record whose values of these fields equal the item's is updated; otherwise one is created.",
        show_if={"operation": ["upsert"]},
    )
    typecast: bool = param(
        False,
        title="Typecast",
        description="Let Airtable convert text to the fields' types and add missing select options.",
        show_if={"operation": WRITES},
        advanced=True,
    )

    @field_validator("record_fields")
    @classmethod
    def _json_object(cls, value: dict[str, Any] | str | None) -> dict[str, Any] | None:
        if isinstance(value, str):
            # Expressions and the JSON widget may hand the object over as text.
            try:
                value = json.loads(value) if value.strip() else None
            except ValueError as err:
                raise ValueError(f"the fields are not valid JSON ({err})") from err
            if value is not None and not isinstance(value, dict):
                raise ValueError("the fields must be a JSON object of field names and values")
        return value

    @model_validator(mode="after")
    def _needs(self) -> AirtableRecordParameters:
        if self.operation in BY_ID and not self.record_id.strip():
            raise ValueError(f"{self.operation} needs the record id (rec...)")
        if self.operation == "upsert" and not [name for name in self.merge_on if name.strip()]:
            raise ValueError("upsert needs at least one field to match on")
        return self

    def record(self, item: Item) -> dict[str, Any]:
        """The fields this item writes."""
        if self.source == "json":
            return dict(self.record_fields or {})
        wanted = [name for name in self.columns if name.strip()]
        if not wanted:
            return dict(item.json)
        return {name: item.json[name] for name in wanted if name in item.json}


class AirtableRecordNode(Node):
    type = "airtable.record"
    display_name = "Airtable Record"
    category = Category.INTEGRATION
    description = "Lists, gets, creates, updates, upserts or deletes records of an Airtable table."
    icon = "table"
    Parameters = AirtableRecordParameters
    credentials = (CredentialRequirement("airtable_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        every = [ctx.params(index) for index in range(len(items))]
        with AirtableClient.for_node(ctx) as client:
            if every[0].operation in ("list", "get"):
                produced: list[Item] = []
                for index, params in enumerate(every):
                    found = (
                        _list(client, params, index) if params.operation == "list" else [_get(client, params, index)]
                    )
                    produced.extend(Item(record, paired_item=index) for record in found)
                return [produced]
            results = _write(client, every, items)
        return [[Item(results[index], paired_item=index) for index in range(len(items))]]


def _table(params: AirtableRecordParameters) -> str:
    return repr(params.table.strip())


def _list(client: AirtableClient, params: AirtableRecordParameters, index: int) -> list[dict[str, Any]]:
    query: list[tuple[str, Any]] = []
    if params.filter_by_formula.strip():
        query.append(("filterByFormula", params.filter_by_formula.strip()))
    if params.view.strip():
        query.append(("view", params.view.strip()))
    query.extend(("fields[]", name) for name in params.fields if name.strip())
    for position, rule in enumerate(params.sort):
        query.extend([(f"sort[{position}][field]", rule.field), (f"sort[{position}][direction]", rule.direction)])
    limit = None if params.return_all else params.limit
    if limit is not None:
        query.append(("maxRecords", limit))
    records: list[dict[str, Any]] = []
    offset: str | None = None
    while True:
        page_size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(records))
        page = [*query, ("pageSize", page_size)] + ([("offset", offset)] if offset else [])
        answer = client.request(
            "GET",
            table_path(params.base, params.table),
            f"listing the records of {_table(params)}",
            items=[index],
            params=page,
        )
        records.extend(answer.get("records") or [])
        offset = answer.get("offset") or None
        if not offset or (limit is not None and len(records) >= limit):
            break
    return records if limit is None else records[:limit]


def _get(client: AirtableClient, params: AirtableRecordParameters, index: int) -> dict[str, Any]:
    record_id = params.record_id.strip()
    answer = client.request(
        "GET",
        table_path(params.base, params.table, record_id),
        f"getting record {record_id} of {_table(params)}",
        items=[index],
    )
    if params.fields:
        # Airtable's single-record endpoint has no fields[] parameter; trim here so get and list agree.
        wanted = set(params.fields)
        answer["fields"] = {name: value for name, value in (answer.get("fields") or {}).items() if name in wanted}
    return answer


def _write(
    client: AirtableClient, every: list[AirtableRecordParameters], items: list[Item]
) -> dict[int, dict[str, Any]]:
    """Create, update, upsert or delete a record per item, ten per request, grouped by table and options."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, params in enumerate(every):
        key = (params.base.strip(), params.table.strip(), params.typecast, tuple(params.merge_on))
        groups.setdefault(key, []).append(index)
    results: dict[int, dict[str, Any]] = {}
    for indexes in groups.values():
        for start in range(0, len(indexes), BATCH_SIZE):
            batch = indexes[start : start + BATCH_SIZE]
            results.update(_write_batch(client, [(index, every[index], items[index]) for index in batch]))
    return results


def _write_batch(
    client: AirtableClient, batch: list[tuple[int, AirtableRecordParameters, Item]]
) -> dict[int, dict[str, Any]]:
    _, params, _ = batch[0]
    indexes = [index for index, _, _ in batch]
    path = table_path(params.base, params.table)
    count = f"{len(batch)} record{'s' if len(batch) != 1 else ''}"
    if params.operation == "delete":
        ids = [p.record_id.strip() for _, p, _ in batch]
        answer = client.request(
            "DELETE",
            path,
            f"deleting {count} of {_table(params)}",
            items=indexes,
            params=[("records[]", i) for i in ids],
        )
        written = answer.get("records") or []
    else:
        written = _send(client, params, path, count, batch)
    if len(written) != len(batch):
        raise NodeError(
            f"{where(indexes)}Airtable answered {len(written)} records for {count}",
            description="Check the table in Airtable, then retry.",
            item_index=indexes[0],
        )
    return {index: dict(record) for index, record in zip(indexes, written, strict=True)}


def _send(
    client: AirtableClient,
    params: AirtableRecordParameters,
    path: str,
    count: str,
    batch: list[tuple[int, AirtableRecordParameters, Item]],
) -> list[dict[str, Any]]:
    indexes = [index for index, _, _ in batch]
    records: list[dict[str, Any]] = []
    for index, p, item in batch:
        fields = p.record(item)
        if not fields and p.operation != "update":
            raise NodeError(
                f"item {index}: there are no fields to write",
                description="Give the item fields, list ones it has under 'Fields to send', or fill in the JSON.",
                item_index=index,
            )
        records.append({"id": p.record_id.strip(), "fields": fields} if p.operation == "update" else {"fields": fields})
    body: dict[str, Any] = {"records": records, "typecast": params.typecast}
    if params.operation == "create":
        answer = client.request("POST", path, f"creating {count} in {_table(params)}", items=indexes, json=body)
    elif params.operation == "update":
        answer = client.request("PATCH", path, f"updating {count} of {_table(params)}", items=indexes, json=body)
    else:
        body["performUpsert"] = {"fieldsToMergeOn": [name.strip() for name in params.merge_on if name.strip()]}
        answer = client.request("PATCH", path, f"upserting {count} in {_table(params)}", items=indexes, json=body)
    written = list(answer.get("records") or [])
    if params.operation == "upsert":
        created = set(answer.get("createdRecords") or [])
        written = [{**record, "created": record.get("id") in created} for record in written]
    return written
