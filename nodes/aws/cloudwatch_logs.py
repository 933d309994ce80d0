"""AWS CloudWatch Logs: write items as log events, read a stream's events, search a group's events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import model_validator

from nodes.aws._convert import advised, as_utc, batches, error_code, rejected_entries, text_body
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["put", "get", "filter"]
WITH_TIMES = ("get", "filter")
MAX_EVENTS_PER_PUT = 10_000
MAX_BYTES_PER_PUT = 1_048_576
EVENT_OVERHEAD_BYTES = 26
"""What PutLogEvents adds to each message's UTF-8 size when it counts a batch's bytes."""
MAX_SPAN_MS = 24 * 60 * 60 * 1000
"""The events of one PutLogEvents call span at most 24 hours."""
MAX_PAGE = 10_000
T = TypeVar("T")
HINTS = {
    "ResourceNotFoundException": "Check the log group's and stream's names and the credential's region, or turn "
    "on 'Create group and stream' to write into new ones.",
    "InvalidParameterException": "Check the node's parameters (a message is at most 1 MB; a start is before its end).",
    "DataAlreadyAcceptedException": "These events were written already.",
    "UnrecognizedClientException": "Check the AWS credential's access key, secret and session token.",
}
REJECTED_HINT = (
    "CloudWatch Logs takes events from the last 14 days (and within the group's retention) up to 2 hours ahead: "
    "check the items' timestamps."
)


class CloudWatchLogsParameters(Parameters):
    operation: Operation = param(
        "put",
        title="Operation",
        description="put a log event per item; get: one item per event of a stream, oldest first; filter: one "
        "item per event of the group matching a pattern.",
        no_expressions=True,
    )
    log_group: str = param(title="Log group", placeholder="/acme/orders", min_length=1)
    log_stream: str = param(
        "",
        title="Log stream",
        placeholder="worker-1",
        show_if={"operation": ["put", "get"]},
    )
    message: Any = param(
        "",
        title="Message",
        description="Text as is; objects and lists are written as JSON.",
        widget="textarea",
        show_if={"operation": ["put"]},
    )
    timestamp: datetime | None = param(
        None,
        title="Time",
        description="When it happened, e.g. {{ $json.created_at }} (ISO 8601 or seconds since 1970; a time "
        "without zone is taken as UTC); empty: now.",
        widget="datetime",
        show_if={"operation": ["put"]},
    )
    create_missing: bool = param(
        False,
        title="Create group and stream",
        description="Create the log group and stream when they do not exist yet.",
        show_if={"operation": ["put"]},
    )
    fail_on_rejected: bool = param(
        True,
        title="Fail when AWS rejects an item",
        description="Off: events AWS turns down (too old or too new) come out as items with the reason.",
        show_if={"operation": ["put"]},
    )
    filter_pattern: str = param(
        "",
        title="Filter pattern",
        description='CloudWatch Logs syntax, e.g. ERROR, "disk full", or { $.level = "error" }; empty: every event.',
        show_if={"operation": ["filter"]},
    )
    log_stream_names: list[str] = param(
        default_factory=list,
        title="Only these streams",
        description="Empty: every stream of the group.",
        show_if={"operation": ["filter"]},
        advanced=True,
    )
    log_stream_prefix: str = param(
        "",
        title="Only streams starting with",
        show_if={"operation": ["filter"]},
        advanced=True,
    )
    start_time: datetime | None = param(
        None,
        title="From",
        description="ISO 8601 or seconds since 1970; a time without zone is taken as UTC; empty: the oldest.",
        widget="datetime",
        show_if={"operation": list(WITH_TIMES)},
    )
    end_time: datetime | None = param(
        None,
        title="Until",
        description="Events before this time; empty: up to now.",
        widget="datetime",
        show_if={"operation": list(WITH_TIMES)},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' events.",
        show_if={"operation": list(WITH_TIMES)},
    )
    limit: int = param(
        100,
        title="Limit",
        description="At most this many events per item.",
        show_if={"operation": list(WITH_TIMES), "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> CloudWatchLogsParameters:
        if self.operation in ("put", "get") and not self.log_stream.strip():
            raise ValueError(f"{self.operation} needs the log stream's name")
        if self.operation == "put" and self.message in ("", None):
            raise ValueError("put needs a message")
        if self.log_stream_names and self.log_stream_prefix.strip():
            raise ValueError("filter by stream names or by a stream prefix, not both")
        if self.start_time and self.end_time and as_utc(self.start_time) >= as_utc(self.end_time):
            raise ValueError("'From' must be before 'Until'")
        return self


class CloudWatchLogsNode(Node):
    type = "aws.cloudwatch_logs"
    display_name = "AWS CloudWatch Logs"
    category = Category.INTEGRATION
    description = "Writes a log event per item to CloudWatch Logs, reads a log stream's events, or searches a group."
    icon = "scroll-text"
    Parameters = CloudWatchLogsParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "logs", timeout)
        params: list[CloudWatchLogsParameters] = [ctx.params(index) for index in range(len(items))]
        if params[0].operation == "put":
            return [_Writer(client, fields, params).run()]
        produced: list[Item] = []
        for index, item_params in enumerate(params):
            produced.extend(_read(client, fields, item_params, index))
        return [produced]


def _logs_call(fields: AwsFields, action: str, request: Callable[..., T], index: int, **kwargs: Any) -> T:
    """:func:`call`, with CloudWatch Logs' own advice for its error codes."""
    try:
        return call(fields, action, request, item_index=index, **kwargs)
    except NodeError as err:
        raise advised(err, HINTS) from err.__cause__


