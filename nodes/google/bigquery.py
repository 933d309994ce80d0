"""Google BigQuery: run a parameterised SQL query, stream rows into a table, or read a table's rows."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from nodes.google._api import execute, listed
from nodes.google.credentials import GoogleServiceAccountFields, google_service
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["execute_query", "insert", "get_many"]
TABLE_OPERATIONS = ("insert", "get_many")
PAGED = ("execute_query", "get_many")
MAX_PAGE = 10_000
"""Rows asked for per page; BigQuery also caps a page at about 10 MB."""
MAX_INSERT = 500
"""Rows per insertAll request, as Google recommends for streaming inserts."""
POLL_MS = 10_000
"""How long one jobs.getQueryResults call waits for the job on Google's side."""
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LEGACY_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}
SCALAR_TYPES = frozenset(
    {
        "STRING",
        "BYTES",
        "INT64",
        "FLOAT64",
        "NUMERIC",
        "BIGNUMERIC",
        "BOOL",
        "DATE",
        "DATETIME",
        "TIME",
        "TIMESTAMP",
        "JSON",
        "GEOGRAPHY",
        "INTERVAL",
    }
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUERY_HINTS = {
    400: "Check the SQL and the query parameters: each @name in the query needs a parameter of that name, of a "
    "type the query can use.",
    403: "Give the service account the BigQuery Job User role on the project (and Data Viewer on the datasets it "
    "reads), and enable the BigQuery API.",
    404: "Check the project id, the dataset and table names in the query, and the location.",
}
TABLE_HINTS = {
    400: "Check the table's schema against the rows (column names and types).",
    403: "Give the service account the BigQuery Data Editor role on the dataset (Data Viewer to read), and enable "
    "the BigQuery API.",
    404: "Check the project id, the dataset id and the table id.",
}


class QueryParameter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = param(title="Name", description="As written after @ in the query.", min_length=1)
    type: str = param(
        "STRING",
        title="Type",
        description="A BigQuery type: STRING, INT64, FLOAT64, NUMERIC, BOOL, DATE, TIMESTAMP..., or ARRAY<INT64>.",
    )
    value: Any = param(None, title="Value", description="null binds NULL; an ARRAY takes a list.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip().removeprefix("@")
        if not NAME.match(value):
            raise ValueError(f"{value!r} is not a parameter name (letters, digits and _, not first a digit)")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        value = value.strip().upper().replace(" ", "")
        inner = value.removeprefix("ARRAY<").removesuffix(">") if value.startswith("ARRAY<") else None
        element = LEGACY_TYPES.get(inner or value, inner or value)
        if element not in SCALAR_TYPES:
            raise ValueError(f"{value!r} is not a BigQuery type such as STRING, INT64, FLOAT64, BOOL or TIMESTAMP")
        return f"ARRAY<{element}>" if inner is not None else element

    @model_validator(mode="after")
    def _array_value(self) -> QueryParameter:
        if self.type.startswith("ARRAY<") and not isinstance(self.value, list | None):
            raise ValueError(f"parameter {self.name} is an ARRAY: give it a list")
        return self

    def api(self) -> dict[str, Any]:
        """The parameter as BigQuery's QueryParameter resource: a type and a value, never spliced into SQL."""
        if self.type.startswith("ARRAY<"):
            element = self.type.removeprefix("ARRAY<").removesuffix(">")
            values = [{"value": _scalar(entry)} for entry in self.value or []]
            return {
                "name": self.name,
                "parameterType": {"type": "ARRAY", "arrayType": {"type": element}},
                "parameterValue": {"arrayValues": values},
            }
        return {
            "name": self.name,
            "parameterType": {"type": self.type},
            "parameterValue": {"value": _scalar(self.value)},
        }


def _scalar(value: Any) -> str | None:
    """A parameter value as the text BigQuery parses for its type (booleans as true/false, objects as JSON)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class BigQueryParameters(Parameters):
    operation: Operation = param(
        "execute_query",
        title="Operation",
        description="execute_query: one item per result row (or the count of rows a DML statement changed); "
        "insert the items as rows of a table; get_many: one item per row of a table.",
        no_expressions=True,
    )
    project_id: str = param(
        "",
        title="Project id",
        description="The Google Cloud project that runs the query (and holds the table); empty: the project of "
        "the service account.",
    )
    query: str = param(
        "",
        title="Query",
        description="GoogleSQL, used exactly as written: item values go in Query parameters, as @name in the query.",
        widget="code",
        # Never an expression: building SQL text from item data is how injection happens.
        no_expressions=True,
        placeholder="SELECT name, total FROM `shop.orders` WHERE customer_id = @customer",
        show_if={"operation": ["execute_query"]},
    )
    query_parameters: list[QueryParameter] = param(
        default_factory=list,
        title="Query parameters",
        description='The values of the @names, e.g. [{"name": "customer", "type": "INT64", "value": '
        '"{{ $json.id }}"}].',
        show_if={"operation": ["execute_query"]},
    )
    location: str = param(
        "",
        title="Location",
        description="Where the datasets live (US, EU, europe-west1...); empty: BigQuery works it out.",
        show_if={"operation": ["execute_query"]},
        advanced=True,
    )
    wait_seconds: int = param(
        300,
        title="Wait up to (seconds)",
        description="How long to wait for the query to finish before failing.",
        show_if={"operation": ["execute_query"]},
        advanced=True,
        ge=1,
    )
    dataset_id: str = param("", title="Dataset id", show_if={"operation": list(TABLE_OPERATIONS)})
    table_id: str = param("", title="Table id", show_if={"operation": list(TABLE_OPERATIONS)})
    columns: list[str] = param(
        default_factory=list,
        title="Columns",
        description="insert: the item fields to send (a list, or text separated by commas); empty: every field. "
        "get_many: the columns to read; empty: all.",
        show_if={"operation": list(TABLE_OPERATIONS)},
    )
    insert_id_field: str = param(
        "",
        title="Deduplication field",
        description="An item field whose value identifies the row (an order id...): BigQuery drops a row whose "
        "id it saw in the last minute. Empty: an id of this run's item, so retrying the node does not insert twice.",
        show_if={"operation": ["insert"]},
        advanced=True,
    )
    skip_invalid_rows: bool = param(
        False,
        title="Skip invalid rows",
        description="Insert the valid rows even if others are refused (the node still fails, naming them).",
        show_if={"operation": ["insert"]},
        advanced=True,
    )
    ignore_unknown_values: bool = param(
        False,
        title="Ignore unknown fields",
        description="Drop fields the table has no column for, instead of refusing the row.",
        show_if={"operation": ["insert"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' rows.",
        show_if={"operation": list(PAGED)},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many rows per item.",
        show_if={"operation": list(PAGED), "return_all": [False]},
        ge=1,
    )

    @field_validator("columns", mode="before")
    @classmethod
    def _column_list(cls, value: Any) -> Any:
        return listed(value)

    @field_validator("query_parameters", mode="before")
    @classmethod
    def _parameter_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return []
            try:
                return json.loads(value)
            except ValueError as err:
                raise ValueError(f"the query parameters are not valid JSON ({err})") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> BigQueryParameters:
        if self.operation == "execute_query" and not self.query.strip():
            raise ValueError("the query is empty")
        if self.operation in TABLE_OPERATIONS and not (self.dataset_id.strip() and self.table_id.strip()):
            raise ValueError(f"{self.operation} needs a dataset id and a table id")
        names = [parameter.name for parameter in self.query_parameters]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"query parameter {repeated[0]} is given twice")
        return self


class BigQueryNode(Node):
    type = "google.bigquery"
    display_name = "Google BigQuery"
    category = Category.INTEGRATION
    description = "Runs parameterised SQL queries in BigQuery, streams items into a table, or reads a table's rows."
    icon = "database"
    Parameters = BigQueryParameters
    credentials = (CredentialRequirement("google_service_account"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        service, fields = google_service(ctx, "bigquery", "v2")
        first: BigQueryParameters = ctx.params(0)
        if first.operation == "insert":
            return [_insert(ctx, service, fields, items)]
        produced: list[Item] = []
        for index in range(len(items)):
            params: BigQueryParameters = ctx.params(index)
            project = _project(params, fields, index)
            if params.operation == "execute_query":
                rows = _query(service, fields, params, project, index)
            else:
                rows = _read_table(service, fields, params, project, index)
            produced.extend(Item(row, paired_item=index) for row in rows)
        return [produced]


def _project(params: BigQueryParameters, fields: GoogleServiceAccountFields, index: int) -> str:
    """The project to bill and address: the one given, else the service account's own."""
    project = params.project_id.strip() or str(fields.info().get("project_id") or "")
    if not project:
        raise NodeError(
            f"item {index}: no Google Cloud project to run in: the service account key names none",
            description="Set 'Project id' to the project that holds the datasets.",
            item_index=index,
        )
    return project


def _query(
    service: Any, fields: GoogleServiceAccountFields, params: BigQueryParameters, project: str, index: int
) -> list[dict[str, Any]]:
    """Run the query, wait for its job, and read its result pages: one dict per row."""
    jobs = service.jobs()
    limit = None if params.return_all else params.limit
    body: dict[str, Any] = {
        "query": params.query,
        "useLegacySql": False,
        "parameterMode": "NAMED",
        "queryParameters": [parameter.api() for parameter in params.query_parameters],
        "maxResults": MAX_PAGE if limit is None else min(MAX_PAGE, limit),
        "timeoutMs": POLL_MS,
        "formatOptions": {"useInt64Timestamp": True},
    }
    if params.location.strip():
        body["location"] = params.location.strip()
    answer = execute(jobs.query(projectId=project, body=body), fields, "running the query", index, QUERY_HINTS)
    job = answer.get("jobReference", {})
    job_id = job.get("jobId", "")
    deadline = time.monotonic() + params.wait_seconds
    while not answer.get("jobComplete"):
        if time.monotonic() >= deadline:
            raise NodeError(
                f"item {index}: query job {job_id} did not finish within {params.wait_seconds} s",
                description="Raise 'Wait up to', or look the job up in the BigQuery console (it may still finish).",
                item_index=index,
            )
        answer = _results(jobs, fields, project, job, index, limit, None)
    if "numDmlAffectedRows" in answer:
        # An INSERT, UPDATE, DELETE or MERGE has no result rows: say how many rows it changed instead.
        return [{"jobId": job_id, "affectedRows": int(answer["numDmlAffectedRows"])}]
    schema = answer.get("schema", {}).get("fields", [])
    found = [_row(schema, row) for row in answer.get("rows", [])]
    token = answer.get("pageToken")
    while token and (limit is None or len(found) < limit):
        answer = _results(jobs, fields, project, job, index, None if limit is None else limit - len(found), token)
        found.extend(_row(schema, row) for row in answer.get("rows", []))
        token = answer.get("pageToken")
    return found if limit is None else found[:limit]


def _results(
    jobs: Any,
    fields: GoogleServiceAccountFields,
    project: str,
    job: dict[str, Any],
    index: int,
    wanted: int | None,
    token: str | None,
) -> dict[str, Any]:
    request = jobs.getQueryResults(
        projectId=job.get("projectId") or project,
        jobId=job.get("jobId"),
        location=job.get("location"),
        pageToken=token,
        maxResults=MAX_PAGE if wanted is None else min(MAX_PAGE, wanted),
        timeoutMs=POLL_MS,
        formatOptions_useInt64Timestamp=True,
    )
    return execute(request, fields, f"reading the results of query job {job.get('jobId')}", index, QUERY_HINTS)


def _read_table(
    service: Any, fields: GoogleServiceAccountFields, params: BigQueryParameters, project: str, index: int
) -> list[dict[str, Any]]:
    """A table's rows: tabledata.list sends bare cells, so the schema comes from tables.get first."""
    dataset, table = params.dataset_id.strip(), params.table_id.strip()
    where = f"{project}.{dataset}.{table}"
    selected = ",".join(params.columns) or None
    location = {"projectId": project, "datasetId": dataset, "tableId": table}
    request = service.tables().get(selectedFields=selected, **location)
    schema = execute(request, fields, f"reading the schema of table {where}", index, TABLE_HINTS)
    columns = schema.get("schema", {}).get("fields", [])
    limit = None if params.return_all else params.limit
    found: list[dict[str, Any]] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        request = service.tabledata().list(
            selectedFields=selected,
            maxResults=MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found)),
            pageToken=token,
            formatOptions_useInt64Timestamp=True,
            **location,
        )
        answer = execute(request, fields, f"reading the rows of table {where}", index, TABLE_HINTS)
        found.extend(_row(columns, row) for row in answer.get("rows", []))
        token = answer.get("pageToken")
        if not token:
            break
    return found if limit is None else found[:limit]


