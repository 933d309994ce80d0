"""Google BigQuery (google.bigquery) through the engine against the fake BigQuery API on 127.0.0.1."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest

from hitl_studio.engine.runner import RunResult
from nodes.google import bigquery
from tests.nodes.conftest import Google
from tests.nodes.integrations import failure, host_for, outputs, run_node

ORDERS_SQL = "SELECT id, total, paid, placed_at, tags, buyer, amount, extra FROM `shop.orders` WHERE id IN UNNEST(@ids)"
ORDERS_SCHEMA = [
    {"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
    {"name": "total", "type": "FLOAT"},
    {"name": "paid", "type": "BOOLEAN"},
    {"name": "placed_at", "type": "TIMESTAMP"},
    {"name": "tags", "type": "STRING", "mode": "REPEATED"},
    {
        "name": "buyer",
        "type": "RECORD",
        "fields": [{"name": "name", "type": "STRING"}, {"name": "visits", "type": "INTEGER"}],
    },
    {"name": "amount", "type": "NUMERIC"},
    {"name": "extra", "type": "JSON"},
]
ORDERS = [
    {
        "id": 1,
        "total": 9.5,
        "paid": True,
        "placed_at": "2024-05-01T12:00:00.250000Z",
        "tags": ["gift", "express"],
        "buyer": {"name": "Ada", "visits": 3},
        "amount": "9.50",
        "extra": {"note": "ring twice"},
    },
    {
        "id": 2,
        "total": 20.0,
        "paid": False,
        "placed_at": None,
        "tags": [],
        "buyer": None,
        "amount": "20.00",
        "extra": None,
    },
]
NUMBERS_SCHEMA = [{"name": "n", "type": "INTEGER"}]
TABLE = "fake-project.shop.events"
EVENTS_SCHEMA = [
    {"name": "id", "type": "STRING", "mode": "REQUIRED"},
    {"name": "count", "type": "INTEGER"},
    {"name": "at", "type": "TIMESTAMP"},
]


def bq(google: Google, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    host = host_for(google.credential)
    return run_node(
        "google.bigquery", parameters, items, credential_type="google_service_account", host=host, **settings
    )


def numbers(google: Google, count: int) -> str:
    sql = "SELECT n FROM UNNEST(GENERATE_ARRAY(1, @count)) AS n"
    google.server.add_query(sql, NUMBERS_SCHEMA, lambda values: [{"n": n} for n in range(1, values["count"] + 1)])
    return sql


def test_query_binds_named_parameters_and_types_the_rows(google: Google) -> None:
    google.server.add_query(
        ORDERS_SQL, ORDERS_SCHEMA, lambda values: [order for order in ORDERS if order["id"] in values["ids"]]
    )
    parameters = {
        "query": ORDERS_SQL,
        "query_parameters": [{"name": "ids", "type": "ARRAY<INT64>", "value": "{{ $json.ids }}"}],
    }

    rows = outputs(bq(google, parameters, [{"ids": [1, 2, 3]}]))

    assert rows == [
        {
            "id": 1,
            "total": 9.5,
            "paid": True,
            "placed_at": "2024-05-01T12:00:00.250000Z",
            "tags": ["gift", "express"],
            "buyer": {"name": "Ada", "visits": 3},
            "amount": "9.50",
            "extra": {"note": "ring twice"},
        },
        {
            "id": 2,
            "total": 20.0,
            "paid": False,
            "placed_at": None,
            "tags": [],
            "buyer": None,
            "amount": "20.00",
            "extra": None,
        },
    ]
    (request,) = google.server.received("/bigquery/v2/projects/")
    assert request.path == "/bigquery/v2/projects/fake-project/queries"
    body = request.json()
    assert body["query"] == ORDERS_SQL and body["useLegacySql"] is False and body["parameterMode"] == "NAMED"
    assert body["queryParameters"] == [
        {
            "name": "ids",
            "parameterType": {"type": "ARRAY", "arrayType": {"type": "INT64"}},
            "parameterValue": {"arrayValues": [{"value": "1"}, {"value": "2"}, {"value": "3"}]},
        }
    ]
    assert body["formatOptions"] == {"useInt64Timestamp": True} and body["maxResults"] == 50


def test_scalar_parameters_are_sent_as_typed_text_never_in_the_sql(google: Google) -> None:
    sql = "SELECT @name AS name, @vip AS vip, @since AS since, @score AS score"
    schema = [{"name": key, "type": "STRING"} for key in ("name", "vip", "since", "score")]
    google.server.add_query(sql, schema, lambda values: [{key: str(value) for key, value in values.items()}])
    parameters = {
        "query": sql,
        "project_id": "analytics-prod",
        "location": "EU",
        "query_parameters": [
            {"name": "@name", "type": "string", "value": "{{ $json.name }}"},
            {"name": "vip", "type": "BOOLEAN", "value": True},
            {"name": "since", "type": "TIMESTAMP", "value": None},
            {"name": "score", "type": "FLOAT", "value": 2.5},
        ],
    }

    (row,) = outputs(bq(google, parameters, [{"name": "O'Brien'); DROP TABLE x; --"}]))

    assert row == {"name": "O'Brien'); DROP TABLE x; --", "vip": "True", "since": "None", "score": "2.5"}
    (request,) = google.server.received("/bigquery/v2/projects/analytics-prod/queries")
    body = request.json()
    assert body["query"] == sql and body["location"] == "EU"
    assert [(p["name"], p["parameterType"]["type"], p["parameterValue"]) for p in body["queryParameters"]] == [
        ("name", "STRING", {"value": "O'Brien'); DROP TABLE x; --"}),
        ("vip", "BOOL", {"value": "true"}),
        ("since", "TIMESTAMP", {"value": None}),
        ("score", "FLOAT64", {"value": "2.5"}),
    ]


def test_query_waits_for_the_job_and_follows_result_pages(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigquery, "MAX_PAGE", 100)
    sql = numbers(google, 0)
    google.server.query_polls = 2
    parameters = {
        "query": sql,
        "location": "EU",
        "return_all": True,
        "query_parameters": [{"name": "count", "type": "INT64", "value": "{{ $json.count }}"}],
    }

    rows = outputs(bq(google, parameters, [{"count": 105}]))

    assert [row["n"] for row in rows] == list(range(1, 106))
    polls = google.server.received("/bigquery/v2/projects/fake-project/queries/")
    assert len(polls) == 3
    job_id = polls[0].path.rsplit("/", 1)[1]
    assert job_id in google.server.jobs and all(poll.query["location"] == ["EU"] for poll in polls)
    assert [poll.query.get("pageToken") for poll in polls] == [None, None, ["100"]]
    assert polls[0].query["formatOptions.useInt64Timestamp"] == ["true"] and polls[0].query["timeoutMs"] == ["10000"]


def test_a_dml_statement_answers_the_rows_it_changed(google: Google) -> None:
    sql = "UPDATE `shop.orders` SET paid = TRUE WHERE id = @id"
    google.server.add_statement(sql, 1)
    parameters = {"query": sql, "query_parameters": [{"name": "id", "type": "INT64", "value": "{{ $json.id }}"}]}

    (changed,) = outputs(bq(google, parameters, [{"id": 7}]))

    (job_id,) = google.server.jobs
    assert changed == {"jobId": job_id, "affectedRows": 1}


def test_query_limit_stops_reading_pages(google: Google) -> None:
    sql = numbers(google, 0)
    parameters = {"query": sql, "limit": 3, "query_parameters": [{"name": "count", "type": "INT64", "value": 500}]}

    rows = outputs(bq(google, parameters))

    assert rows == [{"n": 1}, {"n": 2}, {"n": 3}]
    (request,) = google.server.received("/bigquery/v2/projects/")
    assert request.json()["maxResults"] == 3


def test_a_job_that_does_not_finish_in_time_fails_naming_it(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = numbers(google, 0)
    google.server.query_polls = 1_000
    clock = itertools.count(0, 30)
    monkeypatch.setattr(bigquery, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    parameters = {
        "query": sql,
        "wait_seconds": 60,
        "query_parameters": [{"name": "count", "type": "INT64", "value": 1}],
    }

    error = failure(bq(google, parameters))

    (job_id,) = google.server.jobs
    assert error["message"] == f"item 0: query job {job_id} did not finish within 60 s"
    assert "Raise 'Wait up to'" in error["description"]
    assert len(google.server.received("/bigquery/v2/projects/fake-project/queries/")) == 1


def test_an_unbound_parameter_carries_bigquerys_message(google: Google) -> None:
    sql = numbers(google, 0)

    error = failure(bq(google, {"query": sql}))

    assert error["message"] == (
        "item 0: Google refused running the query (400): Query parameter 'count' not found at [1:40]"
    )
    assert "each @name in the query needs a parameter" in error["description"]


def test_a_query_error_and_continue_on_fail(google: Google) -> None:
    (entry,) = outputs(bq(google, {"query": "SELEC 1"}, on_error="continue"))

    assert (
        entry["error"]
        == 'item 0: Google refused running the query (400): Syntax error: Unexpected identifier "SELEC" at [1:1]'
    )


def test_a_value_of_the_wrong_type_is_refused_by_bigquery(google: Google) -> None:
    sql = numbers(google, 0)
    parameters = {"query": sql, "query_parameters": [{"name": "count", "type": "INT64", "value": "many"}]}

    error = failure(bq(google, parameters))

    assert error["message"] == "item 0: Google refused running the query (400): Invalid int64 value: many"


def test_insert_streams_items_with_an_insert_id_per_row(google: Google) -> None:
    google.server.add_table(TABLE, EVENTS_SCHEMA)
    items = [{"id": "a", "count": 1, "at": "2024-05-01T10:00:00Z", "debug": True}, {"id": "b", "count": "2"}]
    parameters = {"operation": "insert", "dataset_id": "shop", "table_id": "events", "columns": "id, count, at"}

    first = outputs(bq(google, parameters, items))

    assert google.server.tables[TABLE]["rows"] == [
        {"id": "a", "count": 1, "at": "2024-05-01T10:00:00Z"},
        {"id": "b", "count": 2, "at": None},
    ]
    (request,) = google.server.received("/bigquery/v2/projects/fake-project/datasets/shop/tables/events/insertAll")
    body = request.json()
    assert body["skipInvalidRows"] is False and body["ignoreUnknownValues"] is False
    assert [row["json"] for row in body["rows"]] == [
        {"id": "a", "count": 1, "at": "2024-05-01T10:00:00Z"},
        {"id": "b", "count": "2", "at": None},
    ]
    ids = [row["insertId"] for row in body["rows"]]
    assert len(set(ids)) == 2 and [entry["insertId"] for entry in first] == ids
    assert first[0] == {"table": TABLE, "insertId": ids[0], "row": body["rows"][0]["json"]}


def test_a_deduplication_field_keeps_a_retried_row_from_being_inserted_twice(google: Google) -> None:
    google.server.add_table(TABLE, EVENTS_SCHEMA)
    parameters = {"operation": "insert", "dataset_id": "shop", "table_id": "events", "insert_id_field": "id"}

    outputs(bq(google, parameters, [{"id": "order-1", "count": 1}]))
    outputs(bq(google, parameters, [{"id": "order-1", "count": 1}, {"id": "order-2", "count": 5}]))

    assert [row["id"] for row in google.server.tables[TABLE]["rows"]] == ["order-1", "order-2"]
    last = google.server.received("/bigquery/v2/projects/")[-1].json()
    assert [row["insertId"] for row in last["rows"]] == ["order-1", "order-2"]


def test_refused_rows_are_named_and_nothing_is_inserted(google: Google) -> None:
    google.server.add_table(TABLE, EVENTS_SCHEMA)
    items = [{"id": "a", "count": 1}, {"id": "b", "count": "lots"}, {"count": 3, "colour": "red"}]
    parameters = {"operation": "insert", "dataset_id": "shop", "table_id": "events"}

    error = failure(bq(google, parameters, items))

    assert error["message"] == (
        f"item 1: BigQuery refused the rows of items 1, 2 for table {TABLE} (no row of the batch was inserted): "
        "item 1: count: Cannot convert value to integer (bad value): lots. "
        "item 2: colour: no such field: colour; id: Missing required field: id."
    )
    assert "Ignore unknown fields" in error["description"]
    assert google.server.tables[TABLE]["rows"] == []


def test_skip_invalid_rows_and_ignore_unknown_fields_insert_the_rest(google: Google) -> None:
    google.server.add_table(TABLE, EVENTS_SCHEMA)
    items = [{"id": "a", "colour": "red"}, {"count": 2}]
    parameters = {
        "operation": "insert",
        "dataset_id": "shop",
        "table_id": "events",
        "skip_invalid_rows": True,
        "ignore_unknown_values": True,
    }

    error = failure(bq(google, parameters, items))

    assert error["message"].startswith(f"item 1: BigQuery refused the rows of items 1 for table {TABLE} (the other")
    assert google.server.tables[TABLE]["rows"] == [{"id": "a", "count": None, "at": None}]


def test_insert_into_a_missing_table_says_to_check_the_ids(google: Google) -> None:
    error = failure(bq(google, {"operation": "insert", "dataset_id": "shop", "table_id": "gone"}, [{"id": "a"}]))

    assert error["message"] == (
        "item 0: Google refused inserting rows into table fake-project.shop.gone (404): "
        "Not found: Table fake-project:shop.gone"
    )
    assert "dataset id and the table id" in error["description"]


def test_get_many_reads_the_schema_then_pages_of_rows(google: Google, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigquery, "MAX_PAGE", 100)
    rows = [{"id": f"e{n:05d}", "count": n, "at": "2024-05-01T00:00:00Z"} for n in range(102)]
    google.server.add_table(TABLE, EVENTS_SCHEMA, rows)
    parameters = {"operation": "get_many", "dataset_id": "{{ $json.dataset }}", "table_id": "events"}

    everything = outputs(bq(google, {**parameters, "return_all": True}, [{"dataset": "shop"}]))
    some = outputs(bq(google, {**parameters, "columns": ["count", "id"], "limit": 2}, [{"dataset": "shop"}]))

    assert len(everything) == 102
    assert everything[1] == {"id": "e00001", "count": 1, "at": "2024-05-01T00:00:00Z"}
    assert some == [{"id": "e00000", "count": 0}, {"id": "e00001", "count": 1}]
    calls = google.server.received("/bigquery/v2/projects/fake-project/datasets/shop/tables/events")
    assert [call.path.rsplit("/", 1)[1] for call in calls] == ["events", "data", "data", "events", "data"]
    assert [call.query.get("pageToken") for call in calls[1:3]] == [None, ["100"]]
    assert calls[1].query["maxResults"] == ["100"]
    assert calls[3].query["selectedFields"] == ["count,id"] and calls[4].query["maxResults"] == ["2"]


def test_a_bad_key_is_refused_before_any_bigquery_call(google: Google) -> None:
    credential = {
        "service_account_json": google.server.service_account("stranger", registered=False),
        "api_root_url": google.server.root_url,
    }

    error = failure(
        run_node(
            "google.bigquery",
            {"query": "SELECT 1"},
            credential_type="google_service_account",
            host=host_for(credential),
        )
    )

    assert error["message"].startswith("item 0: Google refused the service account stranger@")
    assert not google.server.received("/bigquery/")


def test_parameters_are_checked_before_calling_google(google: Google) -> None:
    no_query = failure(bq(google, {"query": " "}))
    bad_type = failure(bq(google, {"query": "SELECT @a", "query_parameters": [{"name": "a", "type": "TEXT"}]}))
    twice = failure(
        bq(google, {"query": "SELECT @a", "query_parameters": [{"name": "a"}, {"name": "a", "value": "x"}]})
    )
    not_a_list = failure(
        bq(google, {"query": "SELECT 1", "query_parameters": [{"name": "a", "type": "ARRAY<STRING>", "value": "x"}]})
    )
    no_table = failure(bq(google, {"operation": "get_many", "dataset_id": "shop"}))
    no_dedupe = failure(
        bq(google, {"operation": "insert", "dataset_id": "d", "table_id": "t", "insert_id_field": "key"}, [{}])
    )

    assert "the query is empty" in no_query["message"]
    assert "'TEXT' is not a BigQuery type" in bad_type["message"]
    assert "query parameter a is given twice" in twice["message"]
    assert "parameter a is an ARRAY: give it a list" in not_a_list["message"]
    assert "get_many needs a dataset id and a table id" in no_table["message"]
    assert no_dedupe["message"] == "item 0: the item has no 'key' field to deduplicate its row by"
    assert not google.server.received("/bigquery/")
