"""HubSpot Deal: create (associated with contacts), get, list, update or delete deals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.hubspot._client import HubspotClient, object_path
from nodes.hubspot._properties import OtherProperties, PropertyNames, properties_body
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "delete"]
DEALS = "deals"
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
READS = ("get", "get_many")
DEFAULT_PIPELINE = "default"
DEAL_TO_CONTACT = 3
"""HubSpot's own association type id for "deal to contact"."""


class HubspotDealParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a deal per item; get one; get_many: one item per deal; update one (only the fields "
        "given); delete one.",
        no_expressions=True,
    )
    deal_id: str = param(
        "",
        title="Deal id",
        description="The deal's id (the number in its URL).",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    deal_name: str = param(
        "", title="Deal name", description="update: empty keeps the current name.", show_if={"operation": WRITES}
    )
    amount: float | None = param(
        None,
        title="Amount",
        description="In the account's currency; empty: none on create, unchanged on update.",
        show_if={"operation": WRITES},
    )
    pipeline: str = param(
        "",
        title="Pipeline",
        description="The pipeline's internal id; create: empty uses the default pipeline ('default'); "
        "update: empty keeps it.",
        show_if={"operation": WRITES},
    )
    deal_stage: str = param(
        "",
        title="Deal stage",
        description="The stage's internal id in the pipeline, e.g. appointmentscheduled, qualifiedtobuy, "
        "contractsent, closedwon, closedlost in the default pipeline; update: empty keeps it.",
        show_if={"operation": WRITES},
    )
    close_date: str = param(
        "",
        title="Close date",
        description="YYYY-MM-DD (midnight UTC) or an ISO date and time; update: empty keeps it.",
        placeholder="2026-03-31",
        show_if={"operation": WRITES},
    )
    other_properties: OtherProperties = param(
        default_factory=list,
        title="Other properties",
        description="More properties by internal name (hubspot_owner_id, dealtype, description or custom ones); "
        "an empty value clears its property.",
        show_if={"operation": WRITES},
    )
    contact_ids: PropertyNames = param(
        default_factory=list,
        title="Associate with contacts",
        description="Ids of contacts the new deal belongs to (a list, or text separated by commas).",
        placeholder="{{ $json.contact_id }}",
        show_if={"operation": ["create"]},
    )
    output_properties: PropertyNames = param(
        default_factory=list,
        title="Properties to return",
        description="Internal names (a list, or text separated by commas); empty: HubSpot's defaults "
        "(dealname, amount, dealstage, pipeline, closedate, createdate).",
        show_if={"operation": READS},
    )
    include_contacts: bool = param(
        False,
        title="Include associated contacts",
        description="Add the ids of the deal's contacts under associations.contacts.",
        show_if={"operation": READS},
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' deals.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many deals per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("amount", mode="before")
    @classmethod
    def _blank_amount(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("close_date", mode="before")
    @classmethod
    def _iso_close_date(cls, value: Any) -> Any:
        # HubSpot's closedate is a date and time: a bare date means its midnight in UTC.
        if isinstance(value, datetime):
            value = value.isoformat()
        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, str) or not value.strip():
            return value
        text = value.strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as err:
            raise ValueError(f"the close date {text!r} is not YYYY-MM-DD or an ISO date and time") from err
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    @model_validator(mode="after")
    def _needs(self) -> HubspotDealParameters:
        if self.operation in BY_ID and not self.deal_id.strip():
            raise ValueError(f"{self.operation} needs the deal id")
        if self.operation == "create" and (not self.deal_name.strip() or not self.deal_stage.strip()):
            raise ValueError("create needs the deal's name and stage")
        if self.operation in WRITES:
            # Building them refuses a property given by its own field and again under other properties.
            properties = self.properties()
            if self.operation == "update" and not properties:
                raise ValueError("update needs at least one property to change")
        return self

    def properties(self) -> dict[str, str]:
        """The deal's properties a create or update sends."""
        amount = ""
        if self.amount is not None:
            amount = str(int(self.amount)) if self.amount.is_integer() else str(self.amount)
        pipeline = self.pipeline.strip() or (DEFAULT_PIPELINE if self.operation == "create" else "")
        named = {
            "dealname": self.deal_name,
            "amount": amount,
            "pipeline": pipeline,
            "dealstage": self.deal_stage,
            "closedate": self.close_date,
        }
        return properties_body(named, self.other_properties)


class HubspotDealNode(Node):
    type = "hubspot.deal"
    display_name = "HubSpot Deal"
    category = Category.INTEGRATION
    description = "Creates HubSpot deals associated with contacts, or gets, lists, updates or deletes deals."
    icon = "handshake"
    Parameters = HubspotDealParameters
    credentials = (CredentialRequirement("hubspot_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with HubspotClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: HubspotDealParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: HubspotClient, params: HubspotDealParameters, index: int) -> list[dict[str, Any]]:
    deal_id = params.deal_id.strip()
    query: dict[str, str] = {}
    if params.output_properties:
        query["properties"] = ",".join(params.output_properties)
    if params.include_contacts:
        query["associations"] = "contacts"
    match params.operation:
        case "create":
            body: dict[str, Any] = {"properties": params.properties()}
            if params.contact_ids:
                body["associations"] = [
                    {
                        "to": {"id": contact},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": DEAL_TO_CONTACT}],
                    }
                    for contact in params.contact_ids
                ]
            action = f"creating deal {params.deal_name.strip()!r}"
            return [client.request("POST", object_path(DEALS), action, item_index=index, json=body)]
        case "get":
            url = object_path(DEALS, deal_id)
            return [client.request("GET", url, f"getting deal {deal_id}", item_index=index, params=query)]
        case "get_many":
            return client.list_all(
                object_path(DEALS),
                "listing deals",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            return [
                client.request(
                    "PATCH",
                    object_path(DEALS, deal_id),
                    f"updating deal {deal_id}",
                    item_index=index,
                    json={"properties": params.properties()},
                )
            ]
        case "delete":
            client.request("DELETE", object_path(DEALS, deal_id), f"deleting deal {deal_id}", item_index=index)
            return [{"id": deal_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
