"""AWS Secrets Manager: create, read, list, update and delete secrets.

The studio masks the credential's own keys everywhere; a secret read by this node is different: it is the
node's output, so it is item data like any other, visible in the run to whoever can see the run. Nothing
here logs a value, and error messages carry AWS's words, never the value sent.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from nodes.aws._convert import advised, json_safe, text_body
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["create", "get", "list", "update", "delete"]
BY_ID = ("get", "update", "delete")
WRITES = ("create", "update")
MAX_PAGE = 100
"""The most secrets ListSecrets returns per call."""
T = TypeVar("T")
HINTS = {
    "ResourceNotFoundException": "Check the secret's name or ARN, and the credential's region.",
    "ResourceExistsException": "A secret with this name exists (a deleted one keeps its name until its recovery "
    "window ends): update it, or choose another name.",
    "InvalidRequestException": "A secret scheduled for deletion must be restored (in the AWS console or with "
    "RestoreSecret) before it can be read or changed.",
    "DecryptionFailure": "The key's IAM policy must allow kms:Decrypt on the secret's KMS key.",
    "InvalidParameterException": "Check the node's parameters (a recovery window is 7 to 30 days).",
}


class SecretTag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = param(title="Key", min_length=1, max_length=128)
    value: str = param("", title="Value", max_length=256)


class SecretsManagerParameters(Parameters):
    operation: Operation = param(
        "get",
        title="Operation",
        description="create a secret per item; get its value; list: one item per secret (no values); update its "
        "value or description; delete it (after a recovery window, or at once).",
        no_expressions=True,
    )
    secret_id: str = param(
        "",
        title="Secret",
        description="Its name or ARN.",
        placeholder="prod/billing/database",
        show_if={"operation": list(BY_ID)},
    )
    name: str = param(
        "",
        title="Name",
        description="Letters, digits and /_+=.@-; slashes group secrets like paths.",
        placeholder="prod/billing/database",
        show_if={"operation": ["create"]},
    )
    value: Any = param(
        "",
        title="Value",
        description="Text as is; objects and lists are stored as JSON. Better an expression such as "
        "{{ $json.password }} than a typed secret: parameters are saved in the workflow as typed. "
        "update: empty keeps the value.",
        widget="textarea",
        show_if={"operation": list(WRITES)},
    )
    description: str = param(
        "",
        title="Description",
        description="update: empty keeps the description.",
        show_if={"operation": list(WRITES)},
        advanced=True,
    )
    kms_key_id: str = param(
        "",
        title="KMS key",
        description="The id, ARN or alias of the key that encrypts it; empty: the account's aws/secretsmanager key.",
        show_if={"operation": ["create"]},
        advanced=True,
    )
    tags: list[SecretTag] = param(default_factory=list, title="Tags", show_if={"operation": ["create"]}, advanced=True)
    parse_json: bool = param(
        True,
        title="Parse JSON values",
        description="A value holding a JSON object or list becomes data ($json.value.password); others stay text.",
        show_if={"operation": ["get"]},
    )
    version_stage: str = param(
        "AWSCURRENT",
        title="Version stage",
        description="AWSCURRENT: the current value; AWSPREVIOUS: the one before; or a stage label of your own.",
        show_if={"operation": ["get"]},
        advanced=True,
    )
    version_id: str = param(
        "",
        title="Version id",
        description="One version's id; overrides the stage.",
        show_if={"operation": ["get"]},
        advanced=True,
    )
    binary_property: str = param(
        "data",
        title="Binary property",
        description="Where a binary secret goes.",
        show_if={"operation": ["get"]},
        advanced=True,
        min_length=1,
    )
    name_prefix: str = param(
        "",
        title="Name starts with",
        description="Only secrets whose name starts with this; empty: all.",
        show_if={"operation": ["list"]},
    )
    include_planned_deletion: bool = param(
        False, title="Include secrets scheduled for deletion", show_if={"operation": ["list"]}, advanced=True
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit' secrets.",
        show_if={"operation": ["list"]},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many secrets per item.",
        show_if={"operation": ["list"], "return_all": [False]},
        ge=1,
    )
    recovery_window_days: int = param(
        30,
        title="Recovery window (days)",
        description="It can be restored until then.",
        show_if={"operation": ["delete"], "force_delete": [False]},
        ge=7,
        le=30,
    )
    force_delete: bool = param(
        False,
        title="Delete at once",
        description="Without a recovery window: the secret cannot be restored.",
        show_if={"operation": ["delete"]},
    )

    @model_validator(mode="after")
    def _needs(self) -> SecretsManagerParameters:
        if self.operation in BY_ID and not self.secret_id.strip():
            raise ValueError(f"{self.operation} needs the secret's name or ARN")
        if self.operation == "create":
            if not self.name.strip():
                raise ValueError("create needs the secret's name")
            if self.value in ("", None):
                raise ValueError("create needs a value")
        if self.operation == "update" and self.value in ("", None) and not self.description.strip():
            raise ValueError("update needs a new value or description")
        return self


class SecretsManagerNode(Node):
    type = "aws.secrets_manager"
    display_name = "AWS Secrets Manager"
    category = Category.INTEGRATION
    description = (
        "Creates, reads, lists, updates or deletes AWS Secrets Manager secrets; a value it reads becomes item "
        "data, visible in the run like any other output."
    )
    icon = "key-round"
    Parameters = SecretsManagerParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "secretsmanager", timeout)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SecretsManagerParameters = ctx.params(index)
            produced.extend(_Secrets(ctx, client, fields, index).run(params))
        return [produced]


class _Secrets:
    """One item's requests."""

    def __init__(self, ctx: Context, client: Any, fields: AwsFields, index: int) -> None:
        self.ctx = ctx
        self.client = client
        self.fields = fields
        self.index = index

    def _call(self, action: str, request: Callable[..., T], **kwargs: Any) -> T:
        """:func:`call`, with Secrets Manager's own advice for its error codes."""
        try:
            return call(self.fields, action, request, item_index=self.index, **kwargs)
        except NodeError as err:
            raise advised(err, HINTS) from err.__cause__

    def _out(self, data: dict[str, Any], binary: dict[str, dict[str, Any]] | None = None) -> Item:
        return Item(json_safe(data), binary=binary or {}, paired_item=self.index)

    def run(self, params: SecretsManagerParameters) -> list[Item]:
        secret = params.secret_id.strip()
        match params.operation:
            case "create":
                name = params.name.strip()
                options: dict[str, Any] = {}
                if params.description.strip():
                    options["Description"] = params.description
                if params.kms_key_id.strip():
                    options["KmsKeyId"] = params.kms_key_id.strip()
                if params.tags:
                    options["Tags"] = [{"Key": tag.key, "Value": tag.value} for tag in params.tags]
                answer = self._call(
                    f"creating secret {name!r}",
                    self.client.create_secret,
                    Name=name,
                    SecretString=text_body(params.value),
                    **options,
                )
                return [
                    self._out({"name": answer["Name"], "arn": answer["ARN"], "version_id": answer.get("VersionId")})
                ]
            case "get":
                return [self._get(params, secret)]
            case "list":
                return self._list(params)
            case "update":
                changes: dict[str, Any] = {}
                if params.value not in ("", None):
                    changes["SecretString"] = text_body(params.value)
                if params.description.strip():
                    changes["Description"] = params.description
                answer = self._call(
                    f"updating secret {secret!r}", self.client.update_secret, SecretId=secret, **changes
                )
                data = {"name": answer["Name"], "arn": answer["ARN"], "version_id": answer.get("VersionId")}
                return [self._out(data)]
            case "delete":
                window = (
                    {"ForceDeleteWithoutRecovery": True}
                    if params.force_delete
                    else {"RecoveryWindowInDays": params.recovery_window_days}
                )
                answer = self._call(f"deleting secret {secret!r}", self.client.delete_secret, SecretId=secret, **window)
                data = {
                    "name": answer["Name"],
                    "arn": answer["ARN"],
                    "deletion_date": answer.get("DeletionDate"),
                    "deleted": True,
                    "recoverable": not params.force_delete,
                }
                return [self._out(data)]
        raise AssertionError(f"unhandled operation {params.operation!r}")

    def _get(self, params: SecretsManagerParameters, secret: str) -> Item:
        version = (
            {"VersionId": params.version_id.strip()}
            if params.version_id.strip()
            else {"VersionStage": params.version_stage.strip() or "AWSCURRENT"}
        )
        answer = self._call(
            f"reading the value of secret {secret!r}", self.client.get_secret_value, SecretId=secret, **version
        )
        data: dict[str, Any] = {
            "name": answer["Name"],
            "arn": answer["ARN"],
            "version_id": answer.get("VersionId"),
            "version_stages": answer.get("VersionStages", []),
            "created_date": answer.get("CreatedDate"),
        }
        if "SecretBinary" in answer:
            name = answer["Name"].rsplit("/", 1)[-1]
            stored = self.ctx.store_binary(
                bytes(answer["SecretBinary"]), file_name=name, mime_type="application/octet-stream"
            )
            return self._out({**data, "binary_property": params.binary_property}, {params.binary_property: stored})
        value: Any = answer.get("SecretString", "")
        if params.parse_json:
            with contextlib.suppress(ValueError):
                parsed = json.loads(value)
                # Only objects and lists: a PIN such as 123456 stays the text it was stored as.
                value = parsed if isinstance(parsed, dict | list) else value
        return self._out({**data, "value": value})

    def _list(self, params: SecretsManagerParameters) -> list[Item]:
        limit = None if params.return_all else params.limit
        options: dict[str, Any] = {"IncludePlannedDeletion": params.include_planned_deletion}
        if params.name_prefix.strip():
            options["Filters"] = [{"Key": "name", "Values": [params.name_prefix.strip()]}]
        found: list[Item] = []
        token: str | None = None
        while limit is None or len(found) < limit:
            paging = {"NextToken": token} if token else {}
            size = MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found))
            answer = self._call("listing secrets", self.client.list_secrets, MaxResults=size, **options, **paging)
            found.extend(self._out(_entry(entry)) for entry in answer.get("SecretList", []))
            token = answer.get("NextToken")
            if not token:
                break
        return found if limit is None else found[:limit]


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A listed secret's metadata (ListSecrets never returns values)."""
    return {
        "name": entry.get("Name"),
        "arn": entry.get("ARN"),
        "description": entry.get("Description", ""),
        "created_date": entry.get("CreatedDate"),
        "last_changed_date": entry.get("LastChangedDate"),
        "last_accessed_date": entry.get("LastAccessedDate"),
        "deleted_date": entry.get("DeletedDate"),
        "rotation_enabled": bool(entry.get("RotationEnabled")),
        "tags": {tag["Key"]: tag.get("Value", "") for tag in entry.get("Tags", [])},
    }
