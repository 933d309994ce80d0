"""AWS Kinesis (aws.kinesis) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.kinesis.models import KinesisBackend

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node


def kinesis(aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    return run_node("aws.kinesis", parameters, items, credential_type="aws", host=host_for(aws.credential), **settings)


def stream(aws: Aws, name: str, shards: int = 1) -> Any:
    client = aws.client("kinesis")
    client.create_stream(StreamName=name, ShardCount=shards)
    return client


def stored(client: Any, name: str) -> list[dict[str, Any]]:
    """Every record of every shard, straight from the stream."""
    records = []
    for shard in client.list_shards(StreamName=name)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records.extend(client.get_records(ShardIterator=iterator)["Records"])
    return records


def test_put_sends_items_as_json_or_a_field_with_a_partition_key_expression(aws: Aws) -> None:
    client = stream(aws, "orders")
    items = [{"id": 1, "customer": "ada", "payload": "first"}, {"id": 2, "customer": "bob", "payload": {"n": 2}}]

    whole = outputs(kinesis(aws, {"stream": "orders", "partition_key": "{{ $json.customer }}"}, items))
    field = outputs(
        kinesis(aws, {"stream": "orders", "partition_key": "p", "data_from": "field", "data_field": "payload"}, items)
    )

    assert [entry["partition_key"] for entry in whole] == ["ada", "bob"]
    assert all(entry["shard_id"].startswith("shardId-") and entry["sequence_number"] for entry in whole + field)
    data = sorted(record["Data"] for record in stored(client, "orders"))
    assert data == sorted(
        [
            b'{"id": 1, "customer": "ada", "payload": "first"}',
            b'{"id": 2, "customer": "bob", "payload": {"n": 2}}',
            b"first",
            b'{"n": 2}',
        ]
    )


def test_put_batches_five_hundred_records_per_call(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    client = stream(aws, "clicks", shards=2)
    calls: list[int] = []
    original = KinesisBackend.put_records

    def counting(self: KinesisBackend, stream_arn: str, stream_name: str, records: list[Any]) -> Any:
        calls.append(len(records))
        return original(self, stream_arn, stream_name, records)

    monkeypatch.setattr(KinesisBackend, "put_records", counting)
    items = [{"n": number} for number in range(1001)]

    sent = outputs(kinesis(aws, {"stream": "clicks", "partition_key": "{{ $json.n }}"}, items))

    assert calls == [500, 500, 1]
    assert len(sent) == 1001 and len(stored(client, "clicks")) == 1001


def reject_key(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto never turns single records down; make it throttle those with partition key ``key``, as a hot shard does."""
    original = KinesisBackend.put_records

    def throttling(self: KinesisBackend, stream_arn: str, stream_name: str, records: list[Any]) -> Any:
        kept = [record for record in records if record["PartitionKey"] != key]
        answer = original(self, stream_arn, stream_name, kept)
        accepted = iter(answer["Records"])
        answer["Records"] = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
            if record["PartitionKey"] == key
            else next(accepted)
            for record in records
        ]
        answer["FailedRecordCount"] = len(records) - len(kept)
        return answer

    monkeypatch.setattr(KinesisBackend, "put_records", throttling)


