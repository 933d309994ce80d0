"""Redis (redis.command) run through the engine against the real Redis, under a unique key prefix per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import RunResult
from hitl_studio.engine.states import RunStatus
from nodes.redis.credentials import RedisCredential, RedisFields
from nodes.sdk import Item, NodeError
from tests.fakes.smtp_server import free_port
from tests.servers import redis_url_or_skip
from tests.workflows import node, output_json, run, workflow

MANUAL = node("Start", "trigger.manual")


class Server:
    """The test Redis: a credential for the node, a client for checking, and this test's key prefix."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.credential = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 6379,
            "db": int(parts.path.lstrip("/") or 0),
            "password": parts.password or "",
        }
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = f"hitl-test:{uuid.uuid4().hex}:"

    def run(self, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> RunResult:
        data = workflow(
            [MANUAL, node("Redis", "redis.command", parameters, credentials={"redis": {"id": "cache"}})],
            [("Start", "Redis")],
        )
        host = LocalHost(credentials={"cache": self.credential})
        return run(data, host=host, pinned={"Start": [Item(item) for item in items or [{}]]})

    def values(self, parameters: dict[str, Any], items: list[dict[str, Any]] | None = None) -> list[Any]:
        result = self.run(parameters, items)
        assert result.status is RunStatus.SUCCEEDED, result.error
        return [output["value"] for output in output_json(result, "Redis")]


@pytest.fixture
def server() -> Iterator[Server]:
    test_server = Server(redis_url_or_skip())
    try:
        yield test_server
    finally:
        keys = list(test_server.client.scan_iter(match=f"{test_server.prefix}*"))
        if keys:
            test_server.client.delete(*keys)
        test_server.client.close()


def test_set_then_get_round_trips_text_and_keeps_the_item(server: Server) -> None:
    key = server.prefix + "greeting:{{ $json.id }}"

    assert server.values(
        {"operation": "set", "key": key, "value": "hello {{ $json.name }}"}, [{"id": 1, "name": "Ada"}]
    ) == [True]
    result = server.run({"operation": "get", "key": key, "result_field": "cached.text"}, [{"id": 1}, {"id": 2}])

    assert output_json(result, "Redis") == [
        {"id": 1, "cached": {"text": "hello Ada"}},
        {"id": 2, "cached": {"text": None}},
    ]
    assert [item.paired_item for item in result.last_outputs["Redis"][0]] == [0, 1]
    assert server.client.get(server.prefix + "greeting:1") == "hello Ada"


def test_set_numbers_and_booleans_as_json_text(server: Server) -> None:
    key = server.prefix + "n"

    server.values({"operation": "set", "key": key, "value": 42})
    assert server.client.get(key) == "42"
    server.values({"operation": "set", "key": key, "value": True})
    assert server.client.get(key) == "true"


def test_set_with_a_ttl_and_only_if_missing(server: Server) -> None:
    key = server.prefix + "lock"

    first = server.values({"operation": "set", "key": key, "value": "a", "ttl_seconds": 60, "only_if_missing": True})
    second = server.values({"operation": "set", "key": key, "value": "b", "only_if_missing": True})

    assert (first, second) == ([True], [False])
    assert server.client.get(key) == "a"
    assert 0 < server.client.ttl(key) <= 60


def test_json_values_are_stored_as_json_and_parsed_back(server: Server) -> None:
    key = server.prefix + "order"
    order = {"id": 7, "lines": [{"sku": "A", "qty": 2}], "note": "für"}

    server.values(
        {"operation": "set", "key": key, "value": "{{ $json.order }}", "json_values": True}, [{"order": order}]
    )

    assert server.client.get(key) == '{"id": 7, "lines": [{"sku": "A", "qty": 2}], "note": "für"}'
    assert server.values({"operation": "get", "key": key, "json_values": True}) == [order]


def test_an_object_without_json_values_is_refused_naming_the_item(server: Server) -> None:
    result = server.run(
        {"operation": "set", "key": server.prefix + "x", "value": "{{ $json.v }}"}, [{"v": "fine"}, {"v": {"a": 1}}]
    )

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 1
    assert result.error["message"] == "item 1: the value is an object"
    assert "JSON values" in result.error["description"]


def test_reading_text_as_json_says_so(server: Server) -> None:
    server.client.set(server.prefix + "plain", "not json")

    result = server.run({"operation": "get", "key": server.prefix + "plain", "json_values": True})

    assert result.status is RunStatus.FAILED
    assert result.error is not None and "is not JSON" in result.error["message"]


def test_delete_reports_how_many_keys_went(server: Server) -> None:
    server.client.set(server.prefix + "gone", "1")

    assert server.values({"operation": "delete", "key": server.prefix + "gone"}, [{}, {}]) == [1, 0]
    assert server.client.exists(server.prefix + "gone") == 0


def test_incr_counts_up_down_and_by_fractions(server: Server) -> None:
    key = server.prefix + "counter"

    assert server.values({"operation": "incr", "key": key}, [{}, {}, {}]) == [1, 2, 3]
    assert server.values({"operation": "incr", "key": key, "amount": -5}) == [-2]
    assert server.values({"operation": "incr", "key": key, "amount": 0.5}) == [-1.5]


def test_keys_lists_matching_keys_up_to_the_cap(server: Server) -> None:
    for name in ("k:1", "k:2", "k:3", "other"):
        server.client.set(server.prefix + name, "x")

    assert server.values({"operation": "keys", "pattern": server.prefix + "k:*"}) == [
        [server.prefix + "k:1", server.prefix + "k:2", server.prefix + "k:3"]
    ]
    (capped,) = server.values({"operation": "keys", "pattern": server.prefix + "*", "max_keys": 2})
    assert len(capped) == 2 and all(key.startswith(server.prefix) for key in capped)


def test_lists_push_pop_and_length(server: Server) -> None:
    key = server.prefix + "queue"

    assert server.values(
        {"operation": "push", "key": key, "value": "{{ $json.job }}"}, [{"job": "a"}, {"job": "b"}]
    ) == [
        1,
        2,
    ]
    assert server.values({"operation": "push", "key": key, "value": "z", "push_side": "left"}) == [3]
    assert server.values({"operation": "llen", "key": key}) == [3]
    assert server.client.lrange(key, 0, -1) == ["z", "a", "b"]
    assert server.values({"operation": "pop", "key": key}) == ["z"]
    assert server.values({"operation": "pop", "key": key, "pop_side": "right"}, [{}, {}, {}]) == ["b", "a", None]


def test_hashes_set_and_get_fields(server: Server) -> None:
    key = server.prefix + "user"

    assert server.values({"operation": "hset", "key": key, "field": "name", "value": "Ada"}) == [1]
    assert server.values({"operation": "hset", "key": key, "value": {"name": "Ada L.", "born": 1815}}) == [1]
    assert server.values({"operation": "hget", "key": key, "field": "name"}) == ["Ada L."]
    assert server.values({"operation": "hget", "key": key}) == [{"name": "Ada L.", "born": "1815"}]
    assert server.values({"operation": "hget", "key": key, "field": "missing"}) == [None]


def test_publish_reaches_a_subscriber(server: Server) -> None:
    channel = server.prefix + "events"
    subscriber = server.client.pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(channel)
    try:
        deadline = time.monotonic() + 5
        while server.client.pubsub_numsub(channel)[0][1] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)

        receivers = server.values(
            {"operation": "publish", "channel": channel, "value": "{{ $json.event }}", "json_values": True},
            [{"event": {"type": "order.paid", "id": 7}}],
        )

        message = subscriber.get_message(timeout=5)
        while message is None and time.monotonic() < deadline:
            message = subscriber.get_message(timeout=1)
    finally:
        subscriber.close()
    assert receivers == [1]
    assert message is not None
    assert message["channel"] == channel
    assert message["data"] == '{"type": "order.paid", "id": 7}'


