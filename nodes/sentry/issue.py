"""Sentry Issue: list a project's issues, get one, update it (resolve, ignore, assign...) or delete it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param
from nodes.sentry._client import SentryClient

Operation = Literal["get_many", "get", "update", "delete"]
BY_ID = ("get", "update", "delete")
CHOICE = {"yes": True, "no": False}


class SentryIssueParameters(Parameters):
    operation: Operation = param(
        "get_many",
        title="Operation",
        description="get_many: one item per issue of a project matching a search; get one; update one (resolve, "
        "ignore, reopen, assign, bookmark); delete one with its events.",
        no_expressions=True,
    )
    project: str = param(
        "",
        title="Project slug",
        description="The project's slug, as in its settings' address.",
        placeholder="backend",
        show_if={"operation": ["get_many"]},
    )
    issue_id: str = param(
        "",
        title="Issue id",
        description="The issue's numeric id (in its address), not its short id such as BACKEND-1A.",
        placeholder="{{ $json.id }}",
        show_if={"operation": BY_ID},
    )
    query: str = param(
        "is:unresolved",
        title="Search query",
        description="Sentry's issue search, as in the Issues page: is:unresolved level:error; empty: every issue.",
        show_if={"operation": ["get_many"]},
    )
    stats_period: Literal["24h", "14d", "none"] = param(
        "24h",
        title="Stats period",
        description="The period of each issue's event counts in 'stats'; none leaves them out (faster).",
        show_if={"operation": ["get_many"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' issues.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many issues per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )
    status: Literal["unchanged", "resolved", "resolvedInNextRelease", "unresolved", "ignored"] = param(
        "unchanged",
        title="Status",
        description="resolved; resolvedInNextRelease: resolved by the next release; unresolved reopens it; ignored "
        "silences it (archived in Sentry's newer pages).",
        show_if={"operation": ["update"]},
    )
    ignore_minutes: int = param(
        0,
        title="Ignore for (minutes)",
        description="With status ignored: ignore it for this long; 0: until it is reopened by hand.",
        show_if={"operation": ["update"], "status": ["ignored"]},
        ge=0,
    )
    assigned_to: str = param(
        "",
        title="Assign to",
        description="A user (user:<id>, a username or an email address) or a team (team:<id>); empty keeps the "
        "assignee.",
        placeholder="user:1234",
        show_if={"operation": ["update"]},
    )
    unassign: bool = param(
        False,
        title="Unassign",
        description="Leave the issue with no assignee.",
        show_if={"operation": ["update"]},
    )
    bookmarked: Literal["unchanged", "yes", "no"] = param(
        "unchanged",
        title="Bookmarked",
        description="Bookmark the issue for the token's user, or remove the bookmark.",
        show_if={"operation": ["update"]},
        advanced=True,
    )

    @model_validator(mode="after")
    def _needs(self) -> SentryIssueParameters:
        if self.operation == "get_many" and not self.project.strip():
            raise ValueError("get_many needs the project's slug")
        if self.operation in BY_ID and not self.issue_id.strip():
            raise ValueError(f"{self.operation} needs the issue id")
        if self.unassign and self.assigned_to.strip():
            raise ValueError("give an assignee or unassign, not both")
        if self.operation == "update" and not self.changes():
            raise ValueError("update needs a status, an assignee, unassign or a bookmark to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The issue's fields to send on update, as Sentry names them."""
        changes: dict[str, Any] = {}
        if self.status != "unchanged":
            changes["status"] = self.status
            if self.status == "ignored" and self.ignore_minutes:
                changes["statusDetails"] = {"ignoreDuration": self.ignore_minutes}
        if self.assigned_to.strip():
            changes["assignedTo"] = self.assigned_to.strip()
        elif self.unassign:
            # Sentry takes an empty assignee as "nobody".
            changes["assignedTo"] = ""
        if self.bookmarked != "unchanged":
            changes["isBookmarked"] = CHOICE[self.bookmarked]
        return changes


class SentryIssueNode(Node):
    type = "sentry.issue"
    display_name = "Sentry Issue"
    category = Category.INTEGRATION
    description = "Lists a Sentry project's issues, or gets, resolves, ignores, assigns or deletes one."
    icon = "bug"
    Parameters = SentryIssueParameters
    credentials = (CredentialRequirement("sentry_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with SentryClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: SentryIssueParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _run(client: SentryClient, params: SentryIssueParameters, index: int) -> list[dict[str, Any]]:
    issue_id = params.issue_id.strip()
    path = client.organization_path("issues", issue_id)
    match params.operation:
        case "get_many":
            project = params.project.strip()
            query: dict[str, Any] = {"query": params.query.strip()}
            # Sentry reads an empty statsPeriod as "no stats".
            query["statsPeriod"] = "" if params.stats_period == "none" else params.stats_period
            return client.paginate(
                client.project_path(project, "issues"),
                f"listing the issues of project {project}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "get":
            return [client.request("GET", path, f"getting issue {issue_id}", item_index=index)]
        case "update":
            verb = {"resolved": "resolving", "resolvedInNextRelease": "resolving", "ignored": "ignoring"}
            action = f"{verb.get(params.status, 'updating')} issue {issue_id}"
            return [client.request("PUT", path, action, item_index=index, json=params.changes())]
        case "delete":
            client.request("DELETE", path, f"deleting issue {issue_id}", item_index=index)
            return [{"id": issue_id, "deleted": True}]
    raise AssertionError(f"unhandled operation {params.operation!r}")
