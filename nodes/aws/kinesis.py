"""AWS Kinesis Data Streams: put items as records, read records as items, describe and list streams."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import field_validator, model_validator

from nodes.aws._convert import advised, as_utc, batches, json_safe, rejected_entries, text_body
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["put", "get_records", "describe", "list_streams"]
IteratorType = Literal["TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP"]
BY_SEQUENCE = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
WITH_STREAM = ("put", "get_records", "describe")
MAX_RECORDS_PER_PUT = 500
MAX_BYTES_PER_PUT = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
"""A record's data and partition key together, as PutRecords counts them."""
MAX_RECORDS_PER_GET = 10_000
MAX_EMPTY_READS = 20
"""GetRecords may answer empty while behind the shard's end (trimmed stretches); this many in a row ends a shard."""
LIST_PAGE = 100
T = TypeVar("T")
HINTS = {
    "ResourceNotFoundException": "Check the stream's name or ARN (and the shard id), and the credential's region.",
    "ResourceInUseException": "The stream is being created, updated or deleted: retry once it is ACTIVE.",
    "ExpiredIteratorException": "Reading took longer than the 5 minutes a shard iterator lasts: run the node again.",
    "InvalidArgumentException": "Check the sequence number, timestamp and shard id.",
    "KMSAccessDeniedException": "The key's IAM policy must allow kms:GenerateDataKey and kms:Decrypt on the "
    "stream's KMS key.",
    "KMSDisabledException": "The stream's KMS key is disabled: enable it in KMS.",
}
REJECTED_HINT = (
    "A shard over its write limit (ProvisionedThroughputExceededException) takes records again a second later: "
    "send the rejected items again, or add shards."
)


