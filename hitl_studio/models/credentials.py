"""Encrypted credentials and OAuth connections; plaintext never touches these rows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import created_at_field, foreign_key, id_field, json_field, time_field


class Credential(SQLModel, table=True):
    __tablename__ = "credential"

    id: str = id_field()
    name: str = Field(max_length=200)
    type: str = Field(max_length=100, index=True)
    encrypted_data: str
    key_id: str = Field(max_length=32)
    owner_id: str | None = foreign_key("user.id", nullable=True, ondelete="SET NULL")
    shared_with: list[str] = json_field(list)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class OAuthConnection(SQLModel, table=True):
    __tablename__ = "oauth_connection"

    id: str = id_field()
    credential_id: str | None = foreign_key("credential.id", nullable=True)
    provider: str = Field(max_length=64)
    account: str = Field(default="", max_length=320)
    encrypted_tokens: str
    key_id: str = Field(max_length=32)
    scopes: list[str] = json_field(list)
    expires_at: datetime | None = time_field()
    owner_id: str | None = foreign_key("user.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
