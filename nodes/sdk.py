"""The node SDK: what a node declares, and the context the engine hands it.

A node is mostly data (n8n's lesson): a permanent type id, a version, how it
looks in the palette, its inputs and outputs, a pydantic model of its
parameters (whose JSON schema the studio renders as the config panel), and the
credential types it needs. Behaviour is one method, :meth:`Node.execute`,
which receives the items of its main input and returns items per output, or a
:class:`Wait` that pauses the run.

Nodes import this module and the SDK of their service, nothing from
``hitl_studio.ui``; everything else they need comes through :class:`Context`.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

TYPE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
"""Type ids are permanent, dotted, lower-case: ``slack.send_message``, ``core.set``."""

CREDENTIAL_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class Category(StrEnum):
    """Where a node appears in the palette."""

    TRIGGER = "trigger"
    FLOW = "flow"
    DATA = "data"
    FILES = "files"
    ACTION = "action"
    AI = "ai"
    HUMAN = "human"
    INTEGRATION = "integration"
    UTILITY = "utility"


class TriggerKind(StrEnum):
    """How a trigger starts runs; the studio registers it accordingly on activation."""

    MANUAL = "manual"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    ERROR = "error"
    SUBWORKFLOW = "subworkflow"
    POLL = "poll"


@dataclass(slots=True)
class Item:
    """One unit of data flowing between nodes (n8n's item).

    Attributes:
        json: The item's data.
        binary: Named files, each a reference into the file store (see :meth:`Context.store_binary`),
            never the bytes themselves, so large files never sit in a run's memory or rows.
        paired_item: Index of the input item this one came from, so ``$node["X"].json`` can
            find the matching upstream item.
    """

    json: dict[str, Any]
    binary: dict[str, dict[str, Any]] = field(default_factory=dict)
    paired_item: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"json": self.json}
        if self.binary:
            data["binary"] = self.binary
        if self.paired_item is not None:
            data["paired_item"] = self.paired_item
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        """Accept ``{"json": {...}, "binary": ...}`` or a bare JSON object (as people type them)."""
        if "json" in data and isinstance(data["json"], dict) and set(data) <= {"json", "binary", "paired_item"}:
            return cls(dict(data["json"]), dict(data.get("binary") or {}), data.get("paired_item"))
        return cls(dict(data))


NodeOutput = list[list[Item]]
"""Items per output, in the order of the node's declared outputs."""


@dataclass(frozen=True)
class Wait:
    """Returned by :meth:`Node.execute` to pause the run without holding a worker.

    The engine stores the run's frontier and ends the job; the run resumes when
    ``resume_at`` passes (kind ``time``) or when the host resumes it with items
    (an approval decided, a form submitted, a webhook called).

    Attributes:
        kind: What the run waits for: ``time``, ``approval``, ``form``, ``webhook`` or ``subworkflow``.
        resume_at: When a time wait ends (aware UTC); for other kinds, an optional deadline.
        data: What the host needs to set the wait up (an approval request, a form schema...).
        passthrough: Items to emit on resume when the host brings none (a plain time wait).
    """

    kind: Literal["time", "approval", "form", "webhook", "subworkflow"]
    resume_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    passthrough: list[Item] = field(default_factory=list)


class NodeError(Exception):
    """A node failed in a way a person can act on.

    Args:
        message: What went wrong, in one sentence.
        description: What to do about it.
        item_index: The input item being processed, when the error is about one item.
    """

    def __init__(self, message: str, *, description: str = "", item_index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.description = description
        self.item_index = item_index


class StopRun(NodeError):
    """Raised on purpose (Stop and Error node): the run fails with this message, no retry."""


class Parameters(BaseModel):
    """Base of every node's parameter model: unknown parameters are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class NoParameters(Parameters):
    """For nodes that take no parameters."""


Widget = Literal[
    "text", "textarea", "number", "boolean", "options", "multi_options", "json", "code", "cron", "datetime", "password"
]


def param(
    default: Any = ...,
    *,
    title: str | None = None,
    description: str | None = None,
    widget: Widget | None = None,
    show_if: Mapping[str, Sequence[Any]] | None = None,
    advanced: bool = False,
    placeholder: str | None = None,
    no_expressions: bool = False,
    **constraints: Any,
) -> Any:
    """Declare a parameter with the hints the studio's config panel reads.

    Args:
        default: The default value; omit for a required parameter.
        title: Label in the panel (defaults to the field name, humanised).
        description: Help text under the field.
        widget: Overrides the widget the type implies (``code``, ``cron``, ``textarea``, ``json``...).
        show_if: Show the field only when other parameters have one of these values,
            e.g. ``{"method": ["POST", "PUT"]}``; hidden fields keep their defaults.
        advanced: Fold the field under "more options".
        placeholder: Example text shown in an empty field.
        no_expressions: The value is used literally (paths, type switches); ``{{ }}`` is refused on save.
        **constraints: Passed to pydantic's ``Field`` (``ge``, ``max_length``, ``min_length``...).
    """
    extra: dict[str, Any] = {}
    if widget:
        extra["widget"] = widget
    if show_if:
        extra["show_if"] = {name: list(values) for name, values in show_if.items()}
    if advanced:
        extra["advanced"] = True
    if placeholder:
        extra["placeholder"] = placeholder
    if no_expressions:
        extra["no_expressions"] = True
    if "default_factory" in constraints:
        return Field(title=title, description=description, json_schema_extra=extra or None, **constraints)
    return Field(default, title=title, description=description, json_schema_extra=extra or None, **constraints)


@cache
def literal_fields(model: type[BaseModel]) -> frozenset[str]:
    """Parameters used exactly as saved: ``{{`` in them is text, never an expression.

    Those declared ``no_expressions`` and code editors (a Code node's ``{{`` is Python).
    """
    names = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("no_expressions") or extra.get("widget") == "code":
            names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class CredentialRequirement:
    """A credential type a node can use; ``required=False`` when the node also works without one."""

    type: str
    required: bool = True
    show_if: Mapping[str, Sequence[Any]] | None = None


class CredentialType(abc.ABC):
    """A kind of secret (an API key, SMTP login...), declared beside the nodes that use it.

    ``Fields`` is a pydantic model: the Credentials screen renders its form
    from it, and stored data is validated against it.
    """

    id: ClassVar[str]
    display_name: ClassVar[str]
    description: ClassVar[str] = ""
    Fields: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields never shown again once saved (shown as set/unset)."""
    # A type may also define ``test_connection(cls, fields) -> str``: it checks the
    # credential against its service and returns a short success message, or raises
    # NodeError with what is wrong. The Credentials screen offers "Test" when it exists.

    @classmethod
    def parse(cls, data: BaseModel | Mapping[str, Any]) -> Any:
        """The credential's data as its ``Fields`` model.

        Raises:
            NodeError: The stored credential is incomplete or no longer valid, naming the field.
        """
        if isinstance(data, cls.Fields):
            return data
        try:
            return cls.Fields.model_validate(dict(data))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "its fields"
            raise NodeError(
                f"the {cls.display_name} credential is not valid: {where}: {first.get('msg', 'is invalid')}",
                description="Open the credential and complete it.",
            ) from err

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "id": cls.id,
            "display_name": cls.display_name,
            "description": cls.description,
            "secret_fields": sorted(cls.secret_fields),
            "schema": cls.Fields.model_json_schema(),
        }


class Context(Protocol):
    """What the engine gives a node while it runs. Implemented by ``hitl_studio.engine``."""

    @property
    def node_name(self) -> str: ...

    @property
    def execution_id(self) -> str: ...

    @property
    def inputs(self) -> list[list[Item]]:
        """Items on every input (index = input position); nodes with one input use ``items``."""
        ...

    @property
    def run_index(self) -> int:
        """How many times this node already ran in this execution (loops run nodes repeatedly)."""
        ...

    @property
    def timezone(self) -> str:
        """The workflow's time zone (its ``settings.timezone``, UTC by default), for date handling."""
        ...

    @property
    def execution_mode(self) -> str:
        """How the run started (``manual``, ``webhook``, ``cron``, ``poll``, ...), as ``$execution.mode``."""
        ...

    @property
    def state(self) -> dict[str, Any]:
        """JSON-serialisable state kept for this node across its runs in one execution (loops)."""
        ...

    def params(self, item_index: int = 0) -> Any:
        """The node's parameters, expressions evaluated against item ``item_index``, validated."""
        ...

    def raw_params(self) -> dict[str, Any]:
        """The parameters as saved, expressions unevaluated."""
        ...

    def evaluate(self, value: Any, item_index: int = 0) -> Any:
        """Evaluate expressions in ``value`` (for values a node builds itself, e.g. per rule)."""
        ...

    def credential(self, type_id: str) -> dict[str, Any]:
        """The decrypted data of the credential of ``type_id`` selected on this node."""
        ...

    def store_binary(self, data: bytes, *, file_name: str, mime_type: str) -> dict[str, Any]:
        """Put bytes into the file store; returns the reference to set in :attr:`Item.binary`."""
        ...

    def read_binary(self, reference: Mapping[str, Any]) -> bytes:
        """The bytes behind a binary reference."""
        ...

    def run_workflow(self, workflow_id: str, items: list[Item]) -> list[Item]:
        """Run another workflow to completion with ``items`` and return its last node's items."""
        ...

    def remaining_seconds(self) -> float | None:
        """Seconds left before this node's timeout, if it has one (pass it to network calls)."""
        ...


OAUTH2_RENEW = "renew_access_token"
"""Key of the callable the studio adds to an OAuth2 credential's data: given a refused token, it replaces it."""


def oauth2_access_token(ctx: Context, type_id: str, *, refused: str | None = None) -> str:
    """A current access token of the OAuth2 credential of ``type_id`` selected on the node.

    The studio refreshes a token that is about to expire before handing it out,
    one refresh at a time per connection across runs and workers. When the
    service answers 401 to a token anyway (revoked, or expired early), call again
    with it as ``refused``: the studio refreshes it, unless another run already
    has, and this returns the new one. Going through ``ctx.credential`` each time
    is what keeps every token masked in the run's data.

    Raises:
        NodeError: The credential is not connected, or the provider would not refresh it.
    """
    data = ctx.credential(type_id)
    token = data.get("access_token")
    if refused is not None and token == refused:
        renew = data.get(OAUTH2_RENEW)
        if not callable(renew):
            raise NodeError(
                "the service refused the OAuth2 access token, and it cannot be refreshed here",
                description="Reconnect the credential under Credentials.",
            )
        renew(refused)
        token = ctx.credential(type_id).get("access_token")
    if not isinstance(token, str) or not token:
        raise NodeError(
            "the OAuth2 credential is not connected to an account",
            description="Open it under Credentials and click Connect.",
        )
    return token


class Node(abc.ABC):
    """Base of every node. Subclasses set the class attributes and implement :meth:`execute`.

    One instance serves every run, so nodes keep no state on ``self``: per-run
    state goes in :attr:`Context.state`.
    """

    type: ClassVar[str]
    version: ClassVar[int] = 1
    display_name: ClassVar[str]
    category: ClassVar[Category]
    description: ClassVar[str]
    icon: ClassVar[str]
    """A Lucide icon name (https://lucide.dev), e.g. ``"git-branch"``."""
    inputs: ClassVar[tuple[str, ...]] = ("main",)
    outputs: ClassVar[tuple[str, ...]] = ("main",)
    Parameters: ClassVar[type[Parameters]] = NoParameters
    credentials: ClassVar[tuple[CredentialRequirement, ...]] = ()
    allows_cycles: ClassVar[bool] = False
    """True for loop nodes: a cycle through this node is a loop, not a mistake."""
    subtitle: ClassVar[str | None] = None
    """A parameter name whose value the canvas shows under the node's name (e.g. ``operation``)."""

    @classmethod
    def output_names(cls, parameters: Mapping[str, Any]) -> tuple[str, ...]:
        """The outputs for these parameters; override when they depend on them (Switch)."""
        return cls.outputs

    @abc.abstractmethod
    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput | list[Item] | Wait:
        """Process the items of the main input.

        Returns:
            Items per output (``[[...], [...]]``); a single-output node may return a
            plain list of items; or a :class:`Wait` to pause the run.

        Raises:
            NodeError: With a message a person can act on, and the item index when known.
        """

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The JSON the palette and config panel are built from."""
        description: dict[str, Any] = {
            "type": cls.type,
            "version": cls.version,
            "display_name": cls.display_name,
            "category": str(cls.category),
            "description": cls.description,
            "icon": cls.icon,
            "inputs": list(cls.inputs),
            "outputs": list(cls.outputs),
            "credentials": [
                {"type": c.type, "required": c.required, "show_if": dict(c.show_if or {})} for c in cls.credentials
            ],
            "parameters": cls.Parameters.model_json_schema(),
            "allows_cycles": cls.allows_cycles,
            "subtitle": cls.subtitle,
        }
        if issubclass(cls, TriggerNode):
            description["trigger"] = str(cls.trigger_kind)
        return description


class TriggerNode(Node):
    """A node that starts runs. The engine hands it the trigger's data as its items.

    By default it passes them on unchanged; triggers override :meth:`execute`
    to shape them (the webhook trigger builds ``{"headers", "params", "query", "body"}``).
    """

    inputs: ClassVar[tuple[str, ...]] = ()
    trigger_kind: ClassVar[TriggerKind]

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput | list[Item] | Wait:
        return [items]


POLL_CURSOR = "poll_cursor"
"""The key of :attr:`Context.state` under which the studio's poller hands a polling trigger its cursor."""


class PollParameters(Parameters):
    """What every polling trigger's parameters start with: how often to look.

    The rule is the Schedule Trigger's (cron or ``@every``), so the node panel
    shows the next times it polls and the studio books polls like schedules.
    """

    poll_every: str = param(
        "@every 5m",
        title="Poll every",
        description="How often to look for something new: an interval such as '@every 5m' (s, m, h), "
        "or a five-field cron expression such as '*/10 8-18 * * 1-5'.",
        widget="cron",
        no_expressions=True,
    )
    timezone: str = param("UTC", title="Time zone", placeholder="Europe/Paris", no_expressions=True, advanced=True)

    @field_validator("poll_every")
    @classmethod
    def _valid_rule(cls, value: str) -> str:
        from nodes.triggers.schedule import checked_rule

        return checked_rule(value.strip())

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        from nodes.triggers.schedule import checked_timezone

        return checked_timezone(value)


@dataclass(frozen=True)
class Poll:
    """What one poll found: the new items, and the cursor the next poll starts from.

    The cursor is JSON the node alone reads (the last id or date seen, say); the
    studio keeps it in the database between polls.
    """

    items: list[Item]
    cursor: dict[str, Any]


class PollTriggerNode(TriggerNode):
    """A trigger that looks for something new on a schedule (a feed's entries, a mailbox's mail).

    Subclasses implement :meth:`poll`. When a workflow is active the studio
    calls it every ``poll_every`` with the cursor of the poll before, and starts
    a run with the items it found, if any. The first poll after activation only
    takes its cursor: what was already there when the workflow was switched on
    is not new. A poll that fails starts a failed run, so the failure shows in
    Executions and reaches the error workflow. Run by hand (the editor's Run),
    the trigger polls from no cursor and outputs what the source holds now, so
    a builder sees real data to work with.
    """

    trigger_kind: ClassVar[TriggerKind] = TriggerKind.POLL
    Parameters: ClassVar[type[Parameters]] = PollParameters

    @abc.abstractmethod
    def poll(self, ctx: Context, cursor: Mapping[str, Any] | None) -> Poll:
        """Look for items newer than ``cursor`` (``None``: everything there is now).

        Raises:
            NodeError: The source could not be read; the cursor is then kept.
        """

    def execute(self, ctx: Context, items: list[Item]) -> NodeOutput | list[Item] | Wait:
        if ctx.execution_mode == "poll":
            if POLL_CURSOR not in ctx.state:
                # The run the poller started: its items are what the poll found.
                return [items]
            found = self.poll(ctx, ctx.state[POLL_CURSOR])
            ctx.state[POLL_CURSOR] = found.cursor
            return [found.items]
        return [self.poll(ctx, None).items]


def _bare_token(value: str) -> str:
    value = value.strip()
    if not value or any(char.isspace() for char in value):
        raise ValueError("paste the token alone, without spaces")
    return value


def _api_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("https://", "http://")):
        raise ValueError("the API URL must start with https://")
    return value.rstrip("/")


ApiToken = Annotated[str, AfterValidator(_bare_token)]
"""A credential's pasted API token: surrounding spaces dropped, a token with spaces inside refused."""

ApiUrl = Annotated[str, AfterValidator(_api_url)]
"""A credential's API base URL (http or https), without its trailing slash."""


def number_as_text(value: Any) -> Any:
    """A number typed or mapped into a text field, as text (``12.5`` → ``"12.5"``); anything else unchanged.

    Expressions and JSON bodies hand numbers to fields that services want as strings (prices,
    postcodes, phone numbers); booleans are left alone so pydantic still refuses them.
    """
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class TextFields(BaseModel):
    """A group of optional text fields sent as one object (an address): numbers read as text, missing ones as empty.

    :meth:`given` is what to send: on an update, a field left empty keeps the service's value.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return "" if value is None else number_as_text(value)

    def given(self) -> dict[str, str]:
        """The fields that were given, stripped, under their own names."""
        return {name: value.strip() for name, value in self.model_dump().items() if value.strip()}
