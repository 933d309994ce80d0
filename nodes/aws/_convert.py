"""AWS answers for nodes: results as JSON (datetimes as ISO text, Decimals as numbers, bytes as base64, sets as
lists), refusals with a service's own advice, and batch calls cut to a service's limits with the items it
rejected reported by index."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from nodes.sdk import NodeError


def json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=str)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Binary):
        value = value.value
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def to_dynamodb(value: Any) -> Any:
    """JSON for DynamoDB: its numbers must be Decimals (floats are refused to avoid rounding surprises)."""
    return json.loads(json.dumps(value), parse_float=Decimal, parse_int=Decimal)


def text_body(value: Any) -> str:
    """A message body: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def error_code(err: NodeError) -> str | None:
    """The AWS error code behind ``err`` (from :func:`nodes.aws.credentials.call`), if AWS answered with one."""
    cause = err.__cause__
    return cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None


def advised(err: NodeError, hints: Mapping[str, str]) -> NodeError:
    """``err`` (from :func:`nodes.aws.credentials.call`) with a service's advice for its AWS error code, if it has one.

    The generic advice of ``call`` cannot know that SES's ``MessageRejected`` means an unverified sender.
    """
    code = error_code(err)
    if code not in hints:
        return err
    return NodeError(err.message, description=hints[code], item_index=err.item_index)


def as_utc(moment: datetime) -> datetime:
    """``moment`` with a time zone: one typed without a zone is taken as UTC, as the parameters say."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def batches(sizes: Sequence[int], *, max_count: int, max_bytes: int) -> list[range]:
    """Consecutive index ranges of ``sizes`` that each fit one batch call (PutRecords, PutEvents...).

    Args:
        sizes: Each entry's size as the service counts it, in order.
        max_count: The most entries the call takes.
        max_bytes: The most bytes the call takes in all; an entry larger than this alone is a batch of its
            own, for the service to refuse with its own words.
    """
    found: list[range] = []
    start = total = 0
    for index, size in enumerate(sizes):
        if index > start and (index - start >= max_count or total + size > max_bytes):
            found.append(range(start, index))
            start, total = index, 0
        total += size
    if start < len(sizes):
        found.append(range(start, len(sizes)))
    return found


def rejected_entries(action: str, rejected: Mapping[int, str], accepted: int, hint: str) -> NodeError:
    """The error for a batch call that AWS answered but where it turned some items down.

    Args:
        action: What was done, e.g. ``putting records into stream 'clicks'``.
        rejected: Item index to AWS's reason (its error code and message).
        accepted: How many items AWS took, so nobody sends those again by accident.
        hint: What to do about the rejected ones.
    """
    first, reason = next(iter(rejected.items()))
    indexes = ", ".join(str(index) for index in rejected)
    noun = "item" if len(rejected) == 1 else "items"
    return NodeError(
        f"item {first}: AWS rejected {noun} {indexes} while {action}: {reason}; {accepted} other(s) were accepted",
        description=f"{hint} Turn off 'Fail when AWS rejects an item' to get the rejected ones as items with "
        "their error instead.",
        item_index=first,
    )
