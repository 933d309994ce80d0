"""GitLab Merge Request: create, get, list, update, merge or comment on the merge requests of a project."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator, model_validator

from nodes.gitlab._client import GitlabClient, names, project_path
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeOutput, Parameters, param

Operation = Literal["create", "get", "get_many", "update", "merge", "create_note"]
BY_IID = ("get", "update", "merge", "create_note")
WRITES = ("create", "update")


class GitlabMergeRequestParameters(Parameters):
    operation: Operation = param(
        "create",
        title="Operation",
        description="create a merge request per item; get one; get_many: one item per merge request; update one; "
        "merge one; create_note: comment on one.",
        no_expressions=True,
    )
    project: str = param(
        title="Project",
        description="The project's numeric id or its full path.",
        placeholder="my-group/my-project",
    )
    merge_request_iid: int = param(
        0,
        title="Merge request IID",
        description="The number shown after ! in the project (not the global id).",
        placeholder="{{ $json.iid }}",
        show_if={"operation": BY_IID},
        ge=0,
    )
    source_branch: str = param(
        "", title="Source branch", description="The branch with the changes.", show_if={"operation": ["create"]}
    )
    target_branch: str = param(
        "",
        title="Target branch",
        description="create: the branch to merge into (required); update: empty keeps the current one; "
        "get_many: only merge requests into this branch, empty: any.",
        placeholder="main",
        show_if={"operation": ["create", "update", "get_many"]},
    )
    title: str = param(
        "", title="Title", description="update: empty keeps the current title.", show_if={"operation": WRITES}
    )
    description: str = param(
        "",
        title="Description",
        description="In GitLab Markdown; update: empty keeps the current description.",
        widget="textarea",
        show_if={"operation": WRITES},
    )
    labels: list[str] = param(
        default_factory=list,
        title="Labels",
        description="Label names (a list, or text separated by commas); update: empty keeps the current labels, "
        "otherwise they replace them.",
        show_if={"operation": WRITES},
    )
    assignee_ids: list[int] = param(
        default_factory=list,
        title="Assignee ids",
        description="Numeric user ids (a list, or text separated by commas); update: empty keeps the current ones.",
        show_if={"operation": WRITES},
    )
    remove_source_branch: bool = param(
        False,
        title="Delete source branch",
        description="Delete the source branch once the merge request is merged.",
        show_if={"operation": ["create", "merge"]},
    )
    squash: bool = param(
        False,
        title="Squash commits",
        description="Merge the changes as one commit.",
        show_if={"operation": ["create", "merge"]},
    )
    state_event: Literal["unchanged", "close", "reopen"] = param(
        "unchanged",
        title="State",
        description="Close or reopen the merge request.",
        show_if={"operation": ["update"]},
    )
    merge_commit_message: str = param(
        "",
        title="Merge commit message",
        description="Empty: GitLab's default message.",
        widget="textarea",
        show_if={"operation": ["merge"]},
        advanced=True,
    )
    sha: str = param(
        "",
        title="Expected head SHA",
        description="Merge only if the source branch's head is still this commit (its sha); empty: any.",
        placeholder="{{ $json.sha }}",
        show_if={"operation": ["merge"]},
        advanced=True,
    )
    note: str = param(
        "",
        title="Comment",
        description="In GitLab Markdown.",
        widget="textarea",
        show_if={"operation": ["create_note"]},
    )
    state: Literal["opened", "closed", "locked", "merged", "all"] = param(
        "opened", title="State", show_if={"operation": ["get_many"]}
    )
    label_filter: list[str] = param(
        default_factory=list,
        title="With labels",
        description="Only merge requests that have every one of these labels; empty: any.",
        show_if={"operation": ["get_many"]},
    )
    search: str = param(
        "",
        title="Search",
        description="Only merge requests whose title or description contains this text.",
        show_if={"operation": ["get_many"]},
    )
    order_by: Literal["created_at", "updated_at", "title"] = param(
        "created_at", title="Sort by", show_if={"operation": ["get_many"]}
    )
    sort: Literal["desc", "asc"] = param("desc", title="Direction", show_if={"operation": ["get_many"]})
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' merge requests.",
        show_if={"operation": ["get_many"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many merge requests per item.",
        show_if={"operation": ["get_many"], "return_all": [False]},
        ge=1,
    )

    @field_validator("labels", "assignee_ids", "label_filter", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return names(value)

    @model_validator(mode="after")
    def _needs(self) -> GitlabMergeRequestParameters:
        if not self.project.strip().strip("/"):
            raise ValueError("the project is required")
        if self.operation in BY_IID and self.merge_request_iid < 1:
            raise ValueError(f"{self.operation} needs the merge request IID")
        if self.operation == "create":
            if not self.source_branch.strip() or not self.target_branch.strip():
                raise ValueError("create needs the source and the target branch")
            if self.source_branch.strip() == self.target_branch.strip():
                raise ValueError("create needs a source branch other than the target branch")
            if not self.title.strip():
                raise ValueError("create needs a title")
        if self.operation == "create_note" and not self.note.strip():
            raise ValueError("create_note needs the comment's text")
        return self


class GitlabMergeRequestNode(Node):
    type = "gitlab.merge_request"
    display_name = "GitLab Merge Request"
    category = Category.INTEGRATION
    description = "Creates, gets, lists, updates, merges or comments on GitLab merge requests."
    icon = "git-pull-request"
    Parameters = GitlabMergeRequestParameters
    credentials = (CredentialRequirement("gitlab_api"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        produced: list[Item] = []
        with GitlabClient.for_node(ctx) as client:
            for index in range(len(items)):
                params: GitlabMergeRequestParameters = ctx.params(index)
                produced.extend(Item(entry, paired_item=index) for entry in _run(client, params, index))
        return [produced]


def _fields(params: GitlabMergeRequestParameters) -> dict[str, Any]:
    """The fields to send on create or update; empty ones are left out so an update keeps them."""
    fields: dict[str, Any] = {}
    if params.title.strip():
        fields["title"] = params.title
    if params.description.strip():
        fields["description"] = params.description
    if params.target_branch.strip():
        fields["target_branch"] = params.target_branch.strip()
    if params.labels:
        fields["labels"] = ",".join(params.labels)
    if params.assignee_ids:
        fields["assignee_ids"] = params.assignee_ids
    return fields


def _run(client: GitlabClient, params: GitlabMergeRequestParameters, index: int) -> list[dict[str, Any]]:
    project = params.project.strip().strip("/")
    iid = params.merge_request_iid
    merge_request = project_path(project, "merge_requests", iid)
    match params.operation:
        case "create":
            body = {"source_branch": params.source_branch.strip(), **_fields(params)}
            if params.remove_source_branch:
                body["remove_source_branch"] = True
            if params.squash:
                body["squash"] = True
            path = project_path(project, "merge_requests")
            action = f"creating a merge request from {body['source_branch']} in {project}"
            return [client.request("POST", path, action, item_index=index, json=body)]
        case "get":
            return [
                client.request("GET", merge_request, f"getting merge request !{iid} of {project}", item_index=index)
            ]
        case "get_many":
            query: dict[str, Any] = {"state": params.state, "order_by": params.order_by, "sort": params.sort}
            if params.label_filter:
                query["labels"] = ",".join(params.label_filter)
            if params.search.strip():
                query["search"] = params.search.strip()
            if params.target_branch.strip():
                query["target_branch"] = params.target_branch.strip()
            return client.paginate(
                project_path(project, "merge_requests"),
                f"listing the merge requests of {project}",
                limit=None if params.return_all else params.limit,
                item_index=index,
                params=query,
            )
        case "update":
            changes = _fields(params)
            if params.state_event != "unchanged":
                changes["state_event"] = params.state_event
            action = f"updating merge request !{iid} of {project}"
            return [client.request("PUT", merge_request, action, item_index=index, json=changes)]
        case "merge":
            # Only what was asked for: a false squash would override a project that squashes by default.
            merge: dict[str, Any] = {}
            if params.squash:
                merge["squash"] = True
            if params.remove_source_branch:
                merge["should_remove_source_branch"] = True
            if params.merge_commit_message.strip():
                merge["merge_commit_message"] = params.merge_commit_message
            if params.sha.strip():
                merge["sha"] = params.sha.strip()
            action = f"merging merge request !{iid} of {project}"
            return [client.request("PUT", f"{merge_request}/merge", action, item_index=index, json=merge)]
        case "create_note":
            return [
                client.request(
                    "POST",
                    f"{merge_request}/notes",
                    f"commenting on merge request !{iid} of {project}",
                    item_index=index,
                    json={"body": params.note},
                )
            ]
    raise AssertionError(f"unhandled operation {params.operation!r}")
