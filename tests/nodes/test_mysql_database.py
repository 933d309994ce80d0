"""MySQL (mysql.database) run through the engine against a throw-away database on the real MariaDB server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.mysql.credentials import MysqlCredential, MysqlFields, connect
from nodes.mysql.database import holds_several_statements, json_row, quote_identifier, time_text
from nodes.sdk import Item, NodeError
from tests.fakes.smtp_server import free_port
from tests.servers import temporary_mysql_database
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")
INJECTION = "x'); DROP TABLE people; --"


class Database:
    """The test database: a credential for the node and a direct connection for checking."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.credential: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 3306,
            "database": parts.path.lstrip("/"),
            "user": parts.username or "root",
            "password": parts.password or "",
            "ssl_mode": "disable",
        }

    def query(self, statement: str, values: Any = None) -> list[tuple[Any, ...]]:
        fields = self.credential
        with (
            pymysql.connect(
                host=fields["host"],
                port=fields["port"],
                user=fields["user"],
                password=fields["password"],
                database=fields["database"],
                autocommit=True,
            ) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, values)
            return list(cursor.fetchall()) if cursor.description else []

    def run(self, parameters: dict[str, Any], items: list[dict[str, Any]], **settings: Any) -> RunResult:
        data = workflow(
            [MANUAL, node("DB", "mysql.database", parameters, credentials={"mysql": {"id": "db"}}, **settings)],
            [("Start", "DB")],
        )
        host = LocalHost(credentials={"db": self.credential})
        return run(data, host=host, pinned={"Start": [Item(item) for item in items]})


@pytest.fixture
def db() -> Iterator[Database]:
    with temporary_mysql_database() as url:
        database = Database(url)
        database.query(
            """
            CREATE TABLE people (
                id INT AUTO_INCREMENT PRIMARY KEY,
                email VARCHAR(100) NOT NULL UNIQUE,
                name VARCHAR(100),
                score DECIMAL(6, 2),
                profile JSON,
                joined DATE,
                wakes TIME,
                active BOOLEAN NOT NULL DEFAULT TRUE,
                created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
            )
            """
        )
        yield database


def succeeded(result: RunResult) -> list[dict[str, Any]]:
    assert result.status is RunStatus.SUCCEEDED, result.error
    rows = output_json(result, "DB")
    json.dumps(rows)
    return rows


def failed(result: RunResult) -> dict[str, Any]:
    assert result.status is RunStatus.FAILED, result.status
    assert result.error is not None
    return result.error


def seed(db: Database) -> None:
    db.query(
        "INSERT INTO people (email, name, score) VALUES "
        "('ada@example.com', 'Ada', 9.5), ('grace@example.com', 'Grace', 8), ('alan@example.com', 'Alan', NULL)"
    )


def test_insert_writes_every_field_and_returns_the_row_read_back(db: Database) -> None:
    item = {
        "email": "ada@example.com",
        "name": "Ada",
        "score": 9.75,
        "profile": {"born": 1815, "langs": ["en", "fr"]},
        "joined": "1843-07-10",
        "wakes": "06:30:00",
    }

    (row,) = succeeded(db.run({"operation": "insert", "table": "people"}, [item]))

    assert {key: row[key] for key in item} == item
    assert row["id"] == 1 and row["active"] == 1
    assert isinstance(row["created_at"], str) and row["created_at"][:2] == "20"
    assert db.query("SELECT JSON_VALUE(profile, '$.born'), score FROM people") == [("1815", Decimal("9.75"))]


def test_insert_writes_only_the_listed_columns(db: Database) -> None:
    items = [{"email": "ada@example.com", "name": "Ada", "not_a_column": 1}, {"email": "grace@example.com"}]

    result = db.run({"operation": "insert", "table": "people", "columns": ["email"]}, items)

    assert [(row["id"], row["email"]) for row in succeeded(result)] == [
        (1, "ada@example.com"),
        (2, "grace@example.com"),
    ]
    assert [item.paired_item for item in result.last_outputs["DB"][0]] == [0, 1]
    assert db.query("SELECT name FROM people") == [(None,), (None,)]


