"""Credentials: stored encrypted, shown only as set/unset, decrypted only for the runs allowed to use them."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.credentials.crypto import DecryptionError, Keyring, decrypt, encrypt
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.credentials import Credential
from hitl_studio.models.users import User
from hitl_studio.services import audit
from hitl_studio.services.errors import Forbidden, InvalidInput, NotFound, ServiceError
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


def _open(credential: Credential) -> dict[str, Any]:
    try:
        return decrypt(keyring(), credential.encrypted_data)
    except DecryptionError as err:
        raise ServiceError(f"Credential {credential.name!r} cannot be decrypted: {err}.") from err


def public_fields(credential: Credential) -> dict[str, Any]:
    """Metadata and, per field, whether it is set: never a value, secret or not."""
    data = _open(credential)
    field_names = list(_type(credential.type).Fields.model_fields) if credential.type else list(data)
    return {
        "id": credential.id,
        "name": credential.name,
        "type": credential.type,
        "owner_id": credential.owner_id,
        "shared_with": credential.shared_with,
        "fields": {name: "set" if data.get(name) not in (None, "") else "unset" for name in field_names},
        "created_at": credential.created_at.isoformat(),
        "updated_at": credential.updated_at.isoformat(),
    }


def _visible(credential: Credential, user: User) -> bool:
    return (
        allowed(user.role, Permission.MANAGE_USERS)
        or credential.owner_id == user.id
        or user.id in credential.shared_with
    )


def _load(session: Session, credential_id: str, user: User) -> Credential:
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
        return _load(session, credential_id, user)


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
        credential = _load(session, credential_id, actor)
        if credential.owner_id != actor.id and not allowed(actor.role, Permission.MANAGE_USERS):
            raise Forbidden("Only the credential's owner or an admin can change it.")
        if name is not None:
            if not name.strip():
                raise InvalidInput("Give the credential a name.", field_errors={"name": "Required."})
            credential.name = name.strip()[:200]
        if data is not None:
            merged = {**_open(credential), **data}
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


def delete_credential(credential_id: str, *, actor: User) -> None:
    with session_scope() as session:
        credential = _load(session, credential_id, actor)
        if credential.owner_id != actor.id and not allowed(actor.role, Permission.MANAGE_USERS):
            raise Forbidden("Only the credential's owner or an admin can delete it.")
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
    fields = cls.Fields.model_validate(_open(credential))
    try:
        return str(tester(fields))
    except NodeError as err:
        raise InvalidInput(f"The test failed: {err.message}") from err
    except Exception as err:
        raise InvalidInput(f"The test failed: {type(err).__name__}: {err}") from err


def decrypted_for_run(
    credential_id: str, type_id: str, *, workflow_owner_id: str | None, execution_id: str
) -> dict[str, Any]:
    """The plain data of a credential for a run of a workflow owned by ``workflow_owner_id``.

    Raises:
        NodeError: Missing, of another type, not shared with the workflow's owner, or undecryptable.
    """
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
            data = decrypt(keyring(), credential.encrypted_data)
        except DecryptionError as err:
            raise NodeError(f"the credential {credential.name!r} cannot be decrypted: {err}") from err
        audit.record(
            session,
            "credential.used",
            actor_label=f"execution {execution_id}",
            target_type="credential",
            target_id=credential.id,
            after={"execution_id": execution_id},
        )
    return data
