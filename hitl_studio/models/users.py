"""People and the ways they prove who they are: users, groups, browser sessions, API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hitl_studio.models._columns import created_at_field, foreign_key, id_field, json_field, time_field


class Role(StrEnum):
    """What a user may do; the permission matrix lives in :mod:`hitl_studio.auth.roles`."""

    ADMIN = "admin"
    BUILDER = "builder"
    APPROVER = "approver"
    VIEWER = "viewer"


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: str = id_field()
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.VIEWER, max_length=16)
    active: bool = Field(default=True)
    phone: str | None = Field(default=None, max_length=32)
    slack_user_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    last_login_at: datetime | None = time_field()


class UserGroup(SQLModel, table=True):
    """A named set of users; approvals can be addressed to ``group:<name>``."""

    __tablename__ = "user_group"

    id: str = id_field()
    name: str = Field(max_length=100, unique=True, index=True)
    description: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()


class UserGroupMember(SQLModel, table=True):
    __tablename__ = "user_group_member"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: str = id_field()
    group_id: str = foreign_key("user_group.id")
    user_id: str = foreign_key("user.id")


class UserSession(SQLModel, table=True):
    """A signed-in browser; only the SHA-256 of its token is stored."""

    __tablename__ = "user_session"

    id: str = id_field()
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: str = foreign_key("user.id")
    created_at: datetime = created_at_field()
    expires_at: datetime = created_at_field(index=True)
    last_seen_at: datetime = created_at_field()
    revoked_at: datetime | None = time_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=500)


class ApiKey(SQLModel, table=True):
    """An agent's key; the plaintext is shown once and only its SHA-256 is kept."""

    __tablename__ = "api_key"

    id: str = id_field()
    user_id: str = foreign_key("user.id")
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    scopes: list[str] = json_field(list)
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = time_field()
    expires_at: datetime | None = time_field()
    revoked_at: datetime | None = time_field()
