"""AWS EventBridge: put items as events on an event bus, list a bus's rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import model_validator

from nodes.aws._convert import advised, as_utc, batches, json_safe, rejected_entries, text_body
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

MAX_EVENTS_PER_PUT = 10
MAX_BYTES_PER_PUT = 256 * 1024
TIME_BYTES = 14
"""What an entry's Time counts towards PutEvents' size limit, as AWS documents it."""
RULES_PAGE = 100
T = TypeVar("T")
HINTS = {
    "ResourceNotFoundException": "Check the event bus's name or ARN, and the credential's region.",
    "ValidationException": "Check the node's parameters (a resource is an ARN).",
}
REJECTED_HINT = (
    "Check the rejected events: a source and a detail type, and a detail that is a JSON object. "
    "Throttled ones (ThrottlingException) can be sent again a moment later."
)


class EventBridgeParameters(Parameters):
    operation: Literal["put_events", "list_rules"] = param(
        "put_events",
        title="Operation",
        description="put_events: an event per item (ten per call); list_rules: one item per rule of the bus.",
        no_expressions=True,
    )
    event_bus: str = param(
        "default",
        title="Event bus",
        description="Its name or ARN; default: the account's default bus.",
        placeholder="orders",
        min_length=1,
    )
    source: str = param(
        "",
        title="Source",
        description="Who emits the event; rules match on it.",
        placeholder="com.acme.orders",
        show_if={"operation": ["put_events"]},
    )
    detail_type: str = param(
        "",
        title="Detail type",
        description="What happened; rules match on it.",
        placeholder="Order Placed",
        show_if={"operation": ["put_events"]},
    )
    detail: Any = param(
        default_factory=dict,
        title="Detail",
        description="The event's data: an object, or the JSON text of one.",
        widget="json",
        show_if={"operation": ["put_events"]},
    )
    resources: list[str] = param(
        default_factory=list,
        title="Resources",
        description="ARNs of the AWS resources the event is about.",
        show_if={"operation": ["put_events"]},
        advanced=True,
    )
    time: datetime | None = param(
        None,
        title="Time",
        description="When it happened (ISO 8601, a time without zone is taken as UTC); empty: when AWS receives it.",
        widget="datetime",
        show_if={"operation": ["put_events"]},
        advanced=True,
    )
    fail_on_rejected: bool = param(
        True,
        title="Fail when AWS rejects an item",
        description="Off: rejected events come out as items with their error code, the others with their event id.",
        show_if={"operation": ["put_events"]},
    )
    name_prefix: str = param(
        "",
        title="Name starts with",
        description="Only rules whose name starts with this; empty: all.",
        show_if={"operation": ["list_rules"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' rules.",
        show_if={"operation": ["list_rules"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many rules per item.",
        show_if={"operation": ["list_rules"], "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> EventBridgeParameters:
        if not self.event_bus.strip():
            raise ValueError("name the event bus (default: the account's default bus)")
        return self


class EventBridgeNode(Node):
    type = "aws.eventbridge"
    display_name = "AWS EventBridge"
    category = Category.INTEGRATION
    description = "Puts an event per item on an EventBridge event bus, or lists the bus's rules."
    icon = "radio-tower"
    Parameters = EventBridgeParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "events", timeout)
        params: list[EventBridgeParameters] = [ctx.params(index) for index in range(len(items))]
        if params[0].operation == "put_events":
            return [_put_events(client, fields, params)]
        produced: list[Item] = []
        for index, item_params in enumerate(params):
            produced.extend(_list_rules(client, fields, item_params, index))
        return [produced]


def _events_call(fields: AwsFields, action: str, request: Callable[..., T], index: int, **kwargs: Any) -> T:
    """:func:`call`, with EventBridge's own advice for its error codes."""
    try:
        return call(fields, action, request, item_index=index, **kwargs)
    except NodeError as err:
        raise advised(err, HINTS) from err.__cause__


def _entry(params: EventBridgeParameters) -> dict[str, Any]:
    """The PutEvents entry of one item; AWS itself judges its source, detail type and detail, per entry."""
    entry: dict[str, Any] = {
        "EventBusName": params.event_bus.strip(),
        "Source": params.source,
        "DetailType": params.detail_type,
        "Detail": text_body(params.detail),
    }
    if params.resources:
        entry["Resources"] = params.resources
    if params.time is not None:
        entry["Time"] = as_utc(params.time)
    return entry


def _size(entry: dict[str, Any]) -> int:
    """An entry's size as PutEvents counts it towards its 256 KB."""
    texts = [entry["Source"], entry["DetailType"], entry["Detail"], *entry.get("Resources", [])]
    return sum(len(text.encode()) for text in texts) + (TIME_BYTES if "Time" in entry else 0)


def _put_events(client: Any, fields: AwsFields, params: list[EventBridgeParameters]) -> list[Item]:
    entries = [_entry(item_params) for item_params in params]
    for index, entry in enumerate(entries):
        if _size(entry) > MAX_BYTES_PER_PUT:
            raise NodeError(
                f"item {index}: its event is larger than the 256 KB EventBridge takes",
                description="Put a smaller detail, or store the data in S3 and put its key.",
                item_index=index,
            )
    results: list[dict[str, Any]] = []
    rejected: dict[int, str] = {}
    for batch in batches(
        [_size(entry) for entry in entries], max_count=MAX_EVENTS_PER_PUT, max_bytes=MAX_BYTES_PER_PUT
    ):
        answer = _events_call(
            fields, "putting events", client.put_events, batch.start, Entries=[entries[index] for index in batch]
        )
        for index, answered in zip(batch, answer.get("Entries", []), strict=True):
            result: dict[str, Any] = {"event_bus": entries[index]["EventBusName"]}
            if answered.get("ErrorCode"):
                rejected[index] = f"{answered['ErrorCode']} ({answered.get('ErrorMessage', '')})"
                result.update(
                    rejected=True, error_code=answered["ErrorCode"], error_message=answered.get("ErrorMessage", "")
                )
            else:
                result["event_id"] = answered.get("EventId")
            results.append(result)
    if rejected and params[0].fail_on_rejected:
        raise rejected_entries("putting events", rejected, len(entries) - len(rejected), REJECTED_HINT)
    return [Item(result, paired_item=index) for index, result in enumerate(results)]


def _list_rules(client: Any, fields: AwsFields, params: EventBridgeParameters, index: int) -> list[Item]:
    bus = params.event_bus.strip()
    limit = None if params.return_all else params.limit
    options: dict[str, Any] = {"EventBusName": bus}
    if params.name_prefix.strip():
        options["NamePrefix"] = params.name_prefix.strip()
    found: list[Item] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        paging = {"NextToken": token} if token else {}
        size = RULES_PAGE if limit is None else min(RULES_PAGE, limit - len(found))
        answer = _events_call(
            fields, f"listing the rules of event bus {bus!r}", client.list_rules, index, Limit=size, **options, **paging
        )
        found.extend(Item(json_safe(_rule(rule)), paired_item=index) for rule in answer.get("Rules", []))
        token = answer.get("NextToken")
        if not token:
            break
    return found if limit is None else found[:limit]


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": rule.get("Name"),
        "arn": rule.get("Arn"),
        "event_bus": rule.get("EventBusName"),
        "state": rule.get("State"),
        "description": rule.get("Description", ""),
        "event_pattern": rule.get("EventPattern"),
        "schedule_expression": rule.get("ScheduleExpression"),
        "role_arn": rule.get("RoleArn"),
        "managed_by": rule.get("ManagedBy"),
    }