def test_column_names_match_without_case_like_mysql_does(db: Database) -> None:
    (row,) = succeeded(
        db.run(
            {"operation": "insert", "table": "people", "columns": ["EMAIL", "Name"]}, [{"EMAIL": "a@x.io", "Name": "A"}]
        )
    )

    assert (row["email"], row["name"]) == ("a@x.io", "A")


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
                "query": "SELECT name FROM people WHERE name = %s",
                "query_parameters": ["{{ $json.name }}"],
            },
            [{"name": INJECTION}],
        )
    )

    assert inserted["name"] == INJECTION
    assert [row["name"] for row in selected] == [INJECTION]
    assert queried == [{"name": INJECTION}]
    assert db.query("SELECT count(*) FROM people") == [(1,)]


def test_odd_column_names_are_quoted_not_pasted(db: Database) -> None:
    db.query("CREATE TABLE odd (`we``ird` VARCHAR(10), `100%` INT, `select` INT)")

    rows = succeeded(db.run({"operation": "insert", "table": "odd"}, [{"we`ird": "a", "100%": 1, "select": 2}]))
    selected = succeeded(
        db.run(
            {
                "operation": "select",
                "table": "odd",
                "columns": ["100%", "we`ird"],
                "where": [{"column": "select", "operator": ">", "value": 1}],
            },
            [{}],
        )
    )

    assert rows == [{"we`ird": "a", "100%": 1, "select": 2}]
    assert selected == [{"100%": 1, "we`ird": "a"}]


def test_select_filters_sorts_and_limits(db: Database) -> None:
    seed(db)

    def names(**parameters: Any) -> list[str]:
        rows = succeeded(db.run({"operation": "select", "table": "people", **parameters}, [{"min": 9}]))
        return [row["name"] for row in rows]

    by_name = [{"column": "name"}]
    assert names(order_by=by_name) == ["Ada", "Alan", "Grace"]
    assert names(order_by=[{"column": "name", "direction": "DESC"}], limit=2) == ["Grace", "Alan"]
    assert names(order_by=by_name, limit=1, return_all=True) == ["Ada", "Alan", "Grace"]
    assert names(where=[{"column": "score", "operator": ">=", "value": "{{ $json.min }}"}]) == ["Ada"]
    assert names(where=[{"column": "score", "operator": "IS NULL"}]) == ["Alan"]
    assert names(where=[{"column": "name", "operator": "LIKE", "value": "A%"}], order_by=by_name) == ["Ada", "Alan"]
    assert names(where=[{"column": "name", "operator": "IN", "value": ["Grace", "Alan"]}], order_by=by_name) == [
        "Alan",
        "Grace",
    ]
    assert names(where=[{"column": "name", "operator": "IN", "value": []}]) == []
    assert names(where=[{"column": "name", "operator": "NOT IN", "value": []}], order_by=by_name) == [
        "Ada",
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


def test_select_reads_json_time_and_decimals_as_json(db: Database) -> None:
    db.query(
        "INSERT INTO people (email, profile, wakes, score) VALUES "
        "('a@x.io', '{\"tags\": [\"x\"]}', '-01:02:03', 12.50), ('b@x.io', NULL, '838:59:59', 42)"
    )

    rows = succeeded(db.run({"operation": "select", "table": "people", "columns": ["profile", "wakes", "score"]}, [{}]))

    assert rows == [
        {"profile": {"tags": ["x"]}, "wakes": "-01:02:03", "score": 12.5},
        {"profile": None, "wakes": "838:59:59", "score": 42},
    ]


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


def test_update_matches_null_with_null(db: Database) -> None:
    seed(db)

    rows = succeeded(
        db.run(
            {"operation": "update", "table": "people", "key_columns": ["score"]}, [{"score": None, "name": "Turing"}]
        )
    )

    assert [(row["email"], row["name"]) for row in rows] == [("alan@example.com", "Turing")]


def test_upsert_inserts_new_rows_and_updates_existing_ones(db: Database) -> None:
    seed(db)
    items = [
        {"email": "ada@example.com", "name": "Ada King"},
        {"email": "linus@example.com", "name": "Linus"},
        {"email": "ada@example.com", "name": "Ada King"},
    ]

    rows = succeeded(db.run({"operation": "upsert", "table": "people", "key_columns": ["email"]}, items))

    # InnoDB spends an id on the upsert that updated, so Linus's id is read from the table.
    ((linus_id,),) = db.query("SELECT id FROM people WHERE email = 'linus@example.com'")
    assert [(row["id"], row["email"], row["name"]) for row in rows] == [
        (1, "ada@example.com", "Ada King"),
        (linus_id, "linus@example.com", "Linus"),
        (1, "ada@example.com", "Ada King"),
    ]
    assert db.query("SELECT name, score FROM people ORDER BY id") == [
        ("Ada King", Decimal("9.50")),
        ("Grace", Decimal("8.00")),
        ("Alan", None),
        ("Linus", None),
    ]


def test_delete_removes_the_matching_rows_and_counts_them(db: Database) -> None:
    seed(db)

    rows = succeeded(
        db.run(
            {"operation": "delete", "table": "people", "key_columns": ["email"]},
            [{"email": "grace@example.com", "name": "unused"}, {"email": "nobody@example.com"}],
        )
    )

    assert rows == [
        {"email": "grace@example.com", "deleted_rows": 1},
        {"email": "nobody@example.com", "deleted_rows": 0},
    ]
    assert db.query("SELECT name FROM people ORDER BY id") == [("Ada",), ("Alan",)]


def test_batch_insert_writes_every_item_with_one_statement(db: Database) -> None:
    items = [{"email": f"p{n}@example.com", "name": f"P{n}", "profile": {"n": n}} for n in range(250)]

    result = db.run({"operation": "insert", "table": "people", "batch": True}, items)

    rows = succeeded(result)
    assert len(rows) == 250 and rows[7] == {"email": "p7@example.com", "name": "P7", "profile": {"n": 7}}
    assert [item.paired_item for item in result.last_outputs["DB"][0]][:3] == [0, 1, 2]
    assert db.query("SELECT count(*), max(id) FROM people") == [(250, 250)]
    assert db.query("SELECT JSON_VALUE(profile, '$.n') FROM people WHERE email = 'p249@example.com'") == [("249",)]


def test_batch_upsert_updates_existing_rows(db: Database) -> None:
    seed(db)
    items = [{"email": "ada@example.com", "score": 1}, {"email": "new@example.com", "score": 2}]

    succeeded(db.run({"operation": "upsert", "table": "people", "key_columns": ["email"], "batch": True}, items))

    assert db.query("SELECT email, name, score FROM people ORDER BY id") == [
        ("ada@example.com", "Ada", Decimal("1.00")),
        ("grace@example.com", "Grace", Decimal("8.00")),
        ("alan@example.com", "Alan", None),
        ("new@example.com", None, Decimal("2.00")),
    ]


def test_a_failing_batch_writes_nothing(db: Database) -> None:
    items = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]

    error = failed(db.run({"operation": "insert", "table": "people", "batch": True}, items))

    assert error["message"] == "writing the 3 items failed: Duplicate entry 'a@example.com' for key 'email' (1062)"
    assert error["item_index"] is None
    assert "use upsert" in error["description"]
    assert db.query("SELECT count(*) FROM people") == [(0,)]


