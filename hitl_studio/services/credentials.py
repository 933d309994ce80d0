"""Credentials: stored encrypted, shown only as set/unset, decrypted only for the runs allowed to use them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlmodel import Session, col, select

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.credentials.crypto import DecryptionError, Keyring, decrypt, encrypt
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import User
from hitl_studio.models.workflows import Workflow
from hitl_studio.services import audit
from hitl_studio.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from hitl_studio.settings import get_settings
from nodes.registry import get_registry
from nodes.sdk import CredentialType, NodeError


@lru_cache(maxsize=4)
def _keyring(secret: str, previous: tuple[str, ...]) -> Keyring:
    return Keyring.from_secrets(secret, previous)


def keyring() -> Keyring:
    settings = get_settings()
    return _keyring(settings.secret_key, settings.secret_key_previous)


def _type(type_id: str) -> type[CredentialType]:
    try:
        return get_registry().credential_type(type_id)
    except LookupError as err:
        known = ", ".join(cls.id for cls in get_registry().credential_types())
        raise InvalidInput(
            f"Unknown credential type {type_id!r}. Known: {known}.", field_errors={"type": "Unknown type."}
        ) from err


def _validated(cls: type[CredentialType], data: dict[str, Any]) -> dict[str, Any]:
    try:
        return cls.Fields.model_validate(data).model_dump(mode="json")
    except ValidationError as err:
        fields = {".".join(str(p) for p in e["loc"]) or "data": e["msg"] for e in err.errors()}
        raise InvalidInput(f"The {cls.display_name} credential is not valid.", field_errors=fields) from err


def open_data(credential: Credential) -> dict[str, Any]:
    """The credential's fields in clear, for code that must use them (never for a response).

    Raises:
        ServiceError: Its value cannot be decrypted (the message says whether the key is wrong or it was tampered).
    """
    try:
        return decrypt(keyring(), credential.encrypted_data, expected_key_id=credential.key_id)
    except DecryptionError as err:
        raise ServiceError(f"Credential {credential.name!r} cannot be decrypted: {err}.") from err


def public_fields(credential: Credential) -> dict[str, Any]:
    """Metadata and, per field, whether it is set: never a value, secret or not.

    An OAuth2 credential also has ``oauth``: ``{"connected", "expires_at", "scopes"}``
    (``None`` for other types). Fields excluded from what is saved (an OAuth2
    credential's run-time ``access_token``) are not listed.
    """
    from hitl_studio.services import oauth

    data = open_data(credential)
    model_fields = _type(credential.type).Fields.model_fields if credential.type else {}
    field_names = [name for name, info in model_fields.items() if not info.exclude] if model_fields else list(data)
    return {
        "id": credential.id,
        "name": credential.name,
        "type": credential.type,
        "owner_id": credential.owner_id,
        "shared_with": credential.shared_with,
        "fields": {name: "set" if data.get(name) not in (None, "") else "unset" for name in field_names},
        "oauth": oauth.connection_status(credential.id) if oauth.is_oauth2(credential.type) else None,
        "created_at": credential.created_at.isoformat(),
        "updated_at": credential.updated_at.isoformat(),
    }


def _visible(credential: Credential, user: User) -> bool:
    return (
        allowed(user.role, Permission.MANAGE_USERS)
        or credential.owner_id == user.id
        or user.id in credential.shared_with
    )


def load_visible(session: Session, credential_id: str, user: User) -> Credential:
    credential = session.get(Credential, credential_id)
    if credential is None or not _visible(credential, user):
        raise NotFound(f"No credential with id {credential_id}.")
    return credential


def create_credential(
    name: str, type_id: str, data: dict[str, Any], *, actor: User, shared_with: list[str] | None = None
) -> Credential:
    cls = _type(type_id)
    if not name.strip():
        raise InvalidInput("Give the credential a name.", field_errors={"name": "Required."})
    clean = _validated(cls, data)
    ring = keyring()
    with session_scope() as session:
        credential = Credential(
            name=name.strip()[:200],
            type=type_id,
            encrypted_data=encrypt(ring, clean),
            key_id=ring.current_id,
            owner_id=actor.id,
            shared_with=sorted(set(shared_with or [])),
        )
        session.add(credential)
        session.flush()
        audit.record(
            session,
            "credential.created",
            actor=actor,
            target_type="credential",
            target_id=credential.id,
            after={"name": credential.name, "type": type_id},
        )
    return credential


def list_credentials(user: User) -> list[Credential]:
    with session_scope() as session:
        rows = list(session.exec(select(Credential).order_by(col(Credential.name))))
    return [row for row in rows if _visible(row, user)]


def get_credential(credential_id: str, user: User) -> Credential:
    with session_scope() as session:
        return load_visible(session, credential_id, user)


def update_credential(
    credential_id: str,
    *,
    actor: User,
    name: str | None = None,
    data: dict[str, Any] | None = None,
    shared_with: list[str] | None = None,
) -> Credential:
    """Change a credential; fields left out of ``data`` keep their stored values (so secrets need not be re-typed)."""
    with session_scope() as session:
        credential = load_visible(session, credential_id, actor)
        if credential.owner_id != actor.id and not allowed(actor.role, Permission.MANAGE_USERS):
            raise Forbidden("Only the credential's owner or an admin can change it.")
        if name is not None:
            if not name.strip():
                raise InvalidInput("Give the credential a name.", field_errors={"name": "Required."})
            credential.name = name.strip()[:200]
        if data is not None:
            merged = {**open_data(credential), **data}
            ring = keyring()
            credential.encrypted_data = encrypt(ring, _validated(_type(credential.type), merged))
            credential.key_id = ring.current_id
        if shared_with is not None:
            credential.shared_with = sorted(set(shared_with))
        credential.updated_at = utcnow()
        session.add(credential)
        audit.record(
            session,
            "credential.updated",
            actor=actor,
            target_type="credential",
            target_id=credential.id,
            after={
                "name": credential.name,
                "fields_changed": sorted(data or {}),
                "shared_with": credential.shared_with,
            },
        )
    return credential


class WorkflowRef(NamedTuple):
    """A workflow that selects a credential in one of its nodes."""

    id: str
    name: str


def usage_by_credential(graphs: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[str, list[WorkflowRef]]:
    """Which workflows reference each credential id, from ``(workflow id, name, graph)`` triples.

    A node selects a credential as ``"credentials": {"<type>": {"id": "<credential id>", ...}}``.
    """
    used: dict[str, list[WorkflowRef]] = {}
    for workflow_id, name, graph in graphs:
        ids = set()
        for node in graph.get("nodes") or []:
            selections = node.get("credentials") if isinstance(node, Mapping) else None
            for selection in (selections or {}).values() if isinstance(selections, Mapping) else ():
                if isinstance(selection, Mapping) and selection.get("id"):
                    ids.add(str(selection["id"]))
        for credential_id in ids:
            used.setdefault(credential_id, []).append(WorkflowRef(workflow_id, name))
    for refs in used.values():
        refs.sort(key=lambda ref: ref.name.lower())
    return used


def credential_usage(session: Session) -> dict[str, list[WorkflowRef]]:
    """Every credential id that some saved workflow selects, with those workflows (one pass over all graphs)."""
    rows = session.exec(select(Workflow.id, Workflow.name, Workflow.graph)).all()
    return usage_by_credential((workflow_id, name, graph or {}) for workflow_id, name, graph in rows)


def delete_credential(credential_id: str, *, actor: User) -> None:
    """Delete a credential no saved workflow selects; one still in use is refused so no run breaks later."""
    with session_scope() as session:
        credential = load_visible(session, credential_id, actor)
        if credential.owner_id != actor.id and not allowed(actor.role, Permission.MANAGE_USERS):
            raise Forbidden("Only the credential's owner or an admin can delete it.")
        users_of_it = credential_usage(session).get(credential_id, [])
        if users_of_it:
            names = ", ".join(f"'{ref.name}'" for ref in users_of_it[:5])
            more = f" and {len(users_of_it) - 5} more" if len(users_of_it) > 5 else ""
            raise Conflict(f"The credential is used by {names}{more}; remove it from those workflows first.")
        session.delete(credential)
        audit.record(
            session,
            "credential.deleted",
            actor=actor,
            target_type="credential",
            target_id=credential_id,
            before={"name": credential.name, "type": credential.type},
        )


def test_credential(credential_id: str, *, actor: User) -> str:
    """Run the type's connection test; returns its success message.

    Raises:
        InvalidInput: The type has no test, or the test failed (the message says why).
    """
    credential = get_credential(credential_id, actor)
    cls = _type(credential.type)
    tester = getattr(cls, "test_connection", None)
    if tester is None:
        raise InvalidInput(f"{cls.display_name} credentials have no connection test.")
    fields = cls.Fields.model_validate(open_data(credential))
    try:
        return str(tester(fields))
    except NodeError as err:
        raise InvalidInput(f"The test failed: {err.message}") from err
    except Exception as err:
        raise InvalidInput(f"The test failed: {type(err).__name__}: {err}") from err


def decrypted_for_run(
    credential_id: str,
    type_id: str,
    *,
    workflow_owner_id: str | None,
    execution_id: str,
    poll_of: str | None = None,
) -> dict[str, Any]:
    """The plain data of a credential for a run of a workflow owned by ``workflow_owner_id``.

    For an OAuth2 credential: its connection's access token (fresh) instead, see
    :func:`hitl_studio.services.oauth.access_for_run`. Every call is audited as
    ``credential.used``, naming the run, or for a polling trigger's poll (which
    is no recorded run) ``poll_of``: the node and workflow that polled.

    Raises:
        NodeError: Missing, of another type, not shared with the workflow's owner, or undecryptable.
    """
    from hitl_studio.services import oauth

    with session_scope() as session:
        credential = session.get(Credential, credential_id)
        if credential is None:
            raise NodeError(
                f"the selected credential ({credential_id}) no longer exists", description="Pick another one."
            )
        if credential.type != type_id:
            raise NodeError(f"the selected credential {credential.name!r} is a {credential.type}, not a {type_id}")
        owner_ok = workflow_owner_id is not None and (
            credential.owner_id == workflow_owner_id or workflow_owner_id in credential.shared_with
        )
        if not owner_ok:
            raise NodeError(
                f"the credential {credential.name!r} is not shared with this workflow's owner",
                description="Ask its owner to share it, or select one of your own.",
            )
        try:
            data = decrypt(keyring(), credential.encrypted_data, expected_key_id=credential.key_id)
        except DecryptionError as err:
            raise NodeError(f"the credential {credential.name!r} cannot be decrypted: {err}") from err
        audit.record(
            session,
            "credential.used",
            actor_label=f"poll of {poll_of}" if poll_of else f"execution {execution_id}",
            target_type="credential",
            target_id=credential.id,
            after={"poll_of": poll_of} if poll_of else {"execution_id": execution_id},
        )
    if oauth.is_oauth2(type_id):
        # Outside the transaction above: this may call the provider to refresh the token.
        return oauth.access_for_run(credential)
    return data