def _insert(ctx: Context, service: Any, fields: GoogleServiceAccountFields, items: list[Item]) -> list[Item]:
    """Stream every item as a row, grouped by table into requests of up to 500 rows."""
    batches: dict[tuple[str, str, str], list[tuple[int, dict[str, Any]]]] = {}
    options: dict[tuple[str, str, str], BigQueryParameters] = {}
    for index, item in enumerate(items):
        params: BigQueryParameters = ctx.params(index)
        target = (_project(params, fields, index), params.dataset_id.strip(), params.table_id.strip())
        options.setdefault(target, params)
        batches.setdefault(target, []).append((index, _insert_row(ctx, params, item, index)))
    produced: list[Item] = []
    for target, rows in batches.items():
        for start in range(0, len(rows), MAX_INSERT):
            chunk = rows[start : start + MAX_INSERT]
            _insert_chunk(service, fields, options[target], target, chunk)
            where = ".".join(target)
            produced.extend(
                Item({"table": where, "insertId": row["insertId"], "row": row["json"]}, paired_item=index)
                for index, row in chunk
            )
    return produced


def _insert_row(ctx: Context, params: BigQueryParameters, item: Item, index: int) -> dict[str, Any]:
    """One insertAll row: the item's chosen fields, and the id BigQuery deduplicates retried rows by."""
    data = {column: item.json.get(column) for column in params.columns} if params.columns else dict(item.json)
    key = params.insert_id_field.strip()
    if key:
        if item.json.get(key) in (None, ""):
            raise NodeError(
                f"item {index}: the item has no {key!r} field to deduplicate its row by",
                description="Set 'Deduplication field' to a field every item has, or empty it.",
                item_index=index,
            )
        insert_id = str(item.json[key])
    else:
        seed = f"{ctx.execution_id}/{ctx.node_name}/{ctx.run_index}/{index}"
        insert_id = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return {"insertId": insert_id, "json": data}


