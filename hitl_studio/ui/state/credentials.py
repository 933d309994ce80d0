"""State of /credentials: the list, the form built from a credential type's fields, sharing, OAuth2.

Secrets never enter this state: the form's inputs are uncontrolled, a secret
field starts empty, and what the browser learns about a stored secret is
whether it is set. A secret left blank when editing keeps its stored value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.db import session_scope
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import User
from hitl_studio.services import credentials, groups, oauth, users
from hitl_studio.services.errors import Forbidden, ServiceError
from hitl_studio.ui.components.times import relative, stamp
from hitl_studio.ui.editor import param_fields
from hitl_studio.ui.state.session import NotSignedIn, SessionState
from nodes.registry import get_registry
from nodes.sdk import CredentialType

FIELD_PREFIX = "field:"
"""Form input names of a type's fields, so a field called ``name`` never meets the credential's own name."""
NAME_INPUT = "credential_name"
DEFAULT_ICON = "key-round"
TYPE_ICONS = {
    "aws": "cloud",
    "google_service_account": "sheet",
    "http_basic_auth": "globe",
    "http_bearer_auth": "globe",
    "http_header_auth": "globe",
    "http_query_auth": "globe",
    "oauth2": "shield-check",
    "openai_api": "bot",
    "postgres": "database",
    "redis": "database-zap",
    "slack_api": "hash",
    "smtp": "mail",
}
"""Icons for the types we ship; other types take the icon of a node that uses them."""


@dataclass
class FormField:
    """One input of the credential form, from the type's ``Fields`` schema."""

    name: str
    title: str
    kind: str
    """``text``, ``textarea``, ``number``, ``boolean``, ``select`` or ``password``."""
    description: str = ""
    placeholder: str = ""
    required: bool = False
    secret: bool = False
    advanced: bool = False
    integer: bool = False
    options: list[str] = field(default_factory=list)
    value: str = ""
    """The starting text of a non-secret field (its default, or the stored value when editing)."""
    checked: bool = False
    status: str = ""
    """A stored secret's ``set``/``unset`` while editing; empty while creating."""
    error: str = ""


@dataclass
class TypeOption:
    id: str
    name: str
    description: str
    icon: str


@dataclass
class WorkflowRef:
    id: str
    name: str


@dataclass
class FieldStatus:
    title: str
    status: str


@dataclass
class CredentialRow:
    id: str
    name: str
    type_id: str
    type_name: str
    icon: str
    owner: str
    shared_with: list[str]
    used_by: list[WorkflowRef]
    used_names: str
    fields: list[FieldStatus]
    """Whether each secret is stored (other fields are not worth a badge)."""
    updated: str
    updated_exact: str
    can_edit: bool
    can_test: bool
    is_oauth: bool
    connected: bool
    connection: str
    problem: str


@dataclass
class ShareOption:
    id: str
    label: str


@dataclass
class GroupOption:
    id: str
    name: str
    member_ids: list[str]


def type_icon(cls: type[CredentialType]) -> str:
    """The icon shown beside a credential type: ours, or that of the first node asking for it."""
    if cls.id in TYPE_ICONS:
        return TYPE_ICONS[cls.id]
    for node in get_registry().node_classes():
        if any(requirement.type == cls.id for requirement in node.credentials):
            return node.icon
    return DEFAULT_ICON


def known_icons() -> list[str]:
    """Every icon :func:`type_icon` can give, so the page can render them without a dynamic import."""
    return sorted({DEFAULT_ICON, *(type_icon(cls) for cls in get_registry().credential_types())})


