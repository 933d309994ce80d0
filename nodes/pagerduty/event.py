"""PagerDuty Event: trigger, acknowledge or resolve alerts through the Events API v2, once per item."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.pagerduty._client import PagerdutyEventsClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

MAX_SUMMARY = 1024
"""PagerDuty cuts a longer summary; refusing it here says so instead."""


class PagerdutyEventParameters(Parameters):
    event_action: Literal["trigger", "acknowledge", "resolve"] = param(
        "trigger",
        title="Action",
        description="trigger opens an alert (and an incident), or adds to the open one with the same dedup key; "
        "acknowledge or resolve the alert with that dedup key.",
        no_expressions=True,
    )
    routing_key: str = param(
        "",
        title="Integration key",
        description="The service's Events API v2 integration key; empty: the credential's. Keep keys in the "
        "credential unless one workflow sends to several services.",
        widget="password",
    )
    dedup_key: str = param(
        "",
        title="Dedup key",
        description="Identifies the alert: events with the same key update one alert. trigger: empty lets "
        "PagerDuty make one (it is in the output); acknowledge and resolve need it.",
        placeholder="{{ $json.dedup_key }}",
    )
    summary: str = param(
        "",
        title="Summary",
        description="What is wrong, shown as the alert's and incident's title (at most 1024 characters).",
        show_if={"event_action": ["trigger"]},
    )
    source: str = param(
        "",
        title="Source",
        description="Where it happens: a host name, a service or an address.",
        placeholder="db-01.acme.internal",
        show_if={"event_action": ["trigger"]},
    )
    severity: Literal["critical", "error", "warning", "info"] = param(
        "error",
        title="Severity",
        description="How bad it is; the service's rules may set the urgency from it.",
        show_if={"event_action": ["trigger"]},
    )
    custom_details: dict[str, Any] | str | None = param(
        None,
        title="Custom details",
        description='Anything else responders should see, as a JSON object: {"disk_free": "2%"}.',
        widget="json",
        show_if={"event_action": ["trigger"]},
    )
    component: str = param(
        "",
        title="Component",
        description="The part of the source that is affected, such as mysql.",
        show_if={"event_action": ["trigger"]},
        advanced=True,
    )
    group: str = param(
        "",
        title="Group",
        description="A logical grouping of sources, such as prod-datapipe.",
        show_if={"event_action": ["trigger"]},
        advanced=True,
    )
    event_class: str = param(
        "",
        title="Class",
        description="The kind of event, such as 'deploy' or 'high cpu'.",
        show_if={"event_action": ["trigger"]},
        advanced=True,
    )
    timestamp: str = param(
        "",
        title="Timestamp",
        description="When it happened (ISO 8601); empty: when PagerDuty receives the event.",
        show_if={"event_action": ["trigger"]},
        advanced=True,
    )

    @field_validator("custom_details", mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        """Expressions and the JSON widget may hand the details over as text."""
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = json.loads(value)
            except ValueError as err:
                raise ValueError(f"the custom details are not valid JSON ({err})") from err
        if value is not None and not isinstance(value, dict):
            raise ValueError("the custom details must be a JSON object")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"{value!r} is not an ISO 8601 time, such as 2026-01-31T08:00:00Z") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> PagerdutyEventParameters:
        if self.event_action == "trigger":
            if not self.summary.strip() or not self.source.strip():
                raise ValueError("trigger needs a summary and a source")
            if len(self.summary.strip()) > MAX_SUMMARY:
                raise ValueError(f"the summary is longer than {MAX_SUMMARY} characters")
        elif not self.dedup_key.strip():
            raise ValueError(f"{self.event_action} needs the dedup key of the alert")
        return self

    def event(self, routing_key: str) -> dict[str, Any]:
        """The Events API v2 body for this item."""
        event: dict[str, Any] = {"routing_key": routing_key, "event_action": self.event_action}
        if self.dedup_key.strip():
            event["dedup_key"] = self.dedup_key.strip()
        if self.event_action != "trigger":
            return event
        payload: dict[str, Any] = {
            "summary": self.summary.strip(),
            "source": self.source.strip(),
            "severity": self.severity,
        }
        for name, value in (
            ("component", self.component),
            ("group", self.group),
            ("class", self.event_class),
            ("timestamp", self.timestamp),
        ):
            if value.strip():
                payload[name] = value.strip()
        if self.custom_details:
            payload["custom_details"] = self.custom_details
        event["payload"] = payload
        return event


class PagerdutyEventNode(Node):
    type = "pagerduty.event"
    display_name = "PagerDuty Event"
    category = Category.INTEGRATION
    description = "Triggers, acknowledges or resolves PagerDuty alerts through the Events API v2."
    icon = "bell-ring"
    Parameters = PagerdutyEventParameters
    credentials = (CredentialRequirement("pagerduty_events"),)
    subtitle = "event_action"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with PagerdutyEventsClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: PagerdutyEventParameters = ctx.params(index)
                routing_key = params.routing_key.strip() or client.default_routing_key
                if not routing_key:
                    raise NodeError(
                        f"item {index}: sending a {params.event_action} event needs an integration key",
                        description="Put the service's Events API v2 integration key in the credential or in the "
                        "node's Integration key.",
                        item_index=index,
                    )
                action = f"sending a {params.event_action} event"
                answer = client.enqueue(params.event(routing_key), action, item_index=index)
                produced.append(Item({**answer, "event_action": params.event_action}, paired_item=index))
        return [produced]
