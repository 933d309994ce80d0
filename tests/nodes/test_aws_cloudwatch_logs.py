"""AWS CloudWatch Logs (aws.cloudwatch_logs) through the engine against moto in server mode on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hitl_studio.engine.runner import RunResult
from tests.nodes.conftest import Aws
from tests.nodes.integrations import failure, host_for, outputs, run_node


def logs(aws: Aws, parameters: dict[str, Any], items: list[Any] | None = None, **settings: Any) -> RunResult:
    return run_node(
        "aws.cloudwatch_logs", parameters, items, credential_type="aws", host=host_for(aws.credential), **settings
    )


def minutes_ago(minutes: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def group_with_stream(aws: Aws, group: str = "/acme/orders", stream: str = "worker-1") -> Any:
    client = aws.client("logs")
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    return client


def test_put_writes_items_sorted_by_their_timestamps(aws: Aws) -> None:
    client = group_with_stream(aws)
    items = [
        {"text": "third", "at": minutes_ago(1).isoformat()},
        {"text": "first", "at": minutes_ago(30).isoformat()},
        {"text": "second", "at": minutes_ago(10).isoformat()},
    ]
    parameters = {
        "log_group": "/acme/orders",
        "log_stream": "worker-1",
        "message": {"event": "{{ $json.text }}"},
        "timestamp": "{{ $json.at }}",
    }

    written = outputs(logs(aws, parameters, items))

    assert [entry["time"] for entry in written] == [item["at"] for item in items]
    assert all(entry["written"] is True for entry in written)
    events = client.get_log_events(logGroupName="/acme/orders", logStreamName="worker-1", startFromHead=True)["events"]
    assert [event["message"] for event in events] == ['{"event": "first"}', '{"event": "second"}', '{"event": "third"}']


def test_put_without_a_time_uses_now_and_creates_group_and_stream_on_demand(aws: Aws) -> None:
    before = datetime.now(UTC)
    parameters = {"log_group": "/new/group", "log_stream": "{{ $json.stream }}", "message": "hello"}

    missing = failure(logs(aws, parameters, [{"stream": "a"}]))
    written = outputs(logs(aws, {**parameters, "create_missing": True}, [{"stream": "a"}, {"stream": "b"}]))

    assert missing["message"].startswith("item 0: AWS refused writing to log stream 'a' of group '/new/group': ")
    assert "ResourceNotFoundException" in missing["message"] and "Create group and stream" in missing["description"]
    assert [entry["log_stream"] for entry in written] == ["a", "b"]
    assert written[0]["timestamp"] >= int(before.timestamp() * 1000)
    client = aws.client("logs")
    streams = client.describe_log_streams(logGroupName="/new/group")["logStreams"]
    assert sorted(stream["logStreamName"] for stream in streams) == ["a", "b"]


def test_events_too_far_ahead_are_rejected_by_item(aws: Aws) -> None:
    group_with_stream(aws)
    ahead = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    parameters = {"log_group": "/acme/orders", "log_stream": "worker-1", "message": "m", "timestamp": "{{ $json.at }}"}
    items = [{"at": ahead}, {"at": minutes_ago(5).isoformat()}]

    error = failure(logs(aws, parameters, items))
    written = outputs(logs(aws, {**parameters, "fail_on_rejected": False}, items))

    assert error["message"] == (
        "item 0: AWS rejected item 0 while writing log events: too new: more than 2 hours ahead; "
        "1 other(s) were accepted"
    )
    assert "timestamps" in error["description"]
    assert written[0]["rejected"] is True and written[0]["reason"].startswith("too new")
    assert written[1]["written"] is True


def test_get_reads_a_stream_between_times_and_follows_forward_tokens(aws: Aws) -> None:
    client = group_with_stream(aws)
    start = minutes_ago(60)
    events = [
        {"timestamp": int((start + timedelta(minutes=n)).timestamp() * 1000), "message": f"line {n}"} for n in range(30)
    ]
    client.put_log_events(logGroupName="/acme/orders", logStreamName="worker-1", logEvents=events)
    read = {"operation": "get", "log_group": "/acme/orders", "log_stream": "worker-1"}

    everything = outputs(logs(aws, {**read, "return_all": True}))
    window = outputs(
        logs(
            aws,
            {
                **read,
                "return_all": True,
                "start_time": (start + timedelta(minutes=10)).isoformat(),
                "end_time": (start + timedelta(minutes=14, seconds=30)).isoformat(),
            },
        )
    )
    limited = outputs(logs(aws, {**read, "limit": 4}))

    assert [entry["message"] for entry in everything] == [f"line {n}" for n in range(30)]
    assert [entry["message"] for entry in window] == [f"line {n}" for n in range(10, 15)]
    assert [entry["message"] for entry in limited] == ["line 0", "line 1", "line 2", "line 3"]
    assert everything[0]["log_stream"] == "worker-1" and everything[0]["time"] == start.isoformat()


def test_filter_searches_streams_with_a_pattern(aws: Aws) -> None:
    client = group_with_stream(aws)
    client.create_log_stream(logGroupName="/acme/orders", logStreamName="worker-2")
    now = int(minutes_ago(5).timestamp() * 1000)
    for stream in ("worker-1", "worker-2"):
        client.put_log_events(
            logGroupName="/acme/orders",
            logStreamName=stream,
            logEvents=[
                {"timestamp": now + n, "message": f"{'ERROR' if n % 2 else 'INFO'} {stream} {n}"} for n in range(6)
            ],
        )
    search = {"operation": "filter", "log_group": "/acme/orders", "filter_pattern": "ERROR", "return_all": True}

    errors = outputs(logs(aws, search))
    one_stream = outputs(logs(aws, {**search, "log_stream_names": ["worker-2"]}))
    limited = outputs(logs(aws, {**search, "return_all": False, "limit": 2}))

    assert sorted(entry["message"] for entry in errors) == sorted(
        f"ERROR {stream} {n}" for stream in ("worker-1", "worker-2") for n in (1, 3, 5)
    )
    assert {entry["log_stream"] for entry in one_stream} == {"worker-2"} and len(one_stream) == 3
    assert len(limited) == 2 and all("event_id" in entry for entry in limited)


def test_a_missing_group_names_the_item_and_continue_on_fail(aws: Aws) -> None:
    error = failure(logs(aws, {"operation": "filter", "log_group": "{{ $json.group }}"}, [{"group": "/nope"}]))
    (entry,) = outputs(logs(aws, {"operation": "get", "log_group": "/nope", "log_stream": "s"}, on_error="continue"))

    assert error["message"].startswith("item 0: AWS refused searching log group '/nope': ResourceNotFoundException")
    assert entry["error"].startswith("item 0: AWS refused reading log stream 's' of group '/nope'")


def test_parameters_are_checked_before_calling_aws(aws: Aws) -> None:
    no_stream = failure(logs(aws, {"log_group": "/g", "message": "m"}))
    no_message = failure(logs(aws, {"log_group": "/g", "log_stream": "s"}))
    both = failure(
        logs(aws, {"operation": "filter", "log_group": "/g", "log_stream_names": ["a"], "log_stream_prefix": "b"})
    )
    backwards = failure(
        logs(aws, {"operation": "filter", "log_group": "/g", "start_time": "2026-02-01", "end_time": "2026-01-01"})
    )

    assert "put needs the log stream's name" in no_stream["message"]
    assert "put needs a message" in no_message["message"]
    assert "not both" in both["message"] and "'From' must be before 'Until'" in backwards["message"]
    assert aws.client("logs").describe_log_groups()["logGroups"] == []