def test_a_batch_item_without_a_field_of_the_first_is_named(db: Database) -> None:
    error = failed(
        db.run(
            {"operation": "insert", "table": "people", "batch": True},
            [{"email": "a@x.io", "name": "A"}, {"email": "b"}],
        )
    )

    assert error["item_index"] == 1
    assert error["message"] == "item 1 has no field 'name', which the first item set"


def test_execute_query_binds_positional_and_named_parameters_per_item(db: Database) -> None:
    seed(db)
    positional = {
        "operation": "execute_query",
        "query": "SELECT name, score * %s AS doubled, '100%%' AS literal FROM people WHERE email = %s",
        "query_parameters": [2, "{{ $json.email }}"],
    }
    named = {
        "operation": "execute_query",
        "query": "SELECT name FROM people WHERE name LIKE %(prefix)s ORDER BY name",
        "query_parameters": {"prefix": "{{ $json.prefix }}%"},
    }
    listed = {
        "operation": "execute_query",
        "query": "SELECT name FROM people WHERE name IN %s ORDER BY name",
        "query_parameters": [["Grace", "Alan", INJECTION]],
    }

    result = db.run(positional, [{"email": "ada@example.com"}, {"email": "grace@example.com"}])

    assert succeeded(result) == [
        {"name": "Ada", "doubled": 19, "literal": "100%"},
        {"name": "Grace", "doubled": 16, "literal": "100%"},
    ]
    assert [item.paired_item for item in result.last_outputs["DB"][0]] == [0, 1]
    assert succeeded(db.run(named, [{"prefix": "A"}])) == [{"name": "Ada"}, {"name": "Alan"}]
    assert succeeded(db.run(listed, [{}])) == [{"name": "Alan"}, {"name": "Grace"}]


