"""PostgreSQL: run a query, or insert, update, upsert or select rows of a table, once per item.

Values only ever travel as bound parameters, and table and column names only
as ``psycopg.sql.Identifier``; operators come from a fixed table. Nothing the
items carry is pasted into SQL text.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from nodes.postgres.credentials import PostgresCredential, connect
from nodes.sdk import (
    Category,
    Context,
    CredentialRequirement,
    Item,
    Node,
    NodeError,
    NodeOutput,
    Parameters,
    param,
)

MAX_IDENTIFIER_BYTES = 63
"""PostgreSQL silently truncates longer names; refusing them avoids writing to a truncated one."""


def _identifier(value: str) -> str:
    if not value:
        raise ValueError("a table or column name cannot be empty")
    if "\x00" in value:
        raise ValueError("a table or column name cannot contain a NUL character")
    if len(value.encode()) > MAX_IDENTIFIER_BYTES:
        raise ValueError(f"{value[:20]!r}... is longer than PostgreSQL's {MAX_IDENTIFIER_BYTES}-byte limit for names")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]

Operator = Literal[
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
]

# The only SQL an operator can become; the value is always a bound parameter.
_OPERATORS: dict[str, sql.SQL] = {
    "=": sql.SQL("{} = {}"),
    "!=": sql.SQL("{} <> {}"),
    "<": sql.SQL("{} < {}"),
    "<=": sql.SQL("{} <= {}"),
    ">": sql.SQL("{} > {}"),
    ">=": sql.SQL("{} >= {}"),
    "LIKE": sql.SQL("{} LIKE {}"),
    "ILIKE": sql.SQL("{} ILIKE {}"),
    "NOT LIKE": sql.SQL("{} NOT LIKE {}"),
    "IN": sql.SQL("{} = ANY({})"),
    "NOT IN": sql.SQL("{} <> ALL({})"),
    "IS NULL": sql.SQL("{} IS NULL"),
    "IS NOT NULL": sql.SQL("{} IS NOT NULL"),
}
_COMBINE = {"AND": sql.SQL(" AND "), "OR": sql.SQL(" OR ")}
_DIRECTIONS = {"ASC": sql.SQL("ASC"), "DESC": sql.SQL("DESC")}
_LIST_OPERATORS = frozenset({"IN", "NOT IN"})
_NO_VALUE_OPERATORS = frozenset({"IS NULL", "IS NOT NULL"})
_NUMBERED_PLACEHOLDER = re.compile(r"\$[1-9]")

QUERY = {"operation": ["execute_query"]}
TABLE = {"operation": ["insert", "update", "upsert", "select"]}
KEYED = {"operation": ["update", "upsert"]}
SELECT = {"operation": ["select"]}


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: Identifier = param(title="Column")
    operator: Operator = param("=", title="Operator", description="IN and NOT IN take a list of values.")
    value: Any = param(None, title="Value", description="Ignored by IS NULL and IS NOT NULL.")


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: Identifier = param(title="Column")
    direction: Literal["ASC", "DESC"] = param("ASC", title="Direction")


class PostgresParameters(Parameters):
    operation: Literal["execute_query", "insert", "update", "upsert", "select"] = param(
        "execute_query",
        title="Operation",
        description="execute_query: your SQL; the others build the statement from the table and the item's fields.",
        no_expressions=True,
    )
    query: str = param(
        "",
        title="Query",
        description="Used exactly as written: item values go in Query parameters, through $1, $2... "
        "(or %s) placeholders and a list, or %(name)s placeholders and an object. "
        "With %s or %(name)s placeholders, write a literal % as %%.",
        widget="code",
        # Never an expression: building SQL text from item data is how injection happens.
        no_expressions=True,
        placeholder="SELECT * FROM orders WHERE customer_id = $1",
        show_if=QUERY,
    )
    query_parameters: list[Any] | dict[str, Any] = param(
        default_factory=list,
        title="Query parameters",
        description='The values for the placeholders, e.g. ["{{ $json.id }}"]; never pasted into the SQL.',
        widget="json",
        show_if=QUERY,
    )
    schema_name: Identifier = param("public", title="Schema", show_if=TABLE, advanced=True)
    table: str = param("", title="Table", show_if=TABLE)
    columns: list[Identifier] = param(
        default_factory=list,
        title="Columns",
        description="insert/upsert: the item fields to write, each into the column of the same name; "
        "update: the columns to change; select: the columns to return. Empty: every field (select: every column).",
        show_if=TABLE,
    )
    key_columns: list[Identifier] = param(
        default_factory=list,
        title="Key columns",
        description="update: rows whose key columns equal the item's fields are changed; "
        "upsert: the columns of the primary key or a unique constraint to detect conflicts on.",
        show_if=KEYED,
    )
    where: list[Condition] = param(
        default_factory=list, title="Conditions", description="Rows must match these.", show_if=SELECT
    )
    combine: Literal["AND", "OR"] = param("AND", title="Combine conditions with", show_if=SELECT)
    order_by: list[Sort] = param(default_factory=list, title="Sort by", show_if=SELECT)
    limit: int | None = param(50, title="Limit", description="Empty: every matching row.", ge=1, show_if=SELECT)
    transaction: Literal["single", "per_item"] = param(
        "single",
        title="Transaction",
        description="single: all items commit together or not at all; per_item: each item commits on its own, "
        "so items before a failing one stay written.",
        advanced=True,
        no_expressions=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> PostgresParameters:
        if self.operation == "execute_query":
            if not self.query.strip():
                raise ValueError("the query is empty")
            return self
        if not self.table:
            raise ValueError(f"{self.operation} needs a table")
        _identifier(self.table)
        if self.operation in ("update", "upsert") and not self.key_columns:
            raise ValueError(f"{self.operation} needs at least one key column")
        return self


@dataclass(frozen=True)
class _Column:
    name: str
    is_json: bool


_COLUMNS_QUERY = """
SELECT a.attname AS name, a.atttypid IN ('json'::regtype, 'jsonb'::regtype) AS is_json
FROM pg_attribute AS a
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