def _insert_chunk(
    service: Any,
    fields: GoogleServiceAccountFields,
    params: BigQueryParameters,
    target: tuple[str, str, str],
    chunk: list[tuple[int, dict[str, Any]]],
) -> None:
    project, dataset, table = target
    where = ".".join(target)
    first = chunk[0][0]
    body = {
        "rows": [row for _, row in chunk],
        "skipInvalidRows": params.skip_invalid_rows,
        "ignoreUnknownValues": params.ignore_unknown_values,
    }
    request = service.tabledata().insertAll(projectId=project, datasetId=dataset, tableId=table, body=body)
    answer = execute(request, fields, f"inserting rows into table {where}", first, TABLE_HINTS)
    refused: list[tuple[int, str]] = []
    for error in answer.get("insertErrors", []):
        item_index = chunk[int(error.get("index", 0))][0]
        # Without 'skip invalid rows' the valid rows come back as "stopped": only the others are at fault.
        reasons = [_reason(entry) for entry in error.get("errors", []) if entry.get("reason") != "stopped"]
        if reasons:
            refused.append((item_index, "; ".join(reasons)))
    if refused:
        listed_items = ", ".join(str(item_index) for item_index, _ in refused)
        details = " ".join(f"item {item_index}: {said}." for item_index, said in refused)
        outcome = "the other rows were inserted" if params.skip_invalid_rows else "no row of the batch was inserted"
        raise NodeError(
            f"item {refused[0][0]}: BigQuery refused the rows of items {listed_items} for table {where} "
            f"({outcome}): {details}",
            description="Fix those items' fields to match the table's columns and types, or turn on 'Ignore "
            "unknown fields' or 'Skip invalid rows'.",
            item_index=refused[0][0],
        )


