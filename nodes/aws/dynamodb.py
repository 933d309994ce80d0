"""AWS DynamoDB: put, get, query or delete items of a table, once per input item."""

from __future__ import annotations

import json
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr, Key
from pydantic import field_validator, model_validator

from nodes.aws._convert import json_safe, to_dynamodb
from nodes.aws.credentials import AwsFields, aws_resource, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

KEYED = ("get", "delete")
QUERY = {"operation": ["query"]}
SortOperator = Literal["none", "=", "<", "<=", ">", ">=", "begins_with", "between"]


def _object(value: Any, what: str) -> Any:
    """Validator body: a JSON object, or JSON text of one (the JSON widget and expressions may give text)."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ValueError(f"{what} is not valid JSON ({err})") from err
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


class DynamoDbParameters(Parameters):
    operation: Literal["put", "get", "query", "delete"] = param(
        "put",
        title="Operation",
        description="put an item (replacing one with the same key); get or delete one by its key; "
        "query: one output item per match of a partition key.",
        no_expressions=True,
    )
    table: str = param(title="Table", min_length=1, max_length=255)
    item_source: Literal["input", "custom"] = param(
        "input",
        title="Write",
        description="input: the input item's fields as the attributes; custom: the object below.",
        show_if={"operation": ["put"]},
        no_expressions=True,
    )
    item: dict[str, Any] | str = param(
        default_factory=dict,
        title="Item",
        description='The attributes to write, as a JSON object, e.g. {"pk": "{{ $json.id }}", "total": 9.5}.',
        widget="json",
        show_if={"operation": ["put"], "item_source": ["custom"]},
    )
    only_if_new: bool = param(
        False,
        title="Only if new",
        description="Fail instead of replacing an item with the same key.",
        show_if={"operation": ["put"]},
        advanced=True,
    )
    key: dict[str, Any] | str = param(
        default_factory=dict,
        title="Key",
        description='The primary key as a JSON object, e.g. {"pk": "{{ $json.id }}"} (with the sort key if any).',
        widget="json",
        show_if={"operation": KEYED},
    )
    consistent_read: bool = param(
        False, title="Consistent read", show_if={"operation": ["get", "query"]}, advanced=True
    )
    partition_key: str = param("", title="Partition key name", show_if=QUERY)
    partition_value: Any = param(None, title="Partition key value", show_if=QUERY)
    sort_key: str = param("", title="Sort key name", show_if=QUERY)
    sort_operator: SortOperator = param("none", title="Sort key condition", show_if=QUERY, no_expressions=True)
    sort_value: Any = param(None, title="Sort key value", show_if=QUERY)
    sort_value_to: Any = param(None, title="…and", description="The upper bound of between.", show_if=QUERY)
    index_name: str = param(
        "", title="Index", description="A secondary index to query; empty: the table.", show_if=QUERY, advanced=True
    )
    newest_first: bool = param(False, title="Descending sort key", show_if=QUERY)
    limit: int = param(100, title="At most", show_if=QUERY, ge=1, le=100_000)

    @field_validator("item")
    @classmethod
    def _item(cls, value: Any) -> Any:
        return _object(value, "the item")

    @field_validator("key")
    @classmethod
    def _key(cls, value: Any) -> Any:
        return _object(value, "the key")

    @model_validator(mode="after")
    def _needs(self) -> DynamoDbParameters:
        if self.operation == "put" and self.item_source == "custom" and not self.item:
            raise ValueError("put needs an item with at least the key attributes")
        if self.operation in KEYED and not self.key:
            raise ValueError(f"{self.operation} needs the key")
        if self.operation == "query":
            if not self.partition_key.strip() or self.partition_value in (None, ""):
                raise ValueError("query needs the partition key name and value")
            if self.sort_operator != "none" and (not self.sort_key.strip() or self.sort_value is None):
                raise ValueError("a sort key condition needs the sort key name and value")
            if self.sort_operator == "between" and self.sort_value_to is None:
                raise ValueError("between needs the upper bound too")
        return self


class DynamoDbNode(Node):
    type = "aws.dynamodb"
    display_name = "AWS DynamoDB"
    category = Category.INTEGRATION
    description = "Puts, gets, queries or deletes items of a DynamoDB table, per input item."
    icon = "table-2"
    Parameters = DynamoDbParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        dynamodb = aws_resource(fields, "dynamodb", timeout)
        produced: list[Item] = []
        for index, item in enumerate(items):
            params: DynamoDbParameters = ctx.params(index)
            table = dynamodb.Table(params.table.strip())
            found = _run(table, fields, params, item, index)
            produced.extend(Item(json_safe(data), paired_item=index) for data in found)
        return [produced]


def _run(table: Any, fields: AwsFields, params: DynamoDbParameters, item: Item, index: int) -> list[dict[str, Any]]:
    name = params.table.strip()
    match params.operation:
        case "put":
            attributes = item.json if params.item_source == "input" else params.item
            if not attributes:
                raise NodeError(
                    f"item {index} has no fields to write",
                    description="Write needs the key attributes.",
                    item_index=index,
                )
            options: dict[str, Any] = {}
            if params.only_if_new:
                keys = [entry["AttributeName"] for entry in _key_schema(table, fields, index)]
                condition = Attr(keys[0]).not_exists()
                options["ConditionExpression"] = condition
            call(
                fields,
                f"putting an item into {name!r}",
                table.put_item,
                item_index=index,
                Item=to_dynamodb(attributes),
                **options,
            )
            return [attributes]
        case "get":
            answer = call(
                fields,
                f"getting an item of {name!r}",
                table.get_item,
                item_index=index,
                Key=to_dynamodb(params.key),
                ConsistentRead=params.consistent_read,
            )
            # Like a query without matches: a missing item yields no output item.
            return [answer["Item"]] if "Item" in answer else []
        case "query":
            return _query(table, fields, params, index)
        case "delete":
            answer = call(
                fields,
                f"deleting an item of {name!r}",
                table.delete_item,
                item_index=index,
                Key=to_dynamodb(params.key),
                ReturnValues="ALL_OLD",
            )
            return [{"deleted": "Attributes" in answer, "key": params.key, "old": answer.get("Attributes") or {}}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _key_schema(table: Any, fields: AwsFields, index: int) -> list[dict[str, Any]]:
    description = call(fields, f"reading the key of {table.name!r}", lambda: table.key_schema, item_index=index)
    if not description:
        raise NodeError(f"item {index}: table {table.name!r} has no key schema", item_index=index)
    return list(description)


def _query(table: Any, fields: AwsFields, params: DynamoDbParameters, index: int) -> list[dict[str, Any]]:
    condition = Key(params.partition_key.strip()).eq(to_dynamodb(params.partition_value))
    if params.sort_operator != "none":
        sort = Key(params.sort_key.strip())
        value = to_dynamodb(params.sort_value)
        conditions = {
            "=": sort.eq,
            "<": sort.lt,
            "<=": sort.lte,
            ">": sort.gt,
            ">=": sort.gte,
            "begins_with": sort.begins_with,
        }
        if params.sort_operator == "between":
            condition = condition & sort.between(value, to_dynamodb(params.sort_value_to))
        else:
            condition = condition & conditions[params.sort_operator](value)
    options: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ScanIndexForward": not params.newest_first,
        "ConsistentRead": params.consistent_read,
    }
    if params.index_name.strip():
        options["IndexName"] = params.index_name.strip()
    found: list[dict[str, Any]] = []
    while len(found) < params.limit:
        answer = call(
            fields,
            f"querying {params.table.strip()!r}",
            table.query,
            item_index=index,
            Limit=params.limit - len(found),
            **options,
        )
        found.extend(answer.get("Items", []))
        if "LastEvaluatedKey" not in answer:
            break
        options["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return found[: params.limit]