def _millis(moment: datetime) -> int:
    return int(as_utc(moment).timestamp() * 1000)


def _iso(millis: int | None) -> str | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC).isoformat()


class _Writer:
    """Every item's event, written per log stream in time order, as PutLogEvents requires."""

    def __init__(self, client: Any, fields: AwsFields, params: list[CloudWatchLogsParameters]) -> None:
        self.client = client
        self.fields = fields
        self.params = params
        self.results: dict[int, dict[str, Any]] = {}
        self.rejected: dict[int, str] = {}

    def run(self) -> list[Item]:
        now = _millis(datetime.now(UTC))
        streams: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for index, params in enumerate(self.params):
            stamp = now if params.timestamp is None else _millis(params.timestamp)
            streams.setdefault((params.log_group.strip(), params.log_stream.strip()), []).append((stamp, index))
        for (group, stream), events in streams.items():
            # Stable: items of the same millisecond keep their order.
            self._write(group, stream, sorted(events, key=lambda event: event[0]))
        if self.rejected and self.params[0].fail_on_rejected:
            raise rejected_entries(
                "writing log events", self.rejected, len(self.params) - len(self.rejected), REJECTED_HINT
            )
        return [Item(self.results[index], paired_item=index) for index in range(len(self.params))]

    def _write(self, group: str, stream: str, events: list[tuple[int, int]]) -> None:
        messages = {index: text_body(self.params[index].message) for _, index in events}
        for span in _spans(events):
            sizes = [len(messages[index].encode()) + EVENT_OVERHEAD_BYTES for _, index in span]
            for batch in batches(sizes, max_count=MAX_EVENTS_PER_PUT, max_bytes=MAX_BYTES_PER_PUT):
                chosen = [span[position] for position in batch]
                log_events = [{"timestamp": stamp, "message": messages[index]} for stamp, index in chosen]
                answer = self._put(group, stream, log_events, chosen[0][1])
                reasons = _rejections(answer.get("rejectedLogEventsInfo") or {}, len(chosen))
                for position, (stamp, index) in enumerate(chosen):
                    result: dict[str, Any] = {
                        "log_group": group,
                        "log_stream": stream,
                        "timestamp": stamp,
                        "time": _iso(stamp),
                    }
                    if position in reasons:
                        self.rejected[index] = reasons[position]
                        result.update(rejected=True, reason=reasons[position])
                    else:
                        result["written"] = True
                    self.results[index] = result

    def _put(self, group: str, stream: str, log_events: list[dict[str, Any]], index: int) -> dict[str, Any]:
        action = f"writing to log stream {stream!r} of group {group!r}"
        request = {"logGroupName": group, "logStreamName": stream, "logEvents": log_events}
        try:
            return _logs_call(self.fields, action, self.client.put_log_events, index, **request)
        except NodeError as err:
            if not (self.params[index].create_missing and error_code(err) == "ResourceNotFoundException"):
                raise
        self._create(f"creating log group {group!r}", self.client.create_log_group, index, logGroupName=group)
        self._create(
            f"creating log stream {stream!r}",
            self.client.create_log_stream,
            index,
            logGroupName=group,
            logStreamName=stream,
        )
        return _logs_call(self.fields, action, self.client.put_log_events, index, **request)

    def _create(self, action: str, request: Callable[..., Any], index: int, **kwargs: Any) -> None:
        """Create a group or stream; one that exists already (the other half was missing) is fine."""
        try:
            _logs_call(self.fields, action, request, index, **kwargs)
        except NodeError as err:
            if error_code(err) != "ResourceAlreadyExistsException":
                raise