def _reason(error: dict[str, Any]) -> str:
    """One insertAll error as ``column: message``, without the message's closing full stop."""
    message = str(error.get("message") or error.get("reason") or "refused").rstrip(".")
    return f"{error['location']}: {message}" if error.get("location") else message


def _row(schema: list[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any]:
    """A result row (``{"f": [{"v": ...}]}`` in schema order) as a dict of typed values."""
    return {field["name"]: _value(field, cell.get("v")) for field, cell in zip(schema, row.get("f", []), strict=False)}


def _value(field: dict[str, Any], value: Any) -> Any:
    if value is None:
        return None
    if field.get("mode") == "REPEATED":
        single = {**field, "mode": "NULLABLE"}
        return [_value(single, entry.get("v")) for entry in value]
    kind = field.get("type", "STRING")
    if kind in ("RECORD", "STRUCT"):
        return _row(field.get("fields", []), value)
    if kind in ("INTEGER", "INT64"):
        return int(value)
    if kind in ("FLOAT", "FLOAT64"):
        return float(value)
    if kind in ("BOOLEAN", "BOOL"):
        return value == "true"
    if kind == "TIMESTAMP":
        return _timestamp(value)
    if kind == "JSON":
        return json.loads(value)
    # NUMERIC and BIGNUMERIC stay text: floats would lose their exact decimals.
    return value


def _timestamp(value: str) -> str:
    """ISO 8601 text of a TIMESTAMP: microseconds since the epoch, or seconds as a float (the older format)."""
    if re.fullmatch(r"-?\d+", value):
        moment = EPOCH + timedelta(microseconds=int(value))
    else:
        moment = EPOCH + timedelta(seconds=float(value))
    return moment.isoformat().replace("+00:00", "Z")