def _kind(prop: Mapping[str, Any], secret: bool) -> str:
    widget = prop.get("widget")
    if widget == "textarea":
        return "textarea"
    if secret or widget == "password":
        return "password"
    if "enum" in prop:
        return "select"
    if prop.get("type") in ("integer", "number"):
        return "number"
    if prop.get("type") == "boolean":
        return "boolean"
    return "text"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def form_fields(
    cls: type[CredentialType], *, stored: Mapping[str, Any] | None = None, statuses: Mapping[str, str] | None = None
) -> list[FormField]:
    """The form of ``cls``: defaults for a new credential, or the stored non-secret values when editing.

    Args:
        cls: The credential type.
        stored: The credential's data when editing; only its non-secret values are used.
        statuses: ``set``/``unset`` per field when editing (from ``credentials.public_fields``).
    """
    schema = cls.Fields.model_json_schema()
    required = set(schema.get("required", []))
    result = []
    for name, raw in schema.get("properties", {}).items():
        prop = param_fields.resolve(raw, schema)
        secret = name in cls.secret_fields
        kind = _kind(prop, secret)
        start = prop.get("default") if stored is None else stored.get(name, prop.get("default"))
        result.append(
            FormField(
                name=name,
                title=str(prop.get("title") or name.replace("_", " ").capitalize()),
                kind=kind,
                description=str(prop.get("description", "")),
                placeholder=str(prop.get("placeholder", "")),
                required=name in required,
                secret=secret,
                advanced=bool(prop.get("advanced")),
                integer=prop.get("type") == "integer",
                options=[str(option) for option in prop.get("enum", [])],
                value="" if secret or kind == "boolean" else _text(start),
                checked=kind == "boolean" and bool(start),
                status=(statuses or {}).get(name, "") if secret and stored is not None else "",
            )
        )
    return result