def _spans(events: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Time-sorted events cut into runs of at most 24 hours each."""
    spans: list[list[tuple[int, int]]] = []
    for event in events:
        if spans and event[0] - spans[-1][0][0] <= MAX_SPAN_MS:
            spans[-1].append(event)
        else:
            spans.append([event])
    return spans


def _rejections(info: dict[str, int], count: int) -> dict[int, str]:
    """Positions in a PutLogEvents batch that AWS turned down, with why (its end indexes are exclusive)."""
    reasons: dict[int, str] = {}
    for position in range(info.get("tooOldLogEventEndIndex", 0)):
        reasons[position] = "too old: older than 14 days or than the log group's retention"
    for position in range(info.get("expiredLogEventEndIndex", 0)):
        reasons[position] = "expired: older than the log group's retention"
    for position in range(info.get("tooNewLogEventStartIndex", count), count):
        reasons[position] = "too new: more than 2 hours ahead"
    return reasons


def _read(client: Any, fields: AwsFields, params: CloudWatchLogsParameters, index: int) -> list[Item]:
    group = params.log_group.strip()
    limit = None if params.return_all else params.limit
    options: dict[str, Any] = {"logGroupName": group}
    if params.start_time is not None:
        options["startTime"] = _millis(params.start_time)
    if params.end_time is not None:
        options["endTime"] = _millis(params.end_time)
    if params.operation == "get":
        stream = params.log_stream.strip()
        options.update(logStreamName=stream, startFromHead=True)
        action, request, token_key = f"reading log stream {stream!r} of group {group!r}", client.get_log_events, None
    else:
        if params.filter_pattern.strip():
            options["filterPattern"] = params.filter_pattern
        if params.log_stream_names:
            options["logStreamNames"] = params.log_stream_names
        if params.log_stream_prefix.strip():
            options["logStreamNamePrefix"] = params.log_stream_prefix.strip()
        action, request, token_key = f"searching log group {group!r}", client.filter_log_events, "nextToken"
    found: list[Item] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        paging = {"nextToken": token} if token else {}
        size = MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found))
        answer = _logs_call(fields, action, request, index, limit=size, **options, **paging)
        stream_name = options.get("logStreamName")
        found.extend(Item(_event(event, group, stream_name), paired_item=index) for event in answer.get("events", []))
        # GetLogEvents always hands a forward token; the same one back means the stream's end.
        following = answer.get(token_key) if token_key else answer.get("nextForwardToken")
        if not following or following == token:
            break
        token = following
    return found if limit is None else found[:limit]


def _event(event: dict[str, Any], group: str, stream: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "log_group": group,
        "log_stream": event.get("logStreamName", stream),
        "timestamp": event.get("timestamp"),
        "time": _iso(event.get("timestamp")),
        "message": event.get("message"),
        "ingestion_time": event.get("ingestionTime"),
    }
    if "eventId" in event:
        data["event_id"] = event["eventId"]
    return data
