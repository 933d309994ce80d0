"""MySQL: run a query, or insert, update, upsert, delete or select rows of a table, once per item.

Values only ever travel as bound parameters (the driver escapes them), table and column names only through
:func:`quote_identifier` once they are found in the server's own list of the table's columns, and operators
come from a fixed table. Nothing the items carry is pasted into SQL text. The connection never turns on
multiple statements, so the server refuses ``SELECT 1; DROP TABLE t`` as a whole; MariaDB and MySQL both work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

import pymysql
from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pymysql.cursors import DictCursor

from nodes.mysql.credentials import MysqlCredential, connect, reason
from nodes.postgres.database import json_safe
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

MAX_IDENTIFIER_CHARS = 64
"""MySQL's limit for table and column names."""

Operation = Literal["execute_query", "insert", "update", "upsert", "delete", "select"]
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]

# The only SQL an operator can become; the value is always a bound parameter.
_OPERATORS: dict[str, str] = {
    "=": "{} = %s",
    "!=": "{} <> %s",
    "<": "{} < %s",
    "<=": "{} <= %s",
    ">": "{} > %s",
    ">=": "{} >= %s",
    "LIKE": "{} LIKE %s",
    "NOT LIKE": "{} NOT LIKE %s",
    "IS NULL": "{} IS NULL",
    "IS NOT NULL": "{} IS NOT NULL",
}
# IN () is a syntax error in MySQL: an empty list matches nothing (IN) or everything (NOT IN).
_LIST_OPERATORS: dict[str, tuple[str, str]] = {"IN": ("{} IN ({})", "FALSE"), "NOT IN": ("{} NOT IN ({})", "TRUE")}
_COMBINE = {"AND": " AND ", "OR": " OR "}
_DIRECTIONS = {"ASC": "ASC", "DESC": "DESC"}
_JSON_CHECK = re.compile(r"^json_valid\(`((?:[^`]|``)+)`\)$", re.IGNORECASE)

QUERY = {"operation": ["execute_query"]}
TABLE = {"operation": ["insert", "update", "upsert", "delete", "select"]}
WRITE = {"operation": ["insert", "update", "upsert", "select"]}
KEYED = {"operation": ["update", "upsert", "delete"]}
INSERTS = {"operation": ["insert", "upsert"]}
SELECT = {"operation": ["select"]}

ERROR_HINTS = {
    1048: "Give the item a value for that column, or let the column accept NULL.",
    1054: "Check the column names in the query; MySQL names the unknown one.",
    1062: "A row with this key already exists: use upsert to update it, or change the value.",
    1064: "Check the SQL near the text MySQL quotes.",
    1146: "Check the table's name and the database the credential opens.",
    1205: "Another transaction holds the rows: retry the node.",
    1213: "Two transactions blocked each other: retry the node.",
    1264: "The value is out of the column's range: check the item's value or widen the column.",
    1292: "The value does not fit the column's type: dates as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.",
    1366: "The value does not fit the column's type: check the item's value.",
    1406: "The text is longer than the column allows: shorten it or widen the column.",
    1451: "Other rows still refer to this row through a foreign key: delete or change them first.",
    1452: "The row refers to a row that does not exist (a foreign key): create that row first.",
    1969: "The statement ran out of the node's time: raise the node's timeout or make the query faster.",
    3024: "The statement ran out of the node's time: raise the node's timeout or make the query faster.",
}


def _identifier(value: str) -> str:
    if not value:
        raise ValueError("a table or column name cannot be empty")
    if "\x00" in value:
        raise ValueError("a table or column name cannot contain a NUL character")
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise ValueError(f"{value[:20]!r}... is longer than MySQL's {MAX_IDENTIFIER_CHARS}-character limit for names")
    if value.endswith(" "):
        raise ValueError(f"{value!r} ends with a space, which MySQL does not allow in names")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


def quote_identifier(name: str, allowed: Collection[str]) -> str:
    """``name`` quoted for MySQL (`` `name` ``), refused unless it is one of ``allowed``.

    ``allowed`` holds the names the server listed (a table's columns, the database's tables), so only
    names that exist are ever written into a statement. A backtick inside is doubled, as MySQL wants, and
    ``%`` too, because statements with values go through the driver's ``%`` formatting.

    Raises:
        ValueError: ``name`` is not one of ``allowed``.
    """
    if name not in allowed:
        raise ValueError(f"{name!r} is not a known table or column")
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: Identifier = param(title="Column")
    operator: Operator = param("=", title="Operator", description="IN and NOT IN take a list of values.")
    value: Any = param(None, title="Value", description="Ignored by IS NULL and IS NOT NULL.")


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: Identifier = param(title="Column")
    direction: Literal["ASC", "DESC"] = param("ASC", title="Direction")