class KinesisParameters(Parameters):
    operation: Operation = param(
        "put",
        title="Operation",
        description="put a record per item (PutRecords, 500 at a time); get_records: one item per record; "
        "describe a stream and its shards; list_streams: one item per stream.",
        no_expressions=True,
    )
    stream: str = param(
        "",
        title="Stream",
        description="The stream's name or ARN.",
        placeholder="clickstream",
        show_if={"operation": list(WITH_STREAM)},
    )
    data_from: Literal["item", "field"] = param(
        "item",
        title="Data",
        description="item: the item's JSON; field: one field of the item (text as is, anything else as JSON).",
        show_if={"operation": ["put"]},
        no_expressions=True,
    )
    data_field: str = param(
        "",
        title="Field",
        placeholder="payload",
        show_if={"operation": ["put"], "data_from": ["field"]},
        no_expressions=True,
    )
    partition_key: str = param(
        "",
        title="Partition key",
        description="Records with the same key go to the same shard, in order.",
        placeholder="{{ $json.customer_id }}",
        show_if={"operation": ["put"]},
        max_length=256,
    )
    explicit_hash_key: str = param(
        "",
        title="Explicit hash key",
        description="A 128-bit number that picks the shard instead of the partition key's hash.",
        show_if={"operation": ["put"]},
        advanced=True,
    )
    fail_on_rejected: bool = param(
        True,
        title="Fail when AWS rejects an item",
        description="Off: rejected records come out as items with their error code, the others as sent.",
        show_if={"operation": ["put"]},
    )
    shard_id: str = param(
        "",
        title="Shard",
        description="One shard's id; empty: every shard, one after the other.",
        placeholder="shardId-000000000000",
        show_if={"operation": ["get_records"]},
    )
    iterator_type: IteratorType = param(
        "TRIM_HORIZON",
        title="Start at",
        description="TRIM_HORIZON: the oldest record kept; LATEST: only records added from now; "
        "AT_/AFTER_SEQUENCE_NUMBER: at or after one record of the shard; AT_TIMESTAMP: records added since a time.",
        show_if={"operation": ["get_records"]},
        no_expressions=True,
    )
    sequence_number: str = param(
        "",
        title="Sequence number",
        placeholder="{{ $json.sequence_number }}",
        show_if={"operation": ["get_records"], "iterator_type": list(BY_SEQUENCE)},
    )
    timestamp: datetime | None = param(
        None,
        title="Since",
        description="ISO 8601 or seconds since 1970; a time without zone is taken as UTC.",
        widget="datetime",
        show_if={"operation": ["get_records"], "iterator_type": ["AT_TIMESTAMP"]},
    )
    max_records: int = param(
        100,
        title="At most",
        description="Records to read per item, over all shards read.",
        show_if={"operation": ["get_records"]},
        ge=1,
        le=100_000,
    )
    decode: Literal["json", "text", "base64"] = param(
        "json",
        title="Decode data as",
        description="json: data that is JSON becomes data, other data stays text; text: UTF-8 text; "
        "base64: the bytes as base64 text.",
        show_if={"operation": ["get_records"]},
        no_expressions=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' streams.",
        show_if={"operation": ["list_streams"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many streams.",
        show_if={"operation": ["list_streams"], "return_all": [False]},
        ge=1,
    )

    @field_validator("partition_key", mode="before")
    @classmethod
    def _key_as_text(cls, value: Any) -> Any:
        """An expression such as {{ $json.customer_id }} often yields a number; Kinesis takes its text."""
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _needs(self) -> KinesisParameters:
        if self.operation in WITH_STREAM and not self.stream.strip():
            raise ValueError(f"{self.operation} needs the stream's name or ARN")
        if self.operation == "put":
            if not self.partition_key:
                raise ValueError("put needs a partition key")
            if self.data_from == "field" and not self.data_field.strip():
                raise ValueError("put needs the name of the field holding the data")
        if self.operation == "get_records":
            if self.iterator_type in BY_SEQUENCE and not (self.sequence_number.strip() and self.shard_id.strip()):
                raise ValueError(f"{self.iterator_type} needs a sequence number and the shard it belongs to")
            if self.iterator_type == "AT_TIMESTAMP" and self.timestamp is None:
                raise ValueError("AT_TIMESTAMP needs the time to start at")
        return self


class KinesisNode(Node):
    type = "aws.kinesis"
    display_name = "AWS Kinesis"
    category = Category.INTEGRATION
    description = "Puts items as records into a Kinesis data stream, reads its records as items, or describes streams."
    icon = "waves"
    Parameters = KinesisParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "kinesis", timeout)
        params: list[KinesisParameters] = [ctx.params(index) for index in range(len(items))]
        if params[0].operation == "put":
            return [_put(client, fields, items, params)]
        produced: list[Item] = []
        for index, item_params in enumerate(params):
            produced.extend(_Reader(client, fields, index).run(item_params))
        return [produced]


def _stream(stream: str) -> dict[str, str]:
    """The request field naming a stream: its ARN or its name."""
    stream = stream.strip()
    return {"StreamARN": stream} if stream.startswith("arn:") else {"StreamName": stream}


def _kinesis_call(fields: AwsFields, action: str, request: Callable[..., T], index: int, **kwargs: Any) -> T:
    """:func:`call`, with Kinesis's own advice for its error codes."""
    try:
        return call(fields, action, request, item_index=index, **kwargs)
    except NodeError as err:
        raise advised(err, HINTS) from err.__cause__


def _record(item: Item, params: KinesisParameters, index: int) -> dict[str, Any]:
    """The PutRecords entry for one item.

    Raises:
        NodeError: The item lacks the data field, or the record is over Kinesis's 1 MiB.
    """
    if params.data_from == "item":
        data = json.dumps(item.json, ensure_ascii=False)
    else:
        name = params.data_field.strip()
        if name not in item.json:
            raise NodeError(
                f"item {index}: has no field {name!r} to put as the record's data",
                description="Check the field's name, or put the whole item.",
                item_index=index,
            )
        data = text_body(item.json[name])
    record: dict[str, Any] = {"Data": data.encode(), "PartitionKey": params.partition_key}
    if params.explicit_hash_key.strip():
        record["ExplicitHashKey"] = params.explicit_hash_key.strip()
    if len(record["Data"]) + len(params.partition_key.encode()) > MAX_RECORD_BYTES:
        raise NodeError(
            f"item {index}: its record is larger than the 1 MiB Kinesis takes",
            description="Put a smaller field, or store the payload in S3 and put its key.",
            item_index=index,
        )
    return record


def _put(client: Any, fields: AwsFields, items: list[Item], params: list[KinesisParameters]) -> list[Item]:
    """Put every item's record, PutRecords by PutRecords, per stream, in the items' order."""
    records = [_record(items[index], item_params, index) for index, item_params in enumerate(params)]
    by_stream: dict[str, list[int]] = {}
    for index, item_params in enumerate(params):
        by_stream.setdefault(item_params.stream.strip(), []).append(index)
    results: dict[int, dict[str, Any]] = {}
    rejected: dict[int, str] = {}
    for stream, indexes in by_stream.items():
        sizes = [len(records[index]["Data"]) + len(records[index]["PartitionKey"].encode()) for index in indexes]
        for batch in batches(sizes, max_count=MAX_RECORDS_PER_PUT, max_bytes=MAX_BYTES_PER_PUT):
            chosen = [indexes[position] for position in batch]
            answer = _kinesis_call(
                fields,
                f"putting records into stream {stream!r}",
                client.put_records,
                chosen[0],
                Records=[records[index] for index in chosen],
                **_stream(stream),
            )
            for index, entry in zip(chosen, answer.get("Records", []), strict=True):
                result: dict[str, Any] = {"stream": stream, "partition_key": records[index]["PartitionKey"]}
                if entry.get("ErrorCode"):
                    rejected[index] = f"{entry['ErrorCode']} ({entry.get('ErrorMessage', '')})"
                    result.update(
                        rejected=True, error_code=entry["ErrorCode"], error_message=entry.get("ErrorMessage", "")
                    )
                else:
                    result.update(shard_id=entry.get("ShardId"), sequence_number=entry.get("SequenceNumber"))
                results[index] = result
    if rejected and params[0].fail_on_rejected:
        streams = ", ".join(repr(stream) for stream in by_stream)
        raise rejected_entries(
            f"putting records into stream {streams}", rejected, len(items) - len(rejected), REJECTED_HINT
        )
    return [Item(results[index], paired_item=index) for index in range(len(items))]


class _Reader:
    """One item's reads: records of a stream's shards, a stream's description, the account's streams."""

    def __init__(self, client: Any, fields: AwsFields, index: int) -> None:
        self.client = client
        self.fields = fields
        self.index = index

    def _call(self, action: str, request: Callable[..., T], **kwargs: Any) -> T:
        return _kinesis_call(self.fields, action, request, self.index, **kwargs)

    def _out(self, data: dict[str, Any]) -> Item:
        return Item(json_safe(data), paired_item=self.index)

    def run(self, params: KinesisParameters) -> list[Item]:
        stream = params.stream.strip()
        match params.operation:
            case "get_records":
                shards = [params.shard_id.strip()] if params.shard_id.strip() else self._shard_ids(stream)
                found: list[Item] = []
                for shard in shards:
                    found.extend(self._read(params, stream, shard, params.max_records - len(found)))
                    if len(found) >= params.max_records:
                        break
                return found
            case "describe":
                answer = self._call(
                    f"describing stream {stream!r}", self.client.describe_stream_summary, **_stream(stream)
                )
                return [self._out(_description(answer["StreamDescriptionSummary"], self._shards(stream)))]
            case "list_streams":
                return self._list(params)
        raise AssertionError(f"unhandled operation {params.operation!r}")

    def _shards(self, stream: str) -> list[dict[str, Any]]:
        """Every shard of the stream, closed ones (after a reshard) included: they may still hold records."""
        shards: list[dict[str, Any]] = []
        paging: dict[str, Any] = _stream(stream)
        while True:
            answer = self._call(f"listing the shards of stream {stream!r}", self.client.list_shards, **paging)
            shards.extend(answer.get("Shards", []))
            if not answer.get("NextToken"):
                return shards
            # With a NextToken, ListShards refuses the stream's name.
            paging = {"NextToken": answer["NextToken"]}

    def _shard_ids(self, stream: str) -> list[str]:
        return [shard["ShardId"] for shard in self._shards(stream)]

    def _read(self, params: KinesisParameters, stream: str, shard: str, wanted: int) -> list[Item]:
        start: dict[str, Any] = {"ShardIteratorType": params.iterator_type}
        if params.iterator_type in BY_SEQUENCE:
            start["StartingSequenceNumber"] = params.sequence_number.strip()
        if params.iterator_type == "AT_TIMESTAMP" and params.timestamp is not None:
            start["Timestamp"] = as_utc(params.timestamp)
        action = f"reading shard {shard!r} of stream {stream!r}"
        answer = self._call(action, self.client.get_shard_iterator, ShardId=shard, **start, **_stream(stream))
        iterator: str | None = answer.get("ShardIterator")
        found: list[Item] = []
        empty_reads = 0
        while iterator and len(found) < wanted:
            size = min(MAX_RECORDS_PER_GET, wanted - len(found))
            answer = self._call(action, self.client.get_records, ShardIterator=iterator, Limit=size)
            records = answer.get("Records", [])
            found.extend(self._out(_read_record(record, stream, shard, params.decode)) for record in records)
            iterator = answer.get("NextShardIterator")
            empty_reads = 0 if records else empty_reads + 1
            # Empty and not behind: the shard's end is reached. Empty but behind: trimmed records, read on.
            if not records and (not answer.get("MillisBehindLatest") or empty_reads >= MAX_EMPTY_READS):
                break
        return found

    def _list(self, params: KinesisParameters) -> list[Item]:
        limit = None if params.return_all else params.limit
        found: list[Item] = []
        token: str | None = None
        while limit is None or len(found) < limit:
            paging = {"NextToken": token} if token else {}
            size = LIST_PAGE if limit is None else min(LIST_PAGE, limit - len(found))
            answer = self._call("listing the streams", self.client.list_streams, Limit=size, **paging)
            summaries = answer.get("StreamSummaries") or [{"StreamName": name} for name in answer["StreamNames"]]
            found.extend(self._out(_summary(summary)) for summary in summaries)
            token = answer.get("NextToken")
            if not token or not answer.get("HasMoreStreams"):
                break
        return found if limit is None else found[:limit]


def _decoded(data: bytes, decode: str) -> Any:
    if decode == "base64":
        return base64.b64encode(data).decode("ascii")
    if decode == "text":
        return data.decode("utf-8", errors="replace")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Not text at all: base64 keeps the bytes intact rather than mangling them.
        return base64.b64encode(data).decode("ascii")
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return text


def _read_record(record: dict[str, Any], stream: str, shard: str, decode: str) -> dict[str, Any]:
    return {
        "stream": stream,
        "shard_id": shard,
        "sequence_number": record.get("SequenceNumber"),
        "partition_key": record.get("PartitionKey"),
        "arrival_timestamp": record.get("ApproximateArrivalTimestamp"),
        "data": _decoded(bytes(record.get("Data", b"")), decode),
    }


def _summary(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": summary.get("StreamName"),
        "arn": summary.get("StreamARN"),
        "status": summary.get("StreamStatus"),
        "mode": (summary.get("StreamModeDetails") or {}).get("StreamMode"),
        "created": summary.get("StreamCreationTimestamp"),
    }


def _description(summary: dict[str, Any], shards: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **_summary(summary),
        "retention_hours": summary.get("RetentionPeriodHours"),
        "encryption": summary.get("EncryptionType"),
        "kms_key_id": summary.get("KeyId"),
        "open_shard_count": summary.get("OpenShardCount"),
        "consumer_count": summary.get("ConsumerCount"),
        "shards": [
            {
                "shard_id": shard.get("ShardId"),
                "parent_shard_id": shard.get("ParentShardId"),
                "hash_key_range": shard.get("HashKeyRange"),
                "starting_sequence_number": (shard.get("SequenceNumberRange") or {}).get("StartingSequenceNumber"),
                "ending_sequence_number": (shard.get("SequenceNumberRange") or {}).get("EndingSequenceNumber"),
            }
            for shard in shards
        ],
    }
