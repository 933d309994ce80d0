"""AWS DynamoDB (aws.dynamodb) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node

ORDERS = [
    {"customer": "ada", "placed": "2024-05-01", "total": 9.5, "lines": [1, 2], "paid": True},
    {"customer": "ada", "placed": "2024-05-17", "total": 12, "lines": [], "paid": False},
    {"customer": "ada", "placed": "2024-06-02", "total": 30.25, "lines": [3], "paid": True},
    {"customer": "bob", "placed": "2024-05-09", "total": 4, "lines": [], "paid": True},
]


def dynamodb(aws: Aws, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
    parameters = {"table": "orders", **parameters}
    return run_node("aws.dynamodb", parameters, items, credential_type="aws", host=host_for(aws.credential))


def create_table(aws: Aws) -> None:
    aws.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "placed", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "placed", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_put_the_input_items_then_get_one_back_with_json_types(aws: Aws) -> None:
    create_table(aws)

    written = outputs(dynamodb(aws, {"operation": "put"}, ORDERS))
    (found,) = outputs(
        dynamodb(
            aws, {"operation": "get", "key": {"customer": "{{ $json.c }}", "placed": "2024-05-01"}}, [{"c": "ada"}]
        )
    )
    missing = outputs(dynamodb(aws, {"operation": "get", "key": {"customer": "zoe", "placed": "2024-01-01"}}))

    assert written == ORDERS
    assert found == ORDERS[0]
    assert isinstance(found["total"], float) and isinstance(found["lines"][0], int)
    assert missing == []


def test_put_a_custom_item_only_if_new(aws: Aws) -> None:
    create_table(aws)
    item = {"customer": "ada", "placed": "2024-05-01", "note": "{{ $json.note }}"}

    outputs(dynamodb(aws, {"operation": "put", "item_source": "custom", "item": item}, [{"note": "first"}]))
    error = failure(
        dynamodb(
            aws, {"operation": "put", "item_source": "custom", "item": item, "only_if_new": True}, [{"note": "second"}]
        )
    )

    assert error["message"].startswith("item 0: AWS refused putting an item into 'orders': ConditionalCheckFailed")
    stored = aws.client("dynamodb").get_item(
        TableName="orders", Key={"customer": {"S": "ada"}, "placed": {"S": "2024-05-01"}}
    )
    assert stored["Item"]["note"] == {"S": "first"}


def test_query_by_partition_with_a_sort_key_condition_newest_first(aws: Aws) -> None:
    create_table(aws)
    outputs(dynamodb(aws, {"operation": "put"}, ORDERS))
    query = {"operation": "query", "partition_key": "customer", "partition_value": "ada"}

    everything = outputs(dynamodb(aws, query))
    may = outputs(
        dynamodb(aws, {**query, "sort_key": "placed", "sort_operator": "begins_with", "sort_value": "2024-05"})
    )
    newest = outputs(dynamodb(aws, {**query, "newest_first": True, "limit": 1}))
    between = outputs(
        dynamodb(
            aws,
            {
                **query,
                "sort_key": "placed",
                "sort_operator": "between",
                "sort_value": "2024-05-10",
                "sort_value_to": "2024-06-30",
            },
        )
    )

    assert [order["placed"] for order in everything] == ["2024-05-01", "2024-05-17", "2024-06-02"]
    assert [order["placed"] for order in may] == ["2024-05-01", "2024-05-17"]
    assert [order["placed"] for order in newest] == ["2024-06-02"]
    assert [order["placed"] for order in between] == ["2024-05-17", "2024-06-02"]


def test_delete_returns_the_old_item(aws: Aws) -> None:
    create_table(aws)
    outputs(dynamodb(aws, {"operation": "put"}, ORDERS[:1]))
    key = {"customer": "ada", "placed": "2024-05-01"}

    (deleted,) = outputs(dynamodb(aws, {"operation": "delete", "key": key}))
    (again,) = outputs(dynamodb(aws, {"operation": "delete", "key": key}))

    assert deleted == {"deleted": True, "key": key, "old": ORDERS[0]}
    assert again == {"deleted": False, "key": key, "old": {}}


def test_a_missing_table_and_a_bad_key_name_the_item(aws: Aws) -> None:
    error = failure(dynamodb(aws, {"operation": "get", "table": "nope", "key": {"id": 1}}))
    assert error["message"].startswith("item 0: AWS refused getting an item of 'nope': ResourceNotFoundException")

    error = failure(dynamodb(aws, {"operation": "get", "key": "{not json"}))
    assert "the key is not valid JSON" in error["message"]
