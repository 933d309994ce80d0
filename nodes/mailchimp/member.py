"""Mailchimp Member: add or update, get, list, archive, delete or tag the contacts of a Mailchimp audience."""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import quote

from pydantic import field_validator, model_validator

from nodes.mailchimp._client import MailchimpClient, subscriber_hash
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["add_or_update", "get", "get_many", "archive", "delete_permanently", "add_tags", "remove_tags"]
BY_EMAIL = ("add_or_update", "get", "archive", "delete_permanently", "add_tags", "remove_tags")
WITH_TAGS = ("add_or_update", "add_tags", "remove_tags")
UNCHANGED = "unchanged"


def _names(value: Any) -> Any:
    """Tag names as a list, or as text separated by commas (a tag may hold spaces)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part).strip() for part in value if str(part).strip()]
    return value


def _object(value: Any, what: str) -> Any:
    """Expressions and the JSON widget may hand an object over as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as err:
            raise ValueError(f"the {what} are not valid JSON ({err})") from err
    return value


class MailchimpMemberParameters(Parameters):
    operation: Operation = param(
        "add_or_update",
        title="Operation",
        description="add_or_update a contact by email (new ones get 'Status if new'); get one; get_many: one item "
        "per contact; archive one (it can come back); delete_permanently (it never can); add_tags or remove_tags.",
        no_expressions=True,
    )
    list_id: str = param(
        title="Audience id",
        description="Audience → Settings → Audience name and defaults → Audience ID.",
        placeholder="4ca5becb8d",
    )
    email: str = param(
        "",
        title="Email",
        description="The contact's email address; apart from add_or_update, its subscriber hash or id works too.",
        placeholder="{{ $json.email }}",
        show_if={"operation": BY_EMAIL},
    )
    status_if_new: Literal["subscribed", "pending", "unsubscribed", "transactional"] = param(
        "subscribed",
        title="Status if new",
        description="A new contact's status; pending emails them to confirm first (double opt-in).",
        show_if={"operation": ["add_or_update"]},
    )
    status: Literal["unchanged", "subscribed", "pending", "unsubscribed", "transactional"] = param(
        UNCHANGED,
        title="Status",
        description="Also change an existing contact's status; unchanged keeps it.",
        show_if={"operation": ["add_or_update"]},
    )
    merge_fields: dict[str, Any] = param(
        default_factory=dict,
        title="Merge fields",
        description='Audience fields by merge tag, as JSON: {"FNAME": "Ada", "LNAME": "Lovelace"}; an '
        'address is an object {"addr1", "city", "state", "zip", "country"}.',
        widget="json",
        show_if={"operation": ["add_or_update"]},
    )
    interests: dict[str, bool] = param(
        default_factory=dict,
        title="Groups",
        description='Interest (group) ids to set, as JSON {"<id>": true, "<id>": false}, or a list of ids to join.',
        widget="json",
        show_if={"operation": ["add_or_update"]},
        advanced=True,
    )
    tags: list[str] = param(
        default_factory=list,
        title="Tags",
        description="Tag names, a list or text separated by commas; add_or_update adds them (a new tag is created).",
        show_if={"operation": WITH_TAGS},
    )
    skip_merge_validation: bool = param(
        False,
        title="Skip required fields",
        description="Accept the contact even when a required merge field is missing.",
        show_if={"operation": ["add_or_update"]},
        advanced=True,
    )
    status_filter: Literal["any", "subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"] = (
        param("any", title="Status is", show_if={"operation": ["get_many"]})
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Read every page; otherwise stop after 'Limit' contacts.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many contacts per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        return _names(value)

    @field_validator("merge_fields", mode="before")
    @classmethod
    def _merge_fields(cls, value: Any) -> Any:
        return _object(value, "merge fields")

    @field_validator("interests", mode="before")
    @classmethod
    def _interests(cls, value: Any) -> Any:
        value = _object(value, "groups")
        if isinstance(value, list):
            return {str(interest).strip(): True for interest in value if str(interest).strip()}
        return value

    @model_validator(mode="after")
    def _needs(self) -> MailchimpMemberParameters:
        self.list_id = self.list_id.strip()
        self.email = self.email.strip()
        if not self.list_id:
            raise ValueError("the audience id is required")
        if self.operation in BY_EMAIL and not self.email:
            raise ValueError(f"{self.operation} needs the contact's email")
        if self.operation == "add_or_update" and "@" not in self.email:
            raise ValueError("add_or_update needs the contact's email address, not a subscriber hash")
        if self.operation in ("add_tags", "remove_tags") and not self.tags:
            raise ValueError(f"{self.operation} needs at least one tag")
        return self

    def member(self) -> dict[str, Any]:
        """The add-or-update body, as Mailchimp names its fields."""
        body: dict[str, Any] = {"email_address": self.email, "status_if_new": self.status_if_new}
        if self.status != UNCHANGED:
            body["status"] = self.status
        if self.merge_fields:
            body["merge_fields"] = self.merge_fields
        if self.interests:
            body["interests"] = self.interests
        return body


class MailchimpMemberNode(Node):
    type = "mailchimp.member"
    display_name = "Mailchimp Member"
    category = Category.INTEGRATION
    description = "Adds, updates, gets, lists, tags, archives or deletes the contacts of a Mailchimp audience."
    icon = "mail-plus"
    Parameters = MailchimpMemberParameters
    credentials = (CredentialRequirement("mailchimp_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with MailchimpClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: MailchimpMemberParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: MailchimpClient, params: MailchimpMemberParameters, index: int) -> list[dict[str, Any]]:
    audience = quote(params.list_id, safe="")
    members = f"/lists/{audience}/members"
    hashed = subscriber_hash(params.email)
    member = f"{members}/{hashed}"
    who = f"{params.email} in audience {params.list_id}"
    identity = {"list_id": params.list_id, "email": params.email, "subscriber_hash": hashed}
    match params.operation:
        case "add_or_update":
            query = {"skip_merge_validation": "true"} if params.skip_merge_validation else None
            answer = client.request(
                "PUT", member, f"adding or updating {who}", item_index=index, params=query, json=params.member()
            )
            if not params.tags:
                return [answer]
            _tag(client, member, params.tags, "active", f"tagging {who}", index)
            # The PUT's answer lists the tags from before: read the contact again to output them all.
            return [client.request("GET", member, f"getting {who}", item_index=index)]
        case "get":
            return [client.request("GET", member, f"getting {who}", item_index=index)]
        case "get_many":
            query = {} if params.status_filter == "any" else {"status": params.status_filter}
            return client.paginate(
                members,
                "members",
                f"listing the contacts of audience {params.list_id}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "archive":
            client.request("DELETE", member, f"archiving {who}", item_index=index)
            return [{**identity, "archived": True}]
        case "delete_permanently":
            client.request("POST", f"{member}/actions/delete-permanent", f"deleting {who}", item_index=index)
            return [{**identity, "deleted_permanently": True}]
        case "add_tags":
            _tag(client, member, params.tags, "active", f"tagging {who}", index)
            return [{**identity, "added_tags": params.tags}]
        case "remove_tags":
            _tag(client, member, params.tags, "inactive", f"removing tags from {who}", index)
            return [{**identity, "removed_tags": params.tags}]
    raise AssertionError(f"unhandled operation {params.operation!r}")


def _tag(client: MailchimpClient, member: str, tags: list[str], status: str, action: str, index: int) -> None:
    """Mark tags active (add) or inactive (remove) on one contact."""
    body = {"tags": [{"name": name, "status": status} for name in tags]}
    client.request("POST", f"{member}/tags", action, item_index=index, json=body)
