"""PagerDuty Incident: create, get, list, update (acknowledge, resolve, reassign) or add notes to incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.pagerduty._client import PagerdutyClient
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "add_note"]
Status = Literal["triggered", "acknowledged", "resolved"]
BY_ID = ("get", "update", "add_note")
WRITES = ("create", "update")


def _ids(value: Any) -> Any:
    """Ids as a list, or as text separated by commas or spaces (PagerDuty ids hold neither)."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


class PagerdutyIncidentParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create an incident per item; get one; get_many: one item per incident matching the filters; "
        "update one (acknowledge, resolve, reassign, retitle); add_note to one.",
        no_expressions=True,
    )
    incident_id: str = param(
        "",
        title="Incident id",
        description="The incident's id, such as PT4KHLK (not its number).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    title: str = param(
        "",
        title="Title",
        description="What is wrong, in a line; update: empty keeps the current title.",
        show_if={"operation": WRITES},
    )
    service_id: str = param(
        "",
        title="Service id",
        description="The service the incident is on (the id in the service's address, such as PWIXJZS).",
        show_if={"operation": ["create"]},
    )
    urgency: Literal["default", "high", "low"] = param(
        "default",
        title="Urgency",
        description="high pages people now, low follows the service's low-urgency rules; default: create uses the "
        "service's urgency rule, update keeps the current urgency.",
        show_if={"operation": WRITES},
    )
    details: str = param(
        "",
        title="Details",
        description="The incident's body: what responders should know.",
        widget="textarea",
        show_if={"operation": ["create"]},
    )
    escalation_policy_id: str = param(
        "",
        title="Escalation policy id",
        description="Escalate along this policy instead of the service's own; empty: the service's.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    incident_key: str = param(
        "",
        title="Incident key",
        description="A key for deduplication: PagerDuty refuses a second incident on the service with the same key "
        "while the first is still open.",
        placeholder="{{ $json.alert_id }}",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    assignee_ids: list[str] = param(
        default_factory=list,
        title="Assign to",
        description="User ids (a list, or text separated by commas); create: instead of an escalation policy; "
        "update: replaces the current assignees, empty keeps them.",
        show_if={"operation": WRITES},
    )
    status: Literal["unchanged", "acknowledged", "resolved"] = param(
        "unchanged",
        title="Status",
        description="Acknowledge (stops the escalation) or resolve the incident.",
        show_if={"operation": ["update"]},
    )
    note: str = param(
        "",
        title="Note",
        description="The note's text, shown on the incident's timeline.",
        widget="textarea",
        show_if={"operation": ["add_note"]},
    )
    statuses: list[Status] = param(
        default_factory=list,
        title="Statuses",
        description="Only incidents with one of these statuses; empty: any.",
        show_if={"operation": ["get_many"]},
    )
    service_ids: list[str] = param(
        default_factory=list,
        title="Service ids",
        description="Only incidents on these services (a list, or text separated by commas); empty: every service.",
        show_if={"operation": ["get_many"]},
    )
    since: str = param(
        "",
        title="Since",
        description="Only incidents created at or after this time (ISO 8601). PagerDuty searches the last 30 days "
        "when neither Since nor Until is given.",
        placeholder="2026-01-01T00:00:00Z",
        show_if={"operation": ["get_many"]},
    )
    until: str = param(
        "",
        title="Until",
        description="Only incidents created before this time (ISO 8601).",
        show_if={"operation": ["get_many"]},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' incidents.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many incidents per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("assignee_ids", "service_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        return _ids(value)

    @field_validator("statuses", mode="before")
    @classmethod
    def _status_list(cls, value: Any) -> Any:
        return _ids(value)

    @field_validator("since", "until")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                datetime.fromisoformat(value)
            except ValueError as err:
                raise ValueError(f"{value!r} is not an ISO 8601 date or time, such as 2026-01-31T08:00:00Z") from err
        return value

    @model_validator(mode="after")
    def _needs(self) -> PagerdutyIncidentParameters:
        if self.operation in BY_ID and not self.incident_id.strip():
            raise ValueError(f"{self.operation} needs the incident id")
        if self.operation == "create":
            if not self.title.strip() or not self.service_id.strip():
                raise ValueError("create needs a title and the service id")
            if self.assignee_ids and self.escalation_policy_id.strip():
                raise ValueError("create takes assignees or an escalation policy, not both")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a status, title, urgency or assignees to change")
        if self.operation == "add_note" and not self.note.strip():
            raise ValueError("add_note needs the note's text")
        return self

    def changes(self) -> dict[str, Any]:
        """The incident's fields to send on update, as PagerDuty names them."""
        incident: dict[str, Any] = {}
        if self.status != "unchanged":
            incident["status"] = self.status
        if self.title.strip():
            incident["title"] = self.title.strip()
        if self.urgency != "default":
            incident["urgency"] = self.urgency
        if self.assignee_ids:
            incident["assignments"] = _assignments(self.assignee_ids)
        return incident


def _assignments(user_ids: list[str]) -> list[dict[str, Any]]:
    return [{"assignee": {"id": user_id, "type": "user_reference"}} for user_id in user_ids]


class PagerdutyIncidentNode(Node):
    type = "pagerduty.incident"
    display_name = "PagerDuty Incident"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, acknowledges, resolves, reassigns or adds notes to PagerDuty incidents."
    icon = "siren"
    Parameters = PagerdutyIncidentParameters
    credentials = (CredentialRequirement("pagerduty_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with PagerdutyClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: PagerdutyIncidentParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: PagerdutyClient, params: PagerdutyIncidentParameters, index: int) -> list[dict[str, Any]]:
    incident_id = params.incident_id.strip()
    path = f"/incidents/{quote(incident_id, safe='')}"
    match params.operation:
        case "create":
            incident: dict[str, Any] = {
                "type": "incident",
                "title": params.title.strip(),
                "service": {"id": params.service_id.strip(), "type": "service_reference"},
            }
            if params.urgency != "default":
                incident["urgency"] = params.urgency
            if params.details.strip():
                incident["body"] = {"type": "incident_body", "details": params.details}
            if params.escalation_policy_id.strip():
                incident["escalation_policy"] = {
                    "id": params.escalation_policy_id.strip(),
                    "type": "escalation_policy_reference",
                }
            if params.incident_key.strip():
                incident["incident_key"] = params.incident_key.strip()
            if params.assignee_ids:
                incident["assignments"] = _assignments(params.assignee_ids)
            answer = client.request(
                "POST",
                "/incidents",
                f"creating an incident on service {params.service_id.strip()}",
                item_index=index,
                json={"incident": incident},
            )
            return [answer.get("incident") or answer]
        case "get":
            answer = client.request("GET", path, f"getting incident {incident_id}", item_index=index)
            return [answer.get("incident") or answer]
        case "get_many":
            query: list[tuple[str, Any]] = [("statuses[]", status) for status in params.statuses]
            query += [("service_ids[]", service) for service in params.service_ids]
            query += [(name, value) for name, value in (("since", params.since), ("until", params.until)) if value]
            return client.paginate(
                "/incidents",
                "incidents",
                "listing incidents",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            changes = {"type": "incident_reference", **params.changes()}
            verb = {"acknowledged": "acknowledging", "resolved": "resolving"}.get(params.status, "updating")
            answer = client.request(
                "PUT", path, f"{verb} incident {incident_id}", item_index=index, json={"incident": changes}
            )
            return [answer.get("incident") or answer]
        case "add_note":
            answer = client.request(
                "POST",
                f"{path}/notes",
                f"adding a note to incident {incident_id}",
                item_index=index,
                json={"note": {"content": params.note}},
            )
            return [{**(answer.get("note") or answer), "incident_id": incident_id}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
