"""AWS Systems Manager Parameter Store: read, list by path, write, delete parameters and read their history.

A SecureString read with decryption is the node's output: item data like any other, visible in the run to
whoever can see the run. Nothing here logs a value, and error messages carry AWS's words, never the value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from nodes.aws._convert import advised, json_safe, text_body
from nodes.aws.credentials import AwsFields, aws_client, call, credential_for
from nodes.sdk import Category, Context, CredentialRequirement, Item, Node, NodeError, NodeOutput, Parameters, param

Operation = Literal["get", "get_by_path", "put", "delete", "get_history"]
BY_NAME = ("get", "put", "delete", "get_history")
READS = ("get", "get_by_path", "get_history")
PAGED = ("get_by_path", "get_history")
PATH_PAGE = 10
"""The most parameters GetParametersByPath returns per call."""
HISTORY_PAGE = 50
"""The most versions GetParameterHistory returns per call."""
T = TypeVar("T")
HINTS = {
    "ParameterNotFound": "Check the parameter's name (it starts with / when it is in a hierarchy) and the "
    "credential's region.",
    "ParameterVersionNotFound": "Check the version or label: get_history lists the parameter's versions.",
    "ParameterVersionLabelLimitExceeded": "A parameter version holds at most 10 labels.",
    "ParameterAlreadyExists": "The parameter exists: turn on 'Overwrite' to store a new version.",
    "ParameterLimitExceeded": "The account holds as many parameters as its tier allows: delete some, or use "
    "the Advanced tier.",
    "ParameterMaxVersionLimitExceeded": "A parameter keeps 100 versions: delete it and create it again, or "
    "remove the labels of its oldest version.",
    "HierarchyLevelLimitExceededException": "A name has at most 15 levels of /.",
    "HierarchyTypeMismatchException": "The type of an existing parameter cannot change: delete it first.",
    "InvalidKeyId": "Check the KMS key id, ARN or alias, and that it is in the credential's region.",
    "InvalidAllowedPatternException": "The value does not match the parameter's allowed pattern.",
    "ValidationException": "Check the node's parameters (tags only go with a new parameter, not with Overwrite).",
}


class ParameterTag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = param(title="Key", min_length=1, max_length=128)
    value: str = param("", title="Value", max_length=256)


class SsmParameterParameters(Parameters):
    operation: Operation = param(
        "get",
        title="Operation",
        description="get one parameter; get_by_path: one item per parameter under a path; put a value (a new "
        "parameter, or a new version with Overwrite); delete it; get_history: one item per version.",
        no_expressions=True,
    )
    name: str = param(
        "",
        title="Name",
        description="The parameter's name or ARN.",
        placeholder="/prod/billing/database-url",
        show_if={"operation": list(BY_NAME)},
    )
    selector: Literal["latest", "version", "label"] = param(
        "latest",
        title="Which version",
        description="latest: the current value; version: by number; label: by a label such as prod.",
        show_if={"operation": ["get"]},
        no_expressions=True,
    )
    version: int = param(1, title="Version", show_if={"operation": ["get"], "selector": ["version"]}, ge=1)
    label: str = param("", title="Label", placeholder="prod", show_if={"operation": ["get"], "selector": ["label"]})
    path: str = param(
        "/",
        title="Path",
        description="The hierarchy to read, starting with /.",
        placeholder="/prod/billing",
        show_if={"operation": ["get_by_path"]},
    )
    recursive: bool = param(
        True,
        title="Include sub-paths",
        description="Off: only the parameters directly under the path.",
        show_if={"operation": ["get_by_path"]},
    )
    with_decryption: bool = param(
        True,
        title="Decrypt SecureStrings",
        description="On: their plain values become item data (visible in the run); off: the encrypted text.",
        show_if={"operation": list(READS)},
    )
    value: Any = param(
        "",
        title="Value",
        description="Text (objects are stored as JSON); for StringList, a list or comma-separated text. "
        "Better an expression such as {{ $json.password }} than a typed secret: parameters are saved in the "
        "workflow as typed.",
        widget="textarea",
        show_if={"operation": ["put"]},
    )
    parameter_type: Literal["String", "StringList", "SecureString"] = param(
        "String",
        title="Type",
        description="SecureString: encrypted with a KMS key. An existing parameter keeps its type.",
        show_if={"operation": ["put"]},
        no_expressions=True,
    )
    kms_key_id: str = param(
        "",
        title="KMS key",
        description="The id, ARN or alias of the key that encrypts it; empty: the account's aws/ssm key.",
        show_if={"operation": ["put"], "parameter_type": ["SecureString"]},
        advanced=True,
    )
    overwrite: bool = param(
        False,
        title="Overwrite",
        description="Store a new version of an existing parameter; off: an existing name is refused.",
        show_if={"operation": ["put"]},
    )
    description: str = param("", title="Description", show_if={"operation": ["put"]}, advanced=True, max_length=1024)
    tier: Literal["Standard", "Advanced", "Intelligent-Tiering"] = param(
        "Standard",
        title="Tier",
        description="Advanced: values up to 8 KB (charged); Intelligent-Tiering: Advanced only when needed.",
        show_if={"operation": ["put"]},
        advanced=True,
        no_expressions=True,
    )
    tags: list[ParameterTag] = param(
        default_factory=list,
        title="Tags",
        description="Only for a new parameter (AWS refuses tags with Overwrite).",
        show_if={"operation": ["put"]},
        advanced=True,
    )
    return_all: bool = param(
        False,
        title="Return all",
        description="Follow every page; otherwise stop after 'Limit'.",
        show_if={"operation": list(PAGED)},
    )
    limit: int = param(
        50,
        title="Limit",
        description="At most this many per item.",
        show_if={"operation": list(PAGED), "return_all": [False]},
        ge=1,
    )

    @model_validator(mode="after")
    def _needs(self) -> SsmParameterParameters:
        if self.operation in BY_NAME and not self.name.strip():
            raise ValueError(f"{self.operation} needs the parameter's name")
        if self.operation == "get" and self.selector == "label" and not self.label.strip():
            raise ValueError("get by label needs the label")
        if self.operation == "get_by_path" and not self.path.strip().startswith("/"):
            raise ValueError("the path starts with /, like /prod/billing")
        if self.operation == "put":
            if self.value in ("", None, []):
                raise ValueError("put needs a value")
            if self.tags and self.overwrite:
                raise ValueError("tags only go with a new parameter: turn off Overwrite or remove the tags")
        return self


class SsmParameterNode(Node):
    type = "aws.ssm_parameter"
    display_name = "AWS Parameter Store"
    category = Category.INTEGRATION
    description = (
        "Reads, lists, writes or deletes AWS Systems Manager parameters; a SecureString it decrypts becomes item "
        "data, visible in the run like any other output."
    )
    icon = "sliders-horizontal"
    Parameters = SsmParameterParameters
    credentials = (CredentialRequirement("aws"),)
    subtitle = "operation"

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput:
        if not items:
            return [[]]
        fields, timeout = credential_for(ctx)
        client = aws_client(fields, "ssm", timeout)
        produced: list[Item] = []
        for index in range(len(items)):
            params: SsmParameterParameters = ctx.params(index)
            produced.extend(_Parameters(client, fields, index).run(params))
        return [produced]


class _Parameters:
    """One item's requests."""

    def __init__(self, client: Any, fields: AwsFields, index: int) -> None:
        self.client = client
        self.fields = fields
        self.index = index

    def _call(self, action: str, request: Callable[..., T], **kwargs: Any) -> T:
        """:func:`call`, with Parameter Store's own advice for its error codes."""
        try:
            return call(self.fields, action, request, item_index=self.index, **kwargs)
        except NodeError as err:
            raise advised(err, HINTS) from err.__cause__

    def _out(self, data: dict[str, Any]) -> Item:
        return Item(json_safe(data), paired_item=self.index)

    def run(self, params: SsmParameterParameters) -> list[Item]:
        name = params.name.strip()
        match params.operation:
            case "get":
                selector = {"latest": "", "version": f":{params.version}", "label": f":{params.label.strip()}"}
                answer = self._call(
                    f"reading parameter {name!r}",
                    self.client.get_parameter,
                    Name=name + selector[params.selector],
                    WithDecryption=params.with_decryption,
                )
                return [self._out(_parameter(answer["Parameter"]))]
            case "get_by_path":
                path = params.path.strip()
                options = {"Path": path, "Recursive": params.recursive, "WithDecryption": params.with_decryption}
                return self._pages(
                    params, f"reading the parameters under {path!r}", self.client.get_parameters_by_path, options
                )
            case "put":
                return [self._put(params, name)]
            case "delete":
                self._call(f"deleting parameter {name!r}", self.client.delete_parameter, Name=name)
                return [self._out({"name": name, "deleted": True})]
            case "get_history":
                options = {"Name": name, "WithDecryption": params.with_decryption}
                return self._pages(
                    params, f"reading the history of parameter {name!r}", self.client.get_parameter_history, options
                )
        raise AssertionError(f"unhandled operation {params.operation!r}")

    def _put(self, params: SsmParameterParameters, name: str) -> Item:
        options: dict[str, Any] = {"Overwrite": params.overwrite, "Tier": params.tier}
        if params.description.strip():
            options["Description"] = params.description
        if params.parameter_type == "SecureString" and params.kms_key_id.strip():
            options["KeyId"] = params.kms_key_id.strip()
        if params.tags:
            options["Tags"] = [{"Key": tag.key, "Value": tag.value} for tag in params.tags]
        answer = self._call(
            f"writing parameter {name!r}",
            self.client.put_parameter,
            Name=name,
            Value=self._value(params),
            Type=params.parameter_type,
            **options,
        )
        return self._out(
            {"name": name, "type": params.parameter_type, "version": answer["Version"], "tier": answer.get("Tier")}
        )

    def _value(self, params: SsmParameterParameters) -> str:
        value = params.value
        if not isinstance(value, list):
            return text_body(value)
        if params.parameter_type != "StringList":
            raise NodeError(
                f"item {self.index}: a list is a value only for the StringList type",
                description="Choose the StringList type, or give the value as text.",
                item_index=self.index,
            )
        entries = [str(entry) for entry in value]
        if any("," in entry for entry in entries):
            raise NodeError(
                f"item {self.index}: a StringList entry contains a comma, which separates its entries",
                description="Remove the commas from the entries, or store the value as a String.",
                item_index=self.index,
            )
        return ",".join(entries)

    def _pages(
        self, params: SsmParameterParameters, action: str, request: Callable[..., Any], options: dict[str, Any]
    ) -> list[Item]:
        limit = None if params.return_all else params.limit
        page = PATH_PAGE if params.operation == "get_by_path" else HISTORY_PAGE
        found: list[Item] = []
        token: str | None = None
        while limit is None or len(found) < limit:
            paging = {"NextToken": token} if token else {}
            size = page if limit is None else min(page, limit - len(found))
            answer = self._call(action, request, MaxResults=size, **options, **paging)
            found.extend(self._out(_parameter(entry)) for entry in answer.get("Parameters", []))
            token = answer.get("NextToken")
            if not token:
                break
        return found if limit is None else found[:limit]


def _parameter(entry: dict[str, Any]) -> dict[str, Any]:
    """A parameter (or one version of it) as item data; a StringList's entries also as a list."""
    data: dict[str, Any] = {
        "name": entry.get("Name"),
        "type": entry.get("Type"),
        "value": entry.get("Value"),
        "version": entry.get("Version"),
        "last_modified_date": entry.get("LastModifiedDate"),
        "data_type": entry.get("DataType"),
    }
    if entry.get("Type") == "StringList" and isinstance(entry.get("Value"), str):
        data["values"] = entry["Value"].split(",")
    optional = {
        "ARN": "arn",
        "Selector": "selector",
        "Description": "description",
        "Labels": "labels",
        "Tier": "tier",
        "KeyId": "kms_key_id",
        "LastModifiedUser": "last_modified_user",
    }
    data.update({key: entry[name] for name, key in optional.items() if name in entry})
    return data
