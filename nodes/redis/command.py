"""Redis: one command per item (get, set, delete, incr, keys, publish, list and hash operations).

The command's result goes into a field of the item (``value`` by default);
the item's other fields and files pass through.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import redis
from pydantic import model_validator

from nodes.core.set import set_path
from nodes.redis.credentials import DEFAULT_TIMEOUT_SECONDS, RedisCredential, connect
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

Operation = Literal["get", "set", "delete", "incr", "keys", "publish", "push", "pop", "llen", "hget", "hset"]

KEYED = ("get", "set", "delete", "incr", "push", "pop", "llen", "hget", "hset")
WRITES_VALUE = ("set", "push", "hset", "publish")
READS_VALUE = ("get", "pop", "hget")


class RedisCommandParameters(Parameters):
    operation: Operation = param(
        "get",
        title="Operation",
        description="get/set/delete/incr a key; keys: list keys; publish to a channel; push/pop/llen a list; "
        "hget/hset a hash field.",
        no_expressions=True,
    )
    key: str = param("", title="Key", placeholder="orders:{{ $json.id }}", show_if={"operation": KEYED})
    value: Any = param(
        None,
        title="Value",
        description="What set, push and hset store and publish sends; objects and lists need JSON values.",
        show_if={"operation": WRITES_VALUE},
    )
    channel: str = param("", title="Channel", show_if={"operation": ["publish"]})
    field: str = param(
        "",
        title="Hash field",
        description="hget: empty returns the whole hash; hset: empty sets every field of an object value.",
        show_if={"operation": ["hget", "hset"]},
    )
    ttl_seconds: int | None = param(
        None, title="Expire after (seconds)", description="Empty: never.", ge=1, show_if={"operation": ["set"]}
    )
    only_if_missing: bool = param(
        False,
        title="Only if the key does not exist",
        description="Redis NX: the result is false when the key was already there.",
        show_if={"operation": ["set"]},
    )
    amount: int | float = param(1, title="By", description="Negative to decrement.", show_if={"operation": ["incr"]})
    pattern: str = param("*", title="Pattern", description="Redis glob: * ? [abc].", show_if={"operation": ["keys"]})
    max_keys: int = param(
        1000,
        title="At most",
        description="Stop after this many keys (listing is incremental, never the blocking KEYS command).",
        ge=1,
        le=100_000,
        show_if={"operation": ["keys"]},
    )
    push_side: Literal["left", "right"] = param(
        "right", title="Push to", description="right: the tail, left: the head.", show_if={"operation": ["push"]}
    )
    pop_side: Literal["left", "right"] = param(
        "left", title="Pop from", description="left: the head, right: the tail.", show_if={"operation": ["pop"]}
    )
    json_values: bool = param(
        False,
        title="JSON values",
        description="Store values as JSON text, and parse what get, pop and hget read back as JSON.",
    )
    result_field: str = param(
        "value", title="Result field", description="Where the result goes in the item; dots make nested fields."
    )

    @model_validator(mode="after")
    def _needs(self) -> RedisCommandParameters:
        if self.operation in KEYED and not self.key:
            raise ValueError(f"{self.operation} needs a key")
        if self.operation == "publish" and not self.channel:
            raise ValueError("publish needs a channel")
        if self.operation == "hset" and not self.field and not isinstance(self.value, dict):
            raise ValueError("hset needs a hash field, or an object value to set every field of")
        if not self.result_field:
            raise ValueError("the result field cannot be empty")
        return self


class RedisCommandNode(Node):
    type = "redis.command"
    display_name = "Redis"
    category = Category.INTEGRATION
    description = "Runs a Redis command per item (get, set, incr, lists, hashes, publish) and keeps the result."
    icon = "database-zap"
    Parameters = RedisCommandParameters
    credentials = (CredentialRequirement("redis"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields = RedisCredential.parse(ctx.credential("redis"))
        remaining = ctx.remaining_seconds()
        timeout = DEFAULT_TIMEOUT_SECONDS if remaining is None else max(min(remaining, DEFAULT_TIMEOUT_SECONDS), 1.0)
        client = connect(fields, timeout)
        produced: list[Item] = []
        try:
            for index, item in enumerate(items):
                params: RedisCommandParameters = ctx.params(index)
                try:
                    result = _run(client, params, index)
                except redis.RedisError as err:
                    raise _command_error(params, index, err) from err
                data = dict(item.json)
                set_path(data, params.result_field, result)
                produced.append(Item(data, binary=item.binary, paired_item=index))
        finally:
            client.close()
        return [produced]


def _run(client: redis.Redis, params: RedisCommandParameters, index: int) -> Any:
    """Run the item's command; returns its result as JSON."""
    key = params.key
    match params.operation:
        case "get":
            return _decode(client.get(key), params, index)
        case "set":
            stored = client.set(
                key, _encode(params.value, params, index), ex=params.ttl_seconds, nx=params.only_if_missing
            )
            return bool(stored)
        case "delete":
            return int(client.delete(key))
        case "incr":
            amount = params.amount
            if isinstance(amount, float) and not amount.is_integer():
                return float(client.incrbyfloat(key, amount))
            return int(client.incrby(key, int(amount)))
        case "keys":
            found: list[str] = []
            for raw in client.scan_iter(match=params.pattern, count=min(params.max_keys, 1000)):
                found.append(_text(raw, index, "a key name"))
                if len(found) >= params.max_keys:
                    break
            return sorted(found)
        case "publish":
            return int(client.publish(params.channel, _encode(params.value, params, index)))
        case "push":
            push = client.lpush if params.push_side == "left" else client.rpush
            return int(push(key, _encode(params.value, params, index)))
        case "pop":
            popped = client.lpop(key) if params.pop_side == "left" else client.rpop(key)
            return _decode(popped, params, index)
        case "llen":
            return int(client.llen(key))
        case "hget":
            if not params.field:
                everything = client.hgetall(key)
                return {
                    _text(name, index, "a hash field name"): _decode(raw, params, index)
                    for name, raw in everything.items()
                }
            return _decode(client.hget(key, params.field), params, index)
        case "hset":
            if params.field:
                return int(client.hset(key, params.field, _encode(params.value, params, index)))
            mapping = {str(name): _encode(value, params, index) for name, value in params.value.items()}
            return int(client.hset(key, mapping=mapping)) if mapping else 0
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _encode(value: Any, params: RedisCommandParameters, index: int) -> str:
    """A value as the text Redis stores: JSON when asked, else text and numbers as written."""
    if params.json_values:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return value
    if value is None:
        raise NodeError(
            f"item {index}: {params.operation} has no value",
            description="Set Value (an empty text is fine), or turn on JSON values to store null.",
            item_index=index,
        )
    if isinstance(value, dict | list):
        raise NodeError(
            f"item {index}: the value is {'an object' if isinstance(value, dict) else 'a list'}",
            description="Turn on JSON values to store objects and lists as JSON text.",
            item_index=index,
        )
    return json.dumps(value)


def _decode(raw: Any, params: RedisCommandParameters, index: int) -> Any:
    if raw is None:
        return None
    text = _text(raw, index, f"the value of {params.key!r}")
    if not params.json_values:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise NodeError(
            f"item {index}: the value of {params.key!r} is not JSON ({err.msg} at character {err.pos})",
            description="Turn off JSON values to read it as text.",
            item_index=index,
        ) from err


def _text(raw: Any, index: int, what: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode()
    except UnicodeDecodeError as err:
        raise NodeError(
            f"item {index}: {what} is binary data, not UTF-8 text",
            description="This node reads text and JSON values only.",
            item_index=index,
        ) from err


def _command_error(params: RedisCommandParameters, index: int, err: redis.RedisError) -> NodeError:
    target = repr(params.channel) if params.operation == "publish" else repr(params.key or params.pattern)
    description = "Check the Redis server and try again."
    if "WRONGTYPE" in str(err):
        description = "The key holds another kind of value (a list, a hash...); use the operation for that kind."
    elif isinstance(err, redis.ResponseError):
        description = "Redis refused the command; check the key and the value."
    return NodeError(
        f"item {index}: {params.operation} {target} failed: {err}", description=description, item_index=index
    )
