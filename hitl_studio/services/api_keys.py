"""API keys for agents: created by their owner (studio or CLI), shown once, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.auth.tokens import display_prefix, new_api_key, token_hash
from hitl_studio.db import session_scope, utcnow
from hitl_studio.models.users import ApiKey, User
from hitl_studio.services import audit
from hitl_studio.services.errors import Forbidden, InvalidInput, NotFound

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class CreatedApiKey:
    """A new key; ``secret`` exists only here and is never stored or shown again."""

    api_key: ApiKey
    secret: str


def public_fields(api_key: ApiKey) -> dict[str, Any]:
    return {
        "id": api_key.id,
        "name": api_key.name,
        "prefix": api_key.prefix,
        "user_id": api_key.user_id,
        "created_at": api_key.created_at.isoformat(),
        "last_used_at": api_key.last_used_at.isoformat() if api_key.last_used_at else None,
        "revoked_at": api_key.revoked_at.isoformat() if api_key.revoked_at else None,
    }


def create_api_key(
    owner: User, name: str, *, actor: User | None = None, actor_label: str | None = None
) -> CreatedApiKey:
    """Create a key for ``owner``.

    Raises:
        InvalidInput: The name is empty or too long.
    """
    name = name.strip()
    problem = None
    if not name:
        problem = "Give the key a name, such as the agent that will use it."
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"Keep the name under {MAX_NAME_LENGTH} characters."
    if problem:
        raise InvalidInput(problem, field_errors={"name": problem})
    secret = new_api_key()
    api_key = ApiKey(user_id=owner.id, name=name, prefix=display_prefix(secret), token_hash=token_hash(secret))
    with session_scope() as session:
        session.add(api_key)
        session.flush()
        audit.record(
            session,
            "api_key.created",
            actor=actor or owner,
            actor_label=actor_label,
            target_type="api_key",
            target_id=api_key.id,
            after=public_fields(api_key),
        )
    return CreatedApiKey(api_key=api_key, secret=secret)


def list_api_keys(viewer: User, *, include_all: bool = False) -> list[ApiKey]:
    """The viewer's keys, newest first; admins may ask for everyone's with ``include_all``."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc())  # type: ignore[attr-defined]
    if not (include_all and allowed(viewer.role, Permission.MANAGE_USERS)):
        query = query.where(ApiKey.user_id == viewer.id)
    with session_scope() as session:
        return list(session.exec(query))


def revoke_api_key(key_id: str, *, actor: User) -> ApiKey:
    """Revoke a key at once; revoking twice is harmless.

    Raises:
        NotFound: No such key, or it belongs to someone else and the actor is not an admin.
    """
    with session_scope() as session:
        api_key = session.get(ApiKey, key_id)
        if api_key is None or (api_key.user_id != actor.id and not allowed(actor.role, Permission.MANAGE_USERS)):
            raise NotFound(f"No API key with id {key_id}.")
        if api_key.revoked_at is None:
            before = public_fields(api_key)
            api_key.revoked_at = utcnow()
            session.add(api_key)
            audit.record(
                session,
                "api_key.revoked",
                actor=actor,
                target_type="api_key",
                target_id=api_key.id,
                before=before,
                after=public_fields(api_key),
            )
        return api_key


def require_owner_or_admin(actor: User, owner_id: str) -> None:
    if actor.id != owner_id and not allowed(actor.role, Permission.MANAGE_USERS):
        raise Forbidden("Only the key's owner or an admin can do that.")