class MysqlParameters(Parameters):
    operation: Operation = param(
        "execute_query",
        title="Operation",
        description="execute_query: your SQL; the others build the statement from the table and the item's fields.",
        no_expressions=True,
    )
    query: str = param(
        "",
        title="Query",
        description="One statement, used exactly as written: item values go in Query parameters, through %s "
        "placeholders and a list, or %(name)s placeholders and an object; a list value becomes (a, b, c) for "
        "IN %s. With parameters, write a literal % as %%.",
        widget="code",
        # Never an expression: building SQL text from item data is how injection happens.
        no_expressions=True,
        placeholder="SELECT * FROM orders WHERE customer_id = %s",
        show_if=QUERY,
    )
    query_parameters: list[Any] | dict[str, Any] = param(
        default_factory=list,
        title="Query parameters",
        description='The values for the placeholders, e.g. ["{{ $json.id }}"]; never pasted into the SQL.',
        widget="json",
        show_if=QUERY,
    )
    table: str = param("", title="Table", description="A table of the credential's database.", show_if=TABLE)
    columns: list[Identifier] = param(
        default_factory=list,
        title="Columns",
        description="insert/upsert: the item fields to write, each into the column of the same name; "
        "update: the columns to change; select: the columns to return. Empty: every field (select: every column).",
        show_if=WRITE,
    )
    key_columns: list[Identifier] = param(
        default_factory=list,
        title="Match columns",
        description="update and delete: rows whose match columns equal the item's fields of the same name "
        "(NULL matches NULL); upsert: a unique key's columns, left unchanged when the row exists.",
        show_if=KEYED,
    )
    batch: bool = param(
        False,
        title="One statement for all items",
        description="Write every item with one multi-row INSERT (much faster for many items). The first item's "
        "table and columns apply to all, and the output holds the values written rather than the rows read back.",
        show_if=INSERTS,
    )
    where: list[Condition] = param(
        default_factory=list, title="Conditions", description="Rows must match these.", show_if=SELECT
    )
    combine: Literal["AND", "OR"] = param("AND", title="Combine conditions with", show_if=SELECT)
    order_by: list[Sort] = param(default_factory=list, title="Sort by", show_if=SELECT)
    return_all: bool = param(False, title="Return all", description="Every matching row.", show_if=SELECT)
    limit: int = param(
        50,
        title="Limit",
        description="At most this many rows per item.",
        ge=1,
        show_if={**SELECT, "return_all": [False]},
    )
    transaction: Literal["single", "per_item"] = param(
        "single",
        title="Transaction",
        description="single: all items commit together or not at all; per_item: each item commits on its own, "
        "so items before a failing one stay written. Statements that change tables (CREATE, ALTER...) commit "
        "at once in MySQL whatever this says.",
        advanced=True,
        no_expressions=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> MysqlParameters:
        if self.operation == "execute_query":
            if not self.query.strip():
                raise ValueError("the query is empty")
            return self
        if not self.table:
            raise ValueError(f"{self.operation} needs a table")
        _identifier(self.table)
        if self.operation in KEYED["operation"] and not self.key_columns:
            raise ValueError(f"{self.operation} needs at least one match column")
        return self


@dataclass(frozen=True)
class _Table:
    """A table as the server describes it: the only names statements may use."""

    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    auto_increment: str | None
    json_columns: frozenset[str]

    @property
    def quoted(self) -> str:
        return quote_identifier(self.name, {self.name})

    def column(self, name: str, index: int) -> str:
        """The table's column called ``name`` (case-insensitive, as MySQL compares column names)."""
        if name in self.columns:
            return name
        for column in self.columns:
            if column.lower() == name.lower():
                return column
        raise NodeError(
            f"item {index}: the table {self.name} has no column {name!r} (its columns: {', '.join(self.columns)})",
            description="Fix the name, or remove the field with Edit Fields.",
            item_index=index,
        )

    def q(self, column: str) -> str:
        return quote_identifier(column, self.columns)

    def match(self, columns: Sequence[str]) -> str:
        """``WHERE`` text matching ``columns`` to bound values; ``<=>`` so that NULL matches NULL."""
        return " AND ".join(f"{self.q(column)} <=> %s" for column in columns)


_TABLES_QUERY = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
_COLUMNS_QUERY = """
SELECT COLUMN_NAME, DATA_TYPE, COLUMN_KEY, EXTRA FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION
"""
# MariaDB's JSON type is LONGTEXT with this check; MySQL has a real JSON type instead.
_MARIADB_JSON_QUERY = """
SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = %s
"""


class MysqlDatabaseNode(Node):
    type = "mysql.database"
    display_name = "MySQL"
    category = Category.INTEGRATION
    description = "Runs a SQL query, or inserts, updates, upserts, deletes or selects rows of a MySQL table, per item."
    icon = "database"
    Parameters = MysqlParameters
    credentials = (CredentialRequirement("mysql"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        first: MysqlParameters = ctx.params(0)
        fields = MysqlCredential.parse(ctx.credential("mysql"))
        with connect(fields, timeout=ctx.remaining_seconds()) as connection:
            run = _Run(connection)
            try:
                if first.batch and first.operation in INSERTS["operation"]:
                    produced = run.batch(first, items)
                else:
                    produced = self._each(ctx, run, first, items)
            except BaseException:
                with suppress(pymysql.MySQLError):
                    connection.rollback()
                raise
        return [produced]

    @staticmethod
    def _each(ctx: Context, run: _Run, first: MysqlParameters, items: list[Item]) -> list[Item]:
        single = first.transaction == "single"
        produced: list[Item] = []
        for index in range(len(items)):
            with _item_errors(index):
                params: MysqlParameters = first if index == 0 else ctx.params(index)
                rows = run.item(params, items[index].json, index)
                if not single:
                    run.commit()
            produced.extend(Item(row, paired_item=index) for row in rows)
        if single:
            with _item_errors(None):
                run.commit()
        return produced


@contextmanager
def _item_errors(index: int | None, what: str = "committing the items") -> Iterator[None]:
    """Turn a database error while handling item ``index`` (or all of them) into a NodeError."""
    try:
        yield
    except pymysql.MySQLError as err:
        code = _server_code(err)
        raise NodeError(
            f"item {index}: {reason(err)}" if index is not None else f"{what} failed: {reason(err)}",
            description=ERROR_HINTS.get(code or 0, "Check the statement, the table and the item's values."),
            item_index=index,
        ) from err


def _server_code(err: pymysql.MySQLError) -> int | None:
    """The server's error number, or ``None`` for the driver's own errors."""
    return err.args[0] if err.args and isinstance(err.args[0], int) else None


class _Run:
    """One execution's connection and what it learnt about tables."""

    def __init__(self, connection: pymysql.connections.Connection) -> None:
        self._connection = connection
        self._mariadb = "mariadb" in connection.get_server_info().lower()
        self._tables: dict[str, _Table] = {}

    def commit(self) -> None:
        self._connection.commit()

    def item(self, params: MysqlParameters, data: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
        """The rows (as JSON) that handling one item produced."""
        if params.operation == "execute_query":
            return self._query(params, index)
        table = self._table(params.table, index)
        match params.operation:
            case "select":
                return self._select(params, table, index)
            case "update":
                return self._update(params, table, data, index)
            case "delete":
                return self._delete(params, table, data, index)
        return self._insert(params, table, data, index)

    def _fetch(self, statement: str, values: Sequence[Any], table: _Table | None = None) -> list[dict[str, Any]]:
        with self._connection.cursor(DictCursor) as cursor:
            cursor.execute(statement, values)
            return [json_row(row, table.json_columns if table else frozenset()) for row in cursor.fetchall()]

    def _write(self, statement: str, values: Sequence[Any]) -> tuple[int, int]:
        """Run a statement that changes rows; returns (affected rows, the id MySQL generated or 0)."""
        with self._connection.cursor() as cursor:
            cursor.execute(statement, values)
            return cursor.rowcount, cursor.lastrowid or 0

    def _table(self, name: str, index: int | None) -> _Table:
        if name not in self._tables:
            with self._connection.cursor() as cursor:
                cursor.execute(_TABLES_QUERY, (name,))
                found = [row[0] for row in cursor.fetchall()]
                # information_schema compares names without case; the table's own spelling wins.
                real = name if name in found else found[0] if len(found) == 1 else None
                if real is None:
                    raise NodeError(
                        f"item {index}: there is no table {name!r} in the credential's database",
                        description="Check the table's name (it can be case-sensitive) and the user's rights.",
                        item_index=index,
                    )
                cursor.execute(_COLUMNS_QUERY, (real,))
                described = cursor.fetchall()
                json_columns = {column for column, data_type, _, _ in described if data_type.lower() == "json"}
                if self._mariadb:
                    cursor.execute(_MARIADB_JSON_QUERY, (real,))
                    for (clause,) in cursor.fetchall():
                        checked = _JSON_CHECK.match(clause.strip())
                        if checked:
                            json_columns.add(checked.group(1).replace("``", "`"))
            self._tables[name] = _Table(
                name=real,
                columns=tuple(column for column, _, _, _ in described),
                primary_key=tuple(column for column, _, key, _ in described if key == "PRI"),
                auto_increment=next(
                    (column for column, _, _, extra in described if "auto_increment" in extra.lower()), None
                ),
                json_columns=frozenset(json_columns),
            )
        return self._tables[name]

    def _query(self, params: MysqlParameters, index: int) -> list[dict[str, Any]]:
        raw = params.query_parameters
        values: Any
        if isinstance(raw, dict):
            values = {name: bindable(value) for name, value in raw.items()} or None
        else:
            # Without parameters the driver leaves the query alone, so a literal % needs no escaping.
            values = [bindable(value) for value in raw] or None
        rows: list[dict[str, Any]] = []
        status: dict[str, Any] = {}
        with self._connection.cursor(DictCursor) as cursor:
            try:
                cursor.execute(params.query, values)
            except (pymysql.err.ProgrammingError, TypeError, ValueError, KeyError) as err:
                if isinstance(err, pymysql.err.ProgrammingError) and _server_code(err) is not None:
                    if _server_code(err) == 1064 and holds_several_statements(params.query):
                        raise NodeError(
                            f"item {index}: the query holds more than one statement, and MySQL runs one at a time here",
                            description="Put each statement in its own MySQL node (or run them one per item).",
                            item_index=index,
                        ) from err
                    raise
                # The driver's own % formatting failed: nothing reached the server.
                raise NodeError(
                    f"item {index}: the query's placeholders do not match its parameters ({err})",
                    description="Give one value per %s in a list, or an object with a key per %(name)s; "
                    "write a literal % as %% when the query has parameters.",
                    item_index=index,
                ) from err
            while True:
                if cursor.description is not None:
                    rows.extend(json_row(row) for row in cursor.fetchall())
                else:
                    status = {"affected_rows": cursor.rowcount}
                    if cursor.lastrowid:
                        status["insert_id"] = cursor.lastrowid
                if not cursor.nextset():
                    break
        return rows if rows or not status else [status]

    def _fields(
        self, params: MysqlParameters, table: _Table, data: Mapping[str, Any], index: int
    ) -> list[tuple[str, str]]:
        """The (item field, column) pairs an item writes: the listed ones, else every field of the item."""
        names = list(params.columns) or list(data)
        if params.operation == "upsert":
            names += [key for key in params.key_columns if key not in names]
        pairs: list[tuple[str, str]] = []
        for name in names:
            column = table.column(name, index)
            if name not in data:
                raise NodeError(
                    f"item {index} has no field {name!r} for the column of that name",
                    description="Set the field earlier (Edit Fields), or remove the column from Columns.",
                    item_index=index,
                )
            pairs.append((name, column))
        return pairs

    @staticmethod
    def _insert_statement(table: _Table, columns: list[str], keys: Collection[str] | None, *, batch: bool) -> str:
        """``INSERT``, or with ``keys`` an upsert that leaves them alone and updates the other columns."""
        statement = (
            f"INSERT INTO {table.quoted} ({', '.join(map(table.q, columns))}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        if keys is None:
            return statement
        assignments = [f"{table.q(column)} = VALUES({table.q(column)})" for column in columns if column not in keys]
        auto = table.auto_increment
        if auto and auto not in columns and not batch:
            # Makes MySQL report the id of the row it updated too, so the row can be read back.
            assignments.append(f"{table.q(auto)} = LAST_INSERT_ID({table.q(auto)})")
        if not assignments:
            first = table.q(columns[0])
            assignments.append(f"{first} = {first}")
        return statement + " ON DUPLICATE KEY UPDATE " + ", ".join(assignments)

    def _insert(
        self, params: MysqlParameters, table: _Table, data: Mapping[str, Any], index: int
    ) -> list[dict[str, Any]]:
        pairs = self._fields(params, table, data, index)
        columns = [column for _, column in pairs]
        values = [writable(data[name]) for name, _ in pairs]
        keys = _upsert_keys(params, table, index)
        if columns:
            statement = self._insert_statement(table, columns, keys, batch=False)
        else:
            statement = f"INSERT INTO {table.quoted} () VALUES ()"
        _, new_id = self._write(statement, values)
        written = {column: data[name] for name, column in pairs}
        return self._read_back(table, written, new_id, keys or [])

    def _read_back(
        self, table: _Table, written: dict[str, Any], new_id: int, keys: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The row an insert or upsert wrote, read again so it carries the table's defaults and generated id."""
        auto = table.auto_increment
        lookup: dict[str, Any]
        if auto and new_id and auto not in written:
            lookup = {auto: new_id}
        elif keys:
            lookup = {key: written[key] for key in keys}
        elif table.primary_key and all(key in written for key in table.primary_key):
            lookup = {key: written[key] for key in table.primary_key}
        else:
            # Nothing identifies the row: what was written is all there is to show.
            return [json_safe(written)]
        statement = f"SELECT * FROM {table.quoted} WHERE {table.match(list(lookup))}"
        return self._fetch(statement, [writable(value) for value in lookup.values()], table)

    def _keys(self, params: MysqlParameters, table: _Table, data: Mapping[str, Any], index: int) -> dict[str, Any]:
        """The match columns and the item's values for them."""
        keys: dict[str, Any] = {}
        for key in params.key_columns:
            column = table.column(key, index)
            if key not in data:
                raise NodeError(
                    f"item {index} has no field {key!r} to find the rows to {params.operation}",
                    description="Match columns are compared with the item's fields of the same name.",
                    item_index=index,
                )
            keys[column] = data[key]
        return keys

    def _update(
        self, params: MysqlParameters, table: _Table, data: Mapping[str, Any], index: int
    ) -> list[dict[str, Any]]:
        keys = self._keys(params, table, data, index)
        pairs = [(name, column) for name, column in self._fields(params, table, data, index) if column not in keys]
        if not pairs:
            raise NodeError(
                f"item {index}: nothing to update besides the match columns",
                description="List the columns to change, or give the item fields for them.",
                item_index=index,
            )
        assignments = ", ".join(f"{table.q(column)} = %s" for _, column in pairs)
        key_values = [writable(value) for value in keys.values()]
        self._write(
            f"UPDATE {table.quoted} SET {assignments} WHERE {table.match(list(keys))}",
            [writable(data[name]) for name, _ in pairs] + key_values,
        )
        return self._fetch(f"SELECT * FROM {table.quoted} WHERE {table.match(list(keys))}", key_values, table)

    def _delete(
        self, params: MysqlParameters, table: _Table, data: Mapping[str, Any], index: int
    ) -> list[dict[str, Any]]:
        keys = self._keys(params, table, data, index)
        deleted, _ = self._write(
            f"DELETE FROM {table.quoted} WHERE {table.match(list(keys))}", [writable(value) for value in keys.values()]
        )
        return [{**json_safe(keys), "deleted_rows": deleted}]

    def _select(self, params: MysqlParameters, table: _Table, index: int) -> list[dict[str, Any]]:
        selected = ", ".join(table.q(table.column(name, index)) for name in params.columns) or "*"
        statement = f"SELECT {selected} FROM {table.quoted}"
        values: list[Any] = []
        conditions: list[str] = []
        for position, condition in enumerate(params.where):
            column = table.q(table.column(condition.column, index))
            if condition.operator in _LIST_OPERATORS:
                if not isinstance(condition.value, list):
                    raise NodeError(
                        f"item {index}: condition {position + 1} ({condition.column} {condition.operator}) "
                        "needs a list",
                        description='Give a list of values, e.g. ["a", "b"] or an expression that returns one.',
                        item_index=index,
                    )
                template, empty = _LIST_OPERATORS[condition.operator]
                if condition.value:
                    conditions.append(template.format(column, ", ".join(["%s"] * len(condition.value))))
                    values.extend(writable(value) for value in condition.value)
                else:
                    conditions.append(empty)
                continue
            conditions.append(_OPERATORS[condition.operator].format(column))
            if "%s" in _OPERATORS[condition.operator]:
                values.append(writable(condition.value))
        if conditions:
            statement += " WHERE " + _COMBINE[params.combine].join(conditions)
        if params.order_by:
            statement += " ORDER BY " + ", ".join(
                f"{table.q(table.column(sort.column, index))} {_DIRECTIONS[sort.direction]}" for sort in params.order_by
            )
        if not params.return_all:
            statement += " LIMIT %s"
            values.append(params.limit)
        return self._fetch(statement, values, table)

    def batch(self, params: MysqlParameters, items: list[Item]) -> list[Item]:
        """Insert (or upsert) every item with one multi-row statement, using the first item's parameters."""
        table = self._table(params.table, 0)
        pairs = self._fields(params, table, items[0].json, 0)
        if not pairs:
            raise NodeError(
                "item 0 has no fields to insert",
                description="Give the items fields named like the table's columns, or list the columns.",
                item_index=0,
            )
        rows: list[list[Any]] = []
        for index, item in enumerate(items):
            missing = [name for name, _ in pairs if name not in item.json]
            if missing:
                raise NodeError(
                    f"item {index} has no field {missing[0]!r}, which the first item set",
                    description="With one statement for all items, every item needs the same fields: "
                    "set them earlier (Edit Fields), or list the columns to write.",
                    item_index=index,
                )
            rows.append([writable(item.json[name]) for name, _ in pairs])
        statement = self._insert_statement(
            table, [column for _, column in pairs], _upsert_keys(params, table, 0), batch=True
        )
        with _item_errors(None, f"writing the {len(items)} items"), self._connection.cursor() as cursor:
            cursor.executemany(statement, rows)
            self.commit()
        return [
            Item(json_safe({column: item.json[name] for name, column in pairs}), paired_item=index)
            for index, item in enumerate(items)
        ]


def _upsert_keys(params: MysqlParameters, table: _Table, index: int) -> list[str] | None:
    """An upsert's match columns as the table spells them; ``None`` for a plain insert."""
    if params.operation != "upsert":
        return None
    return [table.column(key, index) for key in params.key_columns]


def writable(value: Any) -> Any:
    """A JSON value as a bound parameter: objects and lists as JSON text (MySQL has no arrays)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def bindable(value: Any) -> Any:
    """A query parameter: a list of plain values becomes a tuple, which the driver writes as ``(a, b)`` for IN."""
    if isinstance(value, list) and not any(isinstance(entry, dict | list) for entry in value):
        return tuple(value)
    return writable(value)


def time_text(value: timedelta) -> str:
    """A TIME value (the driver reads it as a duration) as MySQL writes it: ``-838:59:59`` to ``838:59:59``."""
    micros = round(value.total_seconds() * 1_000_000)
    sign = "-" if micros < 0 else ""
    seconds, micros = divmod(abs(micros), 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{sign}{hours:02}:{minutes:02}:{seconds:02}"
    return f"{text}.{micros:06}" if micros else text


def json_row(row: Mapping[str, Any], json_columns: Collection[str] = frozenset()) -> dict[str, Any]:
    """A row as JSON: JSON columns parsed, TIME as text, the rest as :func:`nodes.postgres.database.json_safe`."""
    result: dict[str, Any] = {}
    for name, value in row.items():
        if name in json_columns and isinstance(value, str | bytes):
            with suppress(ValueError):
                value = json.loads(value)
        elif isinstance(value, timedelta):
            value = time_text(value)
        result[str(name)] = json_safe(value)
    return result


def holds_several_statements(query: str) -> bool:
    """Whether SQL follows a ``;`` outside quotes and comments, to explain the server's syntax error."""
    position, length, ended = 0, len(query), False
    while position < length:
        char = query[position]
        if query.startswith("/*", position):
            close = query.find("*/", position + 2)
            position = length if close < 0 else close + 2
            continue
        if char == "#" or (
            query.startswith("--", position) and query[position + 2 : position + 3] in ("", " ", "\t", "\n", "\r")
        ):
            newline = query.find("\n", position)
            position = length if newline < 0 else newline + 1
            continue
        if char.isspace():
            position += 1
            continue
        if ended and char != ";":
            return True
        if char == ";":
            ended = True
        elif char in "'\"`":
            position += 1
            while position < length and query[position] != char:
                # Backslash escapes hold in strings, never in `identifiers`; doubled quotes end up here as
                # a closed and a reopened string, which reads the same.
                position += 2 if query[position] == "\\" and char != "`" else 1
        position += 1
    return False