def test_the_query_text_is_never_an_expression(db: Database) -> None:
    query = "SELECT '{{ $json.name }}' AS text, %s AS value"

    rows = succeeded(
        db.run(
            {"operation": "execute_query", "query": query, "query_parameters": ["{{ $json.name }}"]}, [{"name": "Ada"}]
        )
    )

    assert rows == [{"text": "{{ $json.name }}", "value": "Ada"}]


def test_execute_query_without_rows_reports_what_changed(db: Database) -> None:
    inserted = succeeded(
        db.run(
            {"operation": "execute_query", "query": "INSERT INTO people (email, name) VALUES ('a@x.io', '50% off')"},
            [{}],
        )
    )
    updated = succeeded(db.run({"operation": "execute_query", "query": "UPDATE people SET score = 1;"}, [{}]))

    assert inserted == [{"affected_rows": 1, "insert_id": 1}]
    assert updated == [{"affected_rows": 1}]
    assert db.query("SELECT name FROM people") == [("50% off",)]


def test_a_second_statement_is_refused_and_nothing_runs(db: Database) -> None:
    seed(db)

    error = failed(db.run({"operation": "execute_query", "query": "SELECT 1; DROP TABLE people"}, [{}]))
    quoted = succeeded(
        db.run({"operation": "execute_query", "query": "SELECT 'a; DROP TABLE people' AS s -- ;x"}, [{}])
    )

    assert error["message"] == "item 0: the query holds more than one statement, and MySQL runs one at a time here"
    assert error["item_index"] == 0
    assert quoted == [{"s": "a; DROP TABLE people"}]
    assert db.query("SELECT count(*) FROM people") == [(3,)]


def test_placeholders_that_do_not_match_the_parameters_are_explained(db: Database) -> None:
    error = failed(
        db.run({"operation": "execute_query", "query": "SELECT %s, %s", "query_parameters": ["only one"]}, [{}])
    )

    assert error["message"].startswith("item 0: the query's placeholders do not match its parameters")
    assert "%%" in error["description"]


def test_an_unknown_operator_is_refused_before_any_sql(db: Database) -> None:
    where = [{"column": "name", "operator": "= 1; DROP TABLE people; --", "value": 1}]

    error = failed(db.run({"operation": "select", "table": "people", "where": where}, [{}]))

    assert error["item_index"] == 0
    assert error["message"].startswith("parameter 'where.0.operator', item 0: Input should be '='")
    assert db.query("SELECT count(*) FROM people") == [(0,)]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"operation": "select", "table": "people", "where": [{"column": "name` = name; DROP TABLE people; --"}]},
            "item 0: the table people has no column 'name` = name; DROP TABLE people; --' (its columns: id, email,",
        ),
        (
            {"operation": "select", "table": "people`; DROP TABLE people; --"},
            "item 0: there is no table 'people`; DROP TABLE people; --' in the credential's database",
        ),
        ({"operation": "insert", "table": "people"}, "item 0: the table people has no column 'nickname'"),
        ({"operation": "select", "table": "people", "order_by": [{"column": "x" * 65}]}, "64-character limit"),
        ({"operation": "delete", "table": "people"}, "delete needs at least one match column"),
    ],
)
def test_an_unknown_identifier_is_refused(db: Database, parameters: dict[str, Any], message: str) -> None:
    error = failed(db.run(parameters, [{"email": "a@example.com", "nickname": "A"}]))

    assert error["item_index"] == 0
    assert message in error["message"]
    assert db.query("SELECT count(*) FROM people") == [(0,)]


def test_quote_identifier_accepts_only_listed_names() -> None:
    assert quote_identifier("a`b%", {"a`b%"}) == "`a``b%%`"
    with pytest.raises(ValueError, match="not a known table or column"):
        quote_identifier("email`; DROP TABLE x", {"email"})