def test_a_command_on_the_wrong_kind_of_key_names_the_item(server: Server) -> None:
    server.client.set(server.prefix + "text", "x")
    items = [{"key": server.prefix + "list"}, {"key": server.prefix + "text"}]

    result = server.run({"operation": "push", "key": "{{ $json.key }}", "value": "v"}, items)

    assert result.status is RunStatus.FAILED
    assert result.error is not None and result.error["item_index"] == 1
    assert result.error["message"].startswith(f"item 1: push '{server.prefix}text' failed: WRONGTYPE")
    assert "another kind of value" in result.error["description"]


def test_a_missing_key_is_refused_before_connecting(server: Server) -> None:
    result = server.run({"operation": "get"})

    assert result.status is RunStatus.FAILED
    assert result.error is not None and "get needs a key" in result.error["message"]


def test_connection_test_pings_the_server(server: Server) -> None:
    fields = RedisFields.model_validate(server.credential)

    assert RedisCredential.test_connection(fields) == f"Connected to {fields.host}:{fields.port} (database {fields.db})"


def test_connection_test_on_a_closed_port_fails() -> None:
    fields = RedisFields(host="127.0.0.1", port=free_port())

    with pytest.raises(NodeError, match=r"cannot reach Redis at 127\.0\.0\.1:\d+"):
        RedisCredential.test_connection(fields)