class PostgresDatabaseNode(Node):
    type = "postgres.database"
    display_name = "PostgreSQL"
    category = Category.INTEGRATION
    description = "Runs a SQL query, or inserts, updates, upserts or selects rows of a PostgreSQL table, per item."
    icon = "database"
    Parameters = PostgresParameters
    credentials = (CredentialRequirement("postgres"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: PostgresParameters = ctx.params(0)
        fields = PostgresCredential.parse(ctx.credential("postgres"))
        produced: list[Item] = []
        with connect(fields, timeout=ctx.remaining_seconds()) as connection:
            run = _Run(connection)
            single = first.transaction == "single"
            with _item_errors(None), connection.transaction() if single else nullcontext():
                for index in range(len(items)):
                    with _item_errors(index), nullcontext() if single else connection.transaction():
                        params: PostgresParameters = first if index == 0 else ctx.params(index)
                        rows = run.item(params, items[index].json, index)
                    produced.extend(Item(row, paired_item=index) for row in rows)
        return [produced]


@contextmanager
def _item_errors(index: int | None) -> Iterator[None]:
    """Turn a database error while handling item ``index`` (or committing them all) into a NodeError."""
    try:
        yield
    except psycopg.Error as err:
        diag = err.diag
        primary = diag.message_primary or " ".join(str(err).split()) or type(err).__name__
        hints = [text for text in (diag.message_detail, diag.message_hint) if text]
        raise NodeError(
            f"item {index}: {primary}" if index is not None else f"committing the items failed: {primary}",
            description=" ".join(hints) or "Check the statement, the table and the item's values.",
            item_index=index,
        ) from err


class _Run:
    """One execution's connection and what it learnt about tables (their columns)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection
        self._tables: dict[tuple[str, str], dict[str, _Column]] = {}

    def item(self, params: PostgresParameters, data: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
        """The rows (as JSON) that handling one item produced."""
        if params.operation == "execute_query":
            return self._query(params, index)
        columns = self._columns(params.schema_name, params.table, index)
        table = sql.Identifier(params.schema_name, params.table)
        if params.operation == "select":
            return self._select(params, table, columns, index)
        if params.operation == "update":
            return self._update(params, table, columns, data, index)
        return self._insert(params, table, columns, data, index)

    def _fetch(self, statement: sql.Composable, values: Sequence[Any]) -> list[dict[str, Any]]:
        with self._connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(statement, values)
            return [json_safe(row) for row in cursor.fetchall()]

    def _columns(self, schema: str, table: str, index: int) -> dict[str, _Column]:
        key = (schema, table)
        if key not in self._tables:
            qualified = sql.Identifier(schema, table).as_string(self._connection)
            with self._connection.cursor(row_factory=dict_row) as cursor:
                cursor.execute(_COLUMNS_QUERY, [qualified])
                found = {row["name"]: _Column(row["name"], row["is_json"]) for row in cursor.fetchall()}
            if not found:
                raise NodeError(
                    f"item {index}: there is no table {schema}.{table}",
                    description="Check the schema and table names (they are case-sensitive) and the user's rights.",
                    item_index=index,
                )
            self._tables[key] = found
        return self._tables[key]

    def _query(self, params: PostgresParameters, index: int) -> list[dict[str, Any]]:
        values: Any = params.query_parameters
        if isinstance(values, dict):
            cursor: psycopg.Cursor[dict[str, Any]] = self._connection.cursor(row_factory=dict_row)
            values = {name: _bindable(value) for name, value in values.items()}
        elif values and _NUMBERED_PLACEHOLDER.search(params.query):
            cursor = psycopg.RawCursor(self._connection, row_factory=dict_row)
            values = [_bindable(value) for value in values]
        else:
            cursor = self._connection.cursor(row_factory=dict_row)
            # Without parameters the query goes as written: several statements allowed, % needs no escaping.
            values = [_bindable(value) for value in values] or None
        rows: list[dict[str, Any]] = []
        status: dict[str, Any] = {}
        with cursor:
            cursor.execute(params.query, values)  # type: ignore[arg-type]
            while True:
                if cursor.description is not None:
                    rows.extend(json_safe(row) for row in cursor.fetchall())
                else:
                    status = {"status": cursor.statusmessage, "rowcount": cursor.rowcount}
                if not cursor.nextset():
                    break
        return rows if rows or not status else [status]

    def _write_columns(
        self, params: PostgresParameters, columns: Mapping[str, _Column], data: Mapping[str, Any], index: int
    ) -> list[str]:
        """The columns an item writes: the listed ones, else every field; each must exist in the table and item."""
        names = list(params.columns) or list(data)
        if params.operation == "upsert":
            names += [key for key in params.key_columns if key not in names]
        for name in names:
            if name not in columns:
                raise _unknown_column(name, columns, index)
            if name not in data:
                raise NodeError(
                    f"item {index} has no field {name!r} for the column of that name",
                    description="Set the field earlier (Edit Fields), or remove the column from Columns.",
                    item_index=index,
                )
        return names

    def _insert(
        self,
        params: PostgresParameters,
        table: sql.Identifier,
        columns: Mapping[str, _Column],
        data: Mapping[str, Any],
        index: int,
    ) -> list[dict[str, Any]]:
        names = self._write_columns(params, columns, data, index)
        values = [_bindable(data[name], columns[name]) for name in names]
        if names:
            statement = sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values})").format(
                table=table,
                columns=sql.SQL(", ").join(map(sql.Identifier, names)),
                values=sql.SQL(", ").join(sql.Placeholder() * len(names)),
            )
        else:
            statement = sql.SQL("INSERT INTO {table} DEFAULT VALUES").format(table=table)
        if params.operation == "upsert":
            keys = list(params.key_columns)
            # Setting a key to itself when nothing else changes still makes RETURNING give the row.
            changed = [name for name in names if name not in keys] or keys[:1]
            statement += sql.SQL(" ON CONFLICT ({keys}) DO UPDATE SET {assignments}").format(
                keys=sql.SQL(", ").join(map(sql.Identifier, keys)),
                assignments=sql.SQL(", ").join(
                    sql.SQL("{column} = EXCLUDED.{column}").format(column=sql.Identifier(name)) for name in changed
                ),
            )
        return self._fetch(statement + sql.SQL(" RETURNING *"), values)

    def _update(
        self,
        params: PostgresParameters,
        table: sql.Identifier,
        columns: Mapping[str, _Column],
        data: Mapping[str, Any],
        index: int,
    ) -> list[dict[str, Any]]:
        keys = list(params.key_columns)
        for key in keys:
            if key not in columns:
                raise _unknown_column(key, columns, index)
            if key not in data:
                raise NodeError(
                    f"item {index} has no field {key!r} to find the rows to update",
                    description="Key columns are matched against the item's fields of the same name.",
                    item_index=index,
                )
        names = [name for name in self._write_columns(params, columns, data, index) if name not in keys]
        if not names:
            raise NodeError(
                f"item {index}: nothing to update besides the key columns",
                description="List the columns to change, or give the item fields for them.",
                item_index=index,
            )
        statement = sql.SQL("UPDATE {table} SET {assignments} WHERE {match} RETURNING *").format(
            table=table,
            assignments=sql.SQL(", ").join(
                sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder()) for name in names
            ),
            match=sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(sql.Identifier(key), sql.Placeholder()) for key in keys
            ),
        )
        values = [_bindable(data[name], columns[name]) for name in names]
        values += [_bindable(data[key], columns[key]) for key in keys]
        return self._fetch(statement, values)

    def _select(
        self, params: PostgresParameters, table: sql.Identifier, columns: Mapping[str, _Column], index: int
    ) -> list[dict[str, Any]]:
        for name in [*params.columns, *(c.column for c in params.where), *(s.column for s in params.order_by)]:
            if name not in columns:
                raise _unknown_column(name, columns, index)
        selected: sql.Composable = (
            sql.SQL(", ").join(map(sql.Identifier, params.columns)) if params.columns else sql.SQL("*")
        )
        statement = sql.SQL("SELECT {columns} FROM {table}").format(columns=selected, table=table)
        values: list[Any] = []
        conditions: list[sql.Composable] = []
        for position, condition in enumerate(params.where):
            column = sql.Identifier(condition.column)
            if condition.operator in _NO_VALUE_OPERATORS:
                conditions.append(_OPERATORS[condition.operator].format(column))
                continue
            if condition.operator in _LIST_OPERATORS and not isinstance(condition.value, list):
                raise NodeError(
                    f"item {index}: condition {position + 1} ({condition.column} {condition.operator}) needs a list",
                    description='Give a list of values, e.g. ["a", "b"] or an expression that returns one.',
                    item_index=index,
                )
            conditions.append(_OPERATORS[condition.operator].format(column, sql.Placeholder()))
            values.append(condition.value if condition.operator in _LIST_OPERATORS else _bindable(condition.value))
        if conditions:
            statement += sql.SQL(" WHERE ") + _COMBINE[params.combine].join(conditions)
        if params.order_by:
            statement += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(s.column), _DIRECTIONS[s.direction]) for s in params.order_by
            )
        if params.limit is not None:
            statement += sql.SQL(" LIMIT {}").format(sql.Placeholder())
            values.append(params.limit)
        return self._fetch(statement, values)


def _unknown_column(name: str, columns: Mapping[str, _Column], index: int) -> NodeError:
    known = ", ".join(columns)
    return NodeError(
        f"item {index}: the table has no column {name!r} (its columns: {known})",
        description="Column names are case-sensitive; fix the name, or remove the field with Edit Fields.",
        item_index=index,
    )


def _bindable(value: Any, column: _Column | None = None) -> Any:
    """A JSON value as a bound parameter: objects (and anything bound for a json column) as JSONB.

    A plain list stays a list (a PostgreSQL array) unless it holds objects or lists, or the column is JSON.
    Text for a JSON column is passed as text, which PostgreSQL parses as JSON.
    """
    if value is None or isinstance(value, str):
        return value
    if column is not None and column.is_json:
        return Jsonb(value)
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict | list) for v in value)):
        return Jsonb(value)
    return value


def json_safe(value: Any) -> Any:
    """A database value as JSON: numbers stay numbers where exact, times become ISO 8601 text.

    ``Decimal`` becomes an int when whole, a float when the float reads back as the same number,
    otherwise text (so ``numeric`` values keep every digit); bytes become base64 text.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    return str(value)