def test_rejected_records_fail_the_node_naming_the_items(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    client = stream(aws, "hot")
    reject_key("hot", monkeypatch)
    items = [{"key": "cool"}, {"key": "hot"}, {"key": "cool"}]

    error = failure(kinesis(aws, {"stream": "hot", "partition_key": "{{ $json.key }}"}, items))

    assert error["message"] == (
        "item 1: AWS rejected item 1 while putting records into stream 'hot': "
        "ProvisionedThroughputExceededException (Rate exceeded for shard); 2 other(s) were accepted"
    )
    assert error["item_index"] == 1 and "add shards" in error["description"]
    assert len(stored(client, "hot")) == 2


def test_rejected_records_can_come_out_as_items(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    stream(aws, "hot")
    reject_key("hot", monkeypatch)
    parameters = {"stream": "hot", "partition_key": "{{ $json.key }}", "fail_on_rejected": False}

    sent = outputs(kinesis(aws, parameters, [{"key": "hot"}, {"key": "cool"}]))

    assert sent[0] == {
        "stream": "hot",
        "partition_key": "hot",
        "rejected": True,
        "error_code": "ProvisionedThroughputExceededException",
        "error_message": "Rate exceeded for shard",
    }
    assert sent[1]["sequence_number"] and "rejected" not in sent[1]


def test_get_records_reads_every_shard_and_decodes(aws: Aws) -> None:
    client = stream(aws, "events", shards=2)
    for number in range(6):
        client.put_record(StreamName="events", Data=f'{{"n": {number}}}'.encode(), PartitionKey=f"key-{number}")
    client.put_record(StreamName="events", Data=b"plain text", PartitionKey="text")
    client.put_record(StreamName="events", Data=b"\xff\x00", PartitionKey="bytes")

    records = outputs(kinesis(aws, {"operation": "get_records", "stream": "events"}))
    as_base64 = outputs(kinesis(aws, {"operation": "get_records", "stream": "events", "decode": "base64"}))
    limited = outputs(kinesis(aws, {"operation": "get_records", "stream": "events", "max_records": 3}))

    data = {entry["partition_key"]: entry["data"] for entry in records}
    assert {data[f"key-{number}"]["n"] for number in range(6)} == set(range(6))
    assert data["text"] == "plain text" and data["bytes"] == base64.b64encode(b"\xff\x00").decode()
    assert {entry["shard_id"] for entry in records} == {"shardId-000000000000", "shardId-000000000001"}
    assert {entry["data"] for entry in as_base64 if entry["partition_key"] == "text"} == {"cGxhaW4gdGV4dA=="}
    assert len(limited) == 3 and isinstance(records[0]["arrival_timestamp"], str)


def test_get_records_from_a_sequence_number_or_a_time(aws: Aws) -> None:
    client = stream(aws, "log")
    answers = [client.put_record(StreamName="log", Data=f"r{n}".encode(), PartitionKey="k") for n in range(4)]
    shard, second = answers[1]["ShardId"], answers[1]["SequenceNumber"]
    read = {"operation": "get_records", "stream": "log", "shard_id": shard, "decode": "text"}

    at = outputs(kinesis(aws, {**read, "iterator_type": "AT_SEQUENCE_NUMBER", "sequence_number": second}))
    after = outputs(kinesis(aws, {**read, "iterator_type": "AFTER_SEQUENCE_NUMBER", "sequence_number": second}))
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    by_time = outputs(kinesis(aws, {**read, "iterator_type": "AT_TIMESTAMP", "timestamp": since}))
    latest = outputs(kinesis(aws, {**read, "iterator_type": "LATEST"}))

    assert [entry["data"] for entry in at] == ["r1", "r2", "r3"]
    assert [entry["data"] for entry in after] == ["r2", "r3"]
    assert [entry["data"] for entry in by_time] == ["r0", "r1", "r2", "r3"]
    assert latest == []


def test_describe_and_list_streams(aws: Aws) -> None:
    for number in range(3):
        stream(aws, f"stream-{number}", shards=number + 1)

    (described,) = outputs(kinesis(aws, {"operation": "describe", "stream": "stream-1"}))
    everything = outputs(kinesis(aws, {"operation": "list_streams", "return_all": True}))
    limited = outputs(kinesis(aws, {"operation": "list_streams", "limit": 2}))

    assert described["name"] == "stream-1" and described["status"] == "ACTIVE"
    assert described["arn"].startswith("arn:aws:kinesis:") and described["retention_hours"] == 24
    assert [shard["shard_id"] for shard in described["shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert sorted(entry["name"] for entry in everything) == ["stream-0", "stream-1", "stream-2"]
    assert len(limited) == 2


def test_a_missing_stream_names_the_item_and_continue_on_fail(aws: Aws) -> None:
    error = failure(kinesis(aws, {"operation": "describe", "stream": "{{ $json.s }}"}, [{"s": "nope"}]))
    (entry,) = outputs(kinesis(aws, {"stream": "nope", "partition_key": "k"}, on_error="continue"))

    assert error["message"].startswith("item 0: AWS refused describing stream 'nope': ResourceNotFoundException")
    assert "stream's name or ARN" in error["description"]
    assert entry["error"].startswith("item 0: AWS refused putting records into stream 'nope'")


def test_parameters_and_items_are_checked_before_calling_aws(aws: Aws) -> None:
    client = stream(aws, "checked")
    no_key = failure(kinesis(aws, {"stream": "checked"}))
    no_field = failure(
        kinesis(aws, {"stream": "checked", "partition_key": "k", "data_from": "field", "data_field": "body"}, [{}])
    )
    no_shard = failure(
        kinesis(aws, {"operation": "get_records", "stream": "checked", "iterator_type": "AT_SEQUENCE_NUMBER"})
    )
    too_big = failure(kinesis(aws, {"stream": "checked", "partition_key": "k"}, [{"a": "x"}, {"a": "x" * 1_100_000}]))

    assert "put needs a partition key" in no_key["message"]
    assert no_field["message"] == "item 0: has no field 'body' to put as the record's data"
    assert "needs a sequence number and the shard" in no_shard["message"]
    assert too_big["message"] == "item 1: its record is larger than the 1 MiB Kinesis takes"
    assert stored(client, "checked") == []