def read_form(
    fields: Iterable[FormField], form: Mapping[str, Any], *, editing: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """The data to send from a submitted form, and the problems found before sending it.

    Creating sends every field that has a value (blank optional fields keep
    their defaults). Editing sends only what changed: a blank secret keeps its
    stored value, an untouched field is not sent at all.
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in fields:
        raw = form.get(FIELD_PREFIX + item.name)
        if item.kind == "boolean":
            checked = raw in ("on", "true", True)
            if not editing or checked != item.checked:
                data[item.name] = checked
            continue
        text = "" if raw is None else str(raw)
        if item.kind != "password":
            text = text.strip()
        if item.secret:
            if text:
                data[item.name] = text
            elif item.required and not (editing and item.status == "set"):
                errors[item.name] = "Required."
            continue
        if not text:
            if item.required:
                errors[item.name] = "Required."
            elif editing and item.value:
                data[item.name] = None if item.kind == "number" else ""
            continue
        if editing and text == item.value:
            continue
        if item.kind == "number":
            try:
                data[item.name] = int(text) if item.integer else float(text)
            except ValueError:
                errors[item.name] = "Enter a whole number." if item.integer else "Enter a number."
            continue
        data[item.name] = text
    return data, errors


def _usage() -> dict[str, list[WorkflowRef]]:
    with session_scope() as session:
        usage = credentials.credential_usage(session)
    return {key: [WorkflowRef(ref.id, ref.name) for ref in refs] for key, refs in usage.items()}


def _connection_text(status: Mapping[str, Any] | None) -> str:
    if not status or not status.get("connected"):
        return "Not connected"
    scopes = ", ".join(status.get("scopes") or [])
    expires = status.get("expires_at")
    parts = ["Connected"]
    if expires:
        parts.append(f"token renews before {expires[:16].replace('T', ' ')} UTC")
    if scopes:
        parts.append(f"scopes: {scopes}")
    return "; ".join(parts)


def _row(
    credential: Credential, viewer: User, emails: Mapping[str, str], used: Mapping[str, list[WorkflowRef]]
) -> CredentialRow:
    registry = get_registry()
    try:
        cls: type[CredentialType] | None = registry.credential_type(credential.type)
    except LookupError:
        cls = None
    problem = ""
    try:
        public = credentials.public_fields(credential)
    except ServiceError as err:
        public = {"fields": {}, "oauth": None}
        problem = err.message
    titles = {item.name: item.title for item in form_fields(cls)} if cls else {}
    status = public.get("oauth")
    return CredentialRow(
        id=credential.id,
        name=credential.name,
        type_id=credential.type,
        type_name=cls.display_name if cls else f"{credential.type} (not installed)",
        icon=type_icon(cls) if cls else DEFAULT_ICON,
        owner=emails.get(credential.owner_id or "", "(deleted user)"),
        shared_with=[emails.get(user_id, "(deleted user)") for user_id in credential.shared_with],
        used_by=list(used.get(credential.id, [])),
        used_names=", ".join(ref.name for ref in used.get(credential.id, [])),
        fields=[
            FieldStatus(titles.get(name, name), state)
            for name, state in public["fields"].items()
            if cls is None or name in cls.secret_fields
        ],
        updated=relative(credential.updated_at),
        updated_exact=stamp(credential.updated_at),
        can_edit=credential.owner_id == viewer.id or allowed(viewer.role, Permission.MANAGE_USERS),
        can_test=cls is not None and hasattr(cls, "test_connection") and not problem,
        is_oauth=status is not None,
        connected=bool(status and status.get("connected")),
        connection=_connection_text(status),
        problem=problem,
    )


def _listing(viewer: User) -> tuple[list[CredentialRow], list[ShareOption], list[GroupOption]]:
    """Everything the page shows, read in one worker thread."""
    people = users.list_users()
    emails = {person.id: person.email for person in people}
    used = _usage()
    rows = [_row(credential, viewer, emails, used) for credential in credentials.list_credentials(viewer)]
    options = [ShareOption(person.id, person.email) for person in people if person.active]
    teams = [
        GroupOption(group["id"], group["name"], [member["id"] for member in group["members"]])
        for group in groups.list_groups()
    ]
    return rows, options, teams


def _type_options() -> list[TypeOption]:
    return [
        TypeOption(cls.id, cls.display_name, cls.description, type_icon(cls))
        for cls in sorted(get_registry().credential_types(), key=lambda cls: cls.display_name.lower())
    ]


class CredentialsState(SessionState):
    rows: list[CredentialRow] = []
    loaded: bool = False
    share_options: list[ShareOption] = []
    group_options: list[GroupOption] = []
    type_options: list[TypeOption] = []

    dialog_open: bool = False
    editing_id: str = ""
    form_type: str = ""
    form_name: str = ""
    form_fields: list[FormField] = []
    form_key: int = 0
    name_error: str = ""
    type_error: str = ""
    form_message: str = ""
    share_ids: list[str] = []
    saving: bool = False

    testing_id: str = ""

    @rx.var
    def basic_fields(self) -> list[FormField]:
        return [item for item in self.form_fields if not item.advanced]

    @rx.var
    def advanced_fields(self) -> list[FormField]:
        return [item for item in self.form_fields if item.advanced]

    @rx.var
    def form_type_name(self) -> str:
        return next((option.name for option in self.type_options if option.id == self.form_type), "")

    @rx.var
    def form_type_description(self) -> str:
        return next((option.description for option in self.type_options if option.id == self.form_type), "")

    async def _viewer(self) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(Permission.MANAGE_CREDENTIALS)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    async def _refresh(self, viewer: User) -> None:
        self.rows, self.share_options, self.group_options = await asyncio.to_thread(_listing, viewer)
        self.loaded = True

    @rx.event
    async def load(self):
        self.dialog_open = False
        self.testing_id = ""
        redirect = await self.guard(Permission.MANAGE_CREDENTIALS)
        if redirect is not None:
            return redirect
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            return viewer
        self.type_options = _type_options()
        await self._refresh(viewer)
        connected = self.router.url.query_parameters.get("connected", "")
        if connected:
            name = next((row.name for row in self.rows if row.id == connected), "The credential")
            return rx.toast.success(f"{name} is connected to its account.")
        return None

    def _open_form(self, fields: list[FormField]) -> None:
        self.form_fields = fields
        self.form_key += 1
        self.name_error = self.type_error = self.form_message = ""

    @rx.event
    def open_create(self) -> None:
        self.editing_id = ""
        self.form_type = ""
        self.form_name = ""
        self.share_ids = []
        self._open_form([])
        self.dialog_open = True

    @rx.event
    def choose_type(self, type_id: str) -> None:
        try:
            cls = get_registry().credential_type(type_id)
        except LookupError:
            self.type_error = "Choose one of the listed types."
            return
        self.form_type = type_id
        self._open_form(form_fields(cls))

    @rx.event
    async def open_edit(self, credential_id: str):
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            return viewer
        try:
            credential, public, stored = await asyncio.to_thread(_for_editing, credential_id, viewer)
        except ServiceError as err:
            return rx.toast.error(err.message)
        cls = get_registry().credential_type(credential.type)
        self.editing_id = credential.id
        self.form_type = credential.type
        self.form_name = credential.name
        self.share_ids = list(credential.shared_with)
        self._open_form(form_fields(cls, stored=stored, statuses=public["fields"]))
        self.dialog_open = True
        return None

    @rx.event
    def set_dialog_open(self, is_open: bool) -> None:
        self.dialog_open = is_open
        if not is_open:
            self.form_fields = []

    @rx.event
    def toggle_share(self, user_id: str, checked: bool) -> None:
        chosen = [existing for existing in self.share_ids if existing != user_id]
        self.share_ids = [*chosen, user_id] if checked else chosen

    @rx.event
    def share_group(self, group_id: str) -> None:
        members = next((group.member_ids for group in self.group_options if group.id == group_id), [])
        self.share_ids = sorted({*self.share_ids, *members})

    def _show_errors(self, errors: Mapping[str, str], message: str) -> None:
        self.form_fields = [
            FormField(**{**item.__dict__, "error": errors.get(item.name, "")}) for item in self.form_fields
        ]
        self.form_message = message

    @rx.event
    async def save(self, form: dict[str, Any]):
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            yield viewer
            return
        editing = self.editing_id != ""
        if not self.form_type:
            self.type_error = "Choose what kind of credential this is."
            return
        name = str(form.get(NAME_INPUT, "")).strip()
        self.name_error = "" if name else "Give the credential a name."
        data, errors = read_form(self.form_fields, form, editing=editing)
        if errors or not name:
            self._show_errors(errors, "Correct the marked fields.")
            return
        self.saving = True
        yield
        try:
            if editing:
                saved = await asyncio.to_thread(
                    credentials.update_credential,
                    self.editing_id,
                    actor=viewer,
                    name=name,
                    data=data or None,
                    shared_with=self._shares(viewer),
                )
            else:
                saved = await asyncio.to_thread(
                    credentials.create_credential,
                    name,
                    self.form_type,
                    data,
                    actor=viewer,
                    shared_with=self._shares(viewer),
                )
        except ServiceError as err:
            self.saving = False
            self.type_error = err.field_errors.get("type", "")
            self._show_errors(err.field_errors, err.message)
            return
        self.saving = False
        self.dialog_open = False
        self.form_fields = []
        await self._refresh(viewer)
        verb = "saved" if editing else "created"
        yield rx.toast.success(f"{saved.name} {verb}.")

    def _shares(self, viewer: User) -> list[str]:
        # Sharing with yourself says nothing; the owner always may use it.
        return [user_id for user_id in self.share_ids if user_id != viewer.id]

    @rx.event
    async def test(self, credential_id: str):
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            yield viewer
            return
        self.testing_id = credential_id
        yield
        try:
            message = await asyncio.to_thread(credentials.test_credential, credential_id, actor=viewer)
        except ServiceError as err:
            self.testing_id = ""
            yield rx.toast.error(err.message)
            return
        self.testing_id = ""
        yield rx.toast.success(f"Test passed: {message}.")

    @rx.event
    async def delete(self, credential_id: str):
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            return viewer
        name = next((row.name for row in self.rows if row.id == credential_id), "The credential")
        try:
            await asyncio.to_thread(credentials.delete_credential, credential_id, actor=viewer)
        except ServiceError as err:
            await self._refresh(viewer)
            return rx.toast.error(err.message)
        await self._refresh(viewer)
        return rx.toast.success(f"{name} deleted.")

    @rx.event
    async def connect(self, credential_id: str):
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            return viewer
        try:
            url = await asyncio.to_thread(oauth.start_authorization, credential_id, viewer)
        except ServiceError as err:
            return rx.toast.error(err.message)
        return rx.redirect(url, is_external=True)

    @rx.event
    async def disconnect(self, credential_id: str):
        viewer = await self._viewer()
        if not isinstance(viewer, User):
            return viewer
        try:
            await asyncio.to_thread(oauth.revoke, credential_id, viewer)
        except ServiceError as err:
            return rx.toast.error(err.message)
        await self._refresh(viewer)
        return rx.toast.success("Disconnected: the studio forgot the tokens.")


def _for_editing(credential_id: str, viewer: User) -> tuple[Credential, dict[str, Any], dict[str, Any]]:
    """The credential, its public fields and its stored data, for the edit form (secrets are dropped there)."""
    credential = credentials.get_credential(credential_id, viewer)
    if credential.owner_id != viewer.id and not allowed(viewer.role, Permission.MANAGE_USERS):
        raise Forbidden("Only the credential's owner or an admin can change it; you may use and test it.")
    try:
        cls = get_registry().credential_type(credential.type)
    except LookupError as err:
        raise ServiceError(
            f"The credential type {credential.type!r} is not installed, so {credential.name!r} cannot be edited; "
            "delete it or install the nodes that provide the type."
        ) from err
    stored = credentials.open_data(credential)
    public = credentials.public_fields(credential)
    return credential, public, {name: value for name, value in stored.items() if name not in cls.secret_fields}