def test_a_failing_item_is_named_and_rolls_back_every_item(db: Database) -> None:
    items = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]

    error = failed(db.run({"operation": "insert", "table": "people"}, items))

    assert error["item_index"] == 2
    assert error["message"] == "item 2: Duplicate entry 'a@example.com' for key 'email' (1062)"
    assert "use upsert" in error["description"]
    assert db.query("SELECT count(*) FROM people") == [(0,)]


def test_per_item_transactions_keep_the_items_before_a_failure(db: Database) -> None:
    items = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]

    error = failed(db.run({"operation": "insert", "table": "people", "transaction": "per_item"}, items))

    assert error["item_index"] == 2
    assert db.query("SELECT email FROM people ORDER BY id") == [("a@example.com",), ("b@example.com",)]


def test_a_missing_field_for_a_listed_column_names_the_item(db: Database) -> None:
    error = failed(
        db.run(
            {"operation": "insert", "table": "people", "columns": ["email", "name"]},
            [{"email": "a@example.com", "name": "A"}, {"email": "b@example.com"}],
        )
    )

    assert error["item_index"] == 1
    assert error["message"] == "item 1 has no field 'name' for the column of that name"


def test_a_bad_value_names_the_item_and_continue_on_fail_keeps_going(db: Database) -> None:
    items = [{"email": "a@example.com", "joined": "2024-01-01"}, {"email": "b@example.com", "joined": "yesterday"}]

    error = failed(db.run({"operation": "insert", "table": "people"}, items))
    (entry,) = succeeded(db.run({"operation": "insert", "table": "people"}, items, on_error="continue"))

    assert error["item_index"] == 1
    assert error["message"].startswith("item 1: Incorrect date value: 'yesterday' for column")
    assert entry["error"] == error["message"]
    assert db.query("SELECT count(*) FROM people") == [(0,)]


def test_connection_test_runs_select_1(db: Database) -> None:
    fields = MysqlFields.model_validate(db.credential)

    message = MysqlCredential.test_connection(fields)

    assert message.startswith(f"Connected to {fields.host}:{fields.port}/{fields.database} (")
    assert "MariaDB" in message


def test_connection_test_names_what_failed(db: Database) -> None:
    missing = MysqlFields.model_validate({**db.credential, "database": "hitl_test_does_not_exist"})
    closed = MysqlFields.model_validate({**db.credential, "port": free_port()})

    with pytest.raises(NodeError, match=r"cannot connect to MySQL .*Unknown database 'hitl_test_does_not_exist'"):
        MysqlCredential.test_connection(missing)
    with pytest.raises(NodeError, match=r"cannot connect to MySQL at 127\.0\.0\.1:\d+/hitl_test_\w+: Can't connect"):
        MysqlCredential.test_connection(closed)


def test_required_ssl_is_checked_not_assumed(db: Database) -> None:
    (row,) = db.query("SHOW VARIABLES LIKE 'have_ssl'")
    fields = MysqlFields.model_validate({**db.credential, "ssl_mode": "require"})

    if row[1] == "YES":
        assert MysqlCredential.test_connection(fields).startswith("Connected to")
    else:
        with pytest.raises(NodeError, match="SSL is required but the server doesn't support it"):
            MysqlCredential.test_connection(fields)
        preferred = MysqlFields.model_validate({**db.credential, "ssl_mode": "prefer"})
        assert MysqlCredential.test_connection(preferred).startswith("Connected to")


def test_the_nodes_time_limit_reaches_the_server() -> None:
    with temporary_mysql_database() as url:
        fields = MysqlFields.model_validate(Database(url).credential)
        with connect(fields, timeout=2.5) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.max_statement_time")
            (limit,) = cursor.fetchone()

    assert float(limit) == 3


def test_values_become_exact_json() -> None:
    assert time_text(timedelta(hours=30, minutes=1, seconds=2, microseconds=5)) == "30:01:02.000005"
    assert time_text(-timedelta(minutes=1)) == "-00:01:00"
    assert json_row({"j": '{"a": 1}', "bad": "{", "d": Decimal("2.50")}, {"j", "bad"}) == {
        "j": {"a": 1},
        "bad": "{",
        "d": 2.5,
    }
    assert holds_several_statements("SELECT 1; SELECT 2")
    assert holds_several_statements("SELECT ';'; # x\n DELETE FROM t")
    assert not holds_several_statements("SELECT 'a;b', `c;d` /* ; x */ ; -- y\n")
    assert not holds_several_statements("SELECT 'it\\'s; fine'")
