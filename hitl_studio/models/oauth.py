"""OAuth sign-ins in progress: the ``state`` and PKCE verifier between "Connect" and the provider's callback."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import created_at_field, foreign_key, id_field, time_field


class OAuthState(SQLModel, table=True):
    """One authorization started by a user for a credential; single use, short-lived.

    Only the SHA-256 of ``state`` is kept (the browser carries the state itself),
    and the PKCE verifier is sealed like every other secret, so a copy of the
    database cannot finish someone's sign-in.
    """

    __tablename__ = "oauth_state"

    id: str = id_field()
    state_hash: str = Field(max_length=64, unique=True, index=True)
    credential_id: str = foreign_key("credential.id")
    user_id: str = foreign_key("user.id")
    encrypted_verifier: str
    key_id: str = Field(max_length=32)
    redirect_uri: str = Field(max_length=2000)
    created_at: datetime = created_at_field()
    expires_at: datetime = created_at_field(index=True)
    used_at: datetime | None = time_field()
