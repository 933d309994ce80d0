"""PostgreSQL (postgres.database) run through the engine against a throw-away database on the real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.postgres.credentials import PostgresCredential, PostgresFields
from nodes.postgres.database import json_safe
from nodes.sdk import Item, NodeError
from tests.servers import temporary_postgres_database
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
INJECTION = "x'); DROP TABLE people; --"


class Database:
    """The test database: a credential for the node and a direct connection for checking."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.credential = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "database": parts.path.lstrip("/"),
            "user": parts.username or "postgres",
            "password": parts.password or "",
            "ssl_mode": "disable",
        }
        self.conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)

    def query(self, statement: str, values: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            cursor = connection.execute(statement, values)
            return cursor.fetchall() if cursor.description else []

    def run(self, parameters: dict[str, Any], items: list[dict[str, Any]]) -> RunResult:
        data = workflow(
            [MANUAL, node("DB", "postgres.database", parameters, credentials={"postgres": {"id": "db"}})],
            [("Start", "DB")],
        )
        host = LocalHost(credentials={"db": self.credential})
        return run(data, host=host, pinned={"Start": [Item(item) for item in items]})


@pytest.fixture
def db() -> Iterator[Database]:
    with temporary_postgres_database() as url:
        database = Database(url)
        database.query(
            """
            CREATE TABLE people (
                id serial PRIMARY KEY,
                email text UNIQUE NOT NULL,
                name text,
                score numeric(6, 2),
                tags text[],
                profile jsonb,
                joined date,
                uid uuid NOT NULL DEFAULT gen_random_uuid(),
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        yield database


def succeeded(result: RunResult) -> list[dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    rows = output_json(result, "DB")
    json.dumps(rows)
    return rows


def seed(db: Database) -> None:
    db.query(
        "INSERT INTO people (email, name, score) VALUES "
        "('ada@example.com', 'Ada', 9.5), ('grace@example.com', 'Grace', 8), ('alan@example.com', 'Alan', NULL)"
    )


def test_insert_writes_every_field_and_returns_json_safe_rows(db: Database) -> None:
    item = {
        "email": "ada@example.com",
        "name": "Ada",
        "score": 9.75,
        "tags": ["math", "engines"],
        "profile": {"born": 1815, "langs": ["en", "fr"]},
        "joined": "1843-07-10",
    }

    (row,) = succeeded(db.run({"operation": "insert", "table": "people"}, [item]))

    assert {key: row[key] for key in item} == item
    assert row["id"] == 1
    assert isinstance(row["uid"], str) and len(row["uid"]) == 36
    assert isinstance(row["created_at"], str) and row["created_at"][:2] == "20"
    assert db.query("SELECT profile->>'born', score FROM people") == [("1815", Decimal("9.75"))]


def test_insert_writes_only_the_listed_columns(db: Database) -> None:
    items = [{"email": "ada@example.com", "name": "Ada", "not_a_column": 1}, {"email": "grace@example.com"}]

    result = db.run({"operation": "insert", "table": "people", "columns": ["email"]}, items)

    assert [row["email"] for row in succeeded(result)] == ["ada@example.com", "grace@example.com"]
    assert [item.paired_item for item in result.last_outputs["DB"][0]] == [0, 1]
    assert db.query("SELECT name FROM people") == [(None,), (None,)]


def test_an_injection_in_a_value_is_stored_literally(db: Database) -> None:
    (inserted,) = succeeded(
        db.run({"operation": "insert", "table": "people"}, [{"email": "x@example.com", "name": INJECTION}])
    )
    selected = succeeded(
        db.run(
            {"operation": "select", "table": "people", "where": [{"column": "name", "value": "{{ $json.name }}"}]},
            [{"name": INJECTION}],
        )
    )
    queried = succeeded(
        db.run(
            {
                "operation": "execute_query",
                "query": "SELECT name FROM people WHERE name = $1",
                "query_parameters": [INJECTION],
            },
            [{}],
        )
    )

    assert inserted["name"] == INJECTION
    assert [row["name"] for row in selected] == [INJECTION]
    assert queried == [{"name": INJECTION}]
    assert db.query("SELECT count(*) FROM people") == [(1,)]


def test_select_filters_sorts_and_limits(db: Database) -> None:
    seed(db)

    def names(**parameters: Any) -> list[str]:
        rows = succeeded(db.run({"operation": "select", "table": "people", **parameters}, [{"min": 9}]))
        return [row["name"] for row in rows]

    by_name = [{"column": "name"}]
    assert names(order_by=by_name) == ["Ada", "Alan", "Grace"]
    assert names(order_by=[{"column": "name", "direction": "DESC"}], limit=2) == ["Grace", "Alan"]
    assert names(where=[{"column": "score", "operator": ">=", "value": "{{ $json.min }}"}]) == ["Ada"]
    assert names(where=[{"column": "score", "operator": "IS NULL"}]) == ["Alan"]
    assert names(where=[{"column": "name", "operator": "LIKE", "value": "A%"}], order_by=by_name) == ["Ada", "Alan"]
    assert names(where=[{"column": "name", "operator": "IN", "value": ["Grace", "Alan"]}], order_by=by_name) == [
        "Alan",
        "Grace",
    ]
    assert names(
        where=[{"column": "name", "value": "Ada"}, {"column": "score", "operator": "<", "value": 8.5}],
        combine="OR",
        order_by=by_name,
    ) == ["Ada", "Grace"]
    rows = succeeded(db.run({"operation": "select", "table": "people", "columns": ["email"], "limit": 1}, [{}]))
    assert rows == [{"email": "ada@example.com"}]


def test_update_changes_the_matching_rows_only(db: Database) -> None:
    seed(db)

    rows = succeeded(
        db.run(
            {"operation": "update", "table": "people", "key_columns": ["email"], "columns": ["score"]},
            [{"email": "grace@example.com", "score": 9.9, "name": "ignored"}],
        )
    )

    assert [(row["email"], row["name"], row["score"]) for row in rows] == [("grace@example.com", "Grace", 9.9)]
    assert db.query("SELECT name, score FROM people ORDER BY id") == [
        ("Ada", Decimal("9.50")),
        ("Grace", Decimal("9.90")),
        ("Alan", None),
    ]


def test_upsert_inserts_new_rows_and_updates_existing_ones(db: Database) -> None:
    seed(db)
    items = [{"email": "ada@example.com", "name": "Ada King"}, {"email": "linus@example.com", "name": "Linus"}]

    rows = succeeded(db.run({"operation": "upsert", "table": "people", "key_columns": ["email"]}, items))

    assert [(row["email"], row["name"]) for row in rows] == [
        ("ada@example.com", "Ada King"),
        ("linus@example.com", "Linus"),
    ]
    assert db.query("SELECT name, score FROM people ORDER BY id") == [
        ("Ada King", Decimal("9.50")),
        ("Grace", Decimal("8.00")),
        ("Alan", None),
        ("Linus", None),
    ]


def test_execute_query_binds_numbered_and_named_parameters_per_item(db: Database) -> None:
    seed(db)
    numbered = {
        "operation": "execute_query",
        "query": "SELECT name, score * $2 AS doubled, '100%' AS literal FROM people WHERE email = $1",
        "query_parameters": ["{{ $json.email }}", 2],
    }
    named = {
        "operation": "execute_query",
        "query": "SELECT name FROM people WHERE name LIKE %(prefix)s ORDER BY name",
        "query_parameters": {"prefix": "{{ $json.prefix }}%"},
    }

    result = db.run(numbered, [{"email": "ada@example.com"}, {"email": "grace@example.com"}])

    assert succeeded(result) == [
        {"name": "Ada", "doubled": 19, "literal": "100%"},
        {"name": "Grace", "doubled": 16, "literal": "100%"},
    ]
    assert [item.paired_item for item in result.last_outputs["DB"][0]] == [0, 1]
    assert succeeded(db.run(named, [{"prefix": "A"}])) == [{"name": "Ada"}, {"name": "Alan"}]


def test_the_query_text_is_never_an_expression(db: Database) -> None:
    query = "SELECT '{{ $json.name }}' AS text, $1 AS value"

    rows = succeeded(
        db.run(
            {"operation": "execute_query", "query": query, "query_parameters": ["{{ $json.name }}"]}, [{"name": "Ada"}]
        )
    )

    assert rows == [{"text": "{{ $json.name }}", "value": "Ada"}]


def test_execute_query_without_rows_reports_the_command(db: Database) -> None:
    query = "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('50% off'), ('b')"

    assert succeeded(db.run({"operation": "execute_query", "query": query}, [{}])) == [
        {"status": "INSERT 0 2", "rowcount": 2}
    ]
    assert db.query("SELECT body FROM notes ORDER BY body") == [("50% off",), ("b",)]


def test_an_unknown_operator_is_refused_before_any_sql(db: Database) -> None:
    where = [{"column": "name", "operator": "= 1; DROP TABLE people; --", "value": 1}]

    result = db.run({"operation": "select", "table": "people", "where": where}, [{}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert result.error["message"].startswith("parameter 'where.0.operator', item 0: Input should be '='")
    assert db.query("SELECT count(*) FROM people") == [(0,)]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"operation": "select", "table": "people", "where": [{"column": 'name" = name; DROP TABLE people; --'}]},
            "item 0: the table has no column 'name\" = name; DROP TABLE people; --' (its columns: id, email,",
        ),
        ({"operation": "select", "table": "people; DROP TABLE people"}, "item 0: there is no table public.people;"),
        ({"operation": "insert", "table": "people"}, "item 0: the table has no column 'nickname'"),
        ({"operation": "select", "table": "people", "order_by": [{"column": "x" * 64}]}, "63-byte limit"),
    ],
)
def test_an_unknown_identifier_is_refused(db: Database, parameters: dict[str, Any], message: str) -> None:
    result = db.run(parameters, [{"email": "a@example.com", "nickname": "A"}])

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 0
    assert message in result.error["message"]
    assert db.query("SELECT count(*) FROM people") == [(0,)]


def test_a_failing_item_is_named_and_rolls_back_every_item(db: Database) -> None:
    items = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]

    result = db.run({"operation": "insert", "table": "people"}, items)

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert result.error["item_index"] == 2
    assert result.error["message"] == 'item 2: duplicate key value violates unique constraint "people_email_key"'
    assert "already exists" in result.error["description"]
    assert db.query("SELECT count(*) FROM people") == [(0,)]


def test_per_item_transactions_keep_the_items_before_a_failure(db: Database) -> None:
    items = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]

    result = db.run({"operation": "insert", "table": "people", "transaction": "per_item"}, items)

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 2
    assert db.query("SELECT email FROM people ORDER BY id") == [("a@example.com",), ("b@example.com",)]


def test_a_missing_field_for_a_listed_column_names_the_item(db: Database) -> None:
    result = db.run(
        {"operation": "insert", "table": "people", "columns": ["email", "name"]},
        [{"email": "a@example.com", "name": "A"}, {"email": "b@example.com"}],
    )

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 1
    assert result.error["message"] == "item 1 has no field 'name' for the column of that name"


def test_a_bad_query_names_the_item(db: Database) -> None:
    result = db.run(
        {"operation": "execute_query", "query": "SELECT 1 / $1::int AS x", "query_parameters": ["{{ $json.n }}"]},
        [{"n": 1}, {"n": 0}],
    )

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 1
    assert result.error["message"] == "item 1: division by zero"


def test_connection_test_runs_select_1(db: Database) -> None:
    fields = PostgresFields.model_validate(db.credential)

    message = PostgresCredential.test_connection(fields)

    assert message == f"Connected to {fields.host}:{fields.port}/{fields.database}"


def test_connection_test_names_what_failed(db: Database) -> None:
    fields = PostgresFields.model_validate({**db.credential, "database": "hitl_test_does_not_exist"})

    with pytest.raises(NodeError, match=r'cannot connect to PostgreSQL .*database "hitl_test_does_not_exist" does not'):
        PostgresCredential.test_connection(fields)


def test_database_values_become_exact_json() -> None:
    assert json_safe(Decimal("12.50")) == 12.5
    assert json_safe(Decimal("42.000")) == 42
    assert json_safe(Decimal("12345678901234567890.123456789")) == "12345678901234567890.123456789"
    assert json_safe(Decimal("NaN")) == "NaN"
    assert json_safe({"raw": memoryview(b"\x00\xff"), "items": (1, 2)}) == {"raw": "AP8=", "items": [1, 2]}
