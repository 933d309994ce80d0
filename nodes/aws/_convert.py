"""AWS answers for nodes: results as JSON (datetimes as ISO text, Decimals as numbers, bytes as base64, sets as
lists), and refusals with a service's own advice."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import date, datetime
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


def advised(err: NodeError, hints: Mapping[str, str]) -> NodeError:
    """``err`` (from :func:`nodes.aws.credentials.call`) with a service's advice for its AWS error code, if it has one.

    The generic advice of ``call`` cannot know that SES's ``MessageRejected`` means an unverified sender.
    """
    cause = err.__cause__
    code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else None
    if code not in hints:
        return err
    return NodeError(err.message, description=hints[code], item_index=err.item_index)
