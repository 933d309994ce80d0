"""Managing users (admins only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import users

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]
RoleName = Literal["admin", "builder", "approver", "viewer"]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    role: RoleName = "viewer"
    password: str = Field(max_length=1024)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName | None = None
    active: bool | None = None
    name: str | None = Field(default=None, max_length=200)


@router.post("", status_code=201, summary="Create a user")
def create_user(body: UserCreate, admin: Admin) -> dict[str, Any]:
    new_user = users.NewUser(email=body.email, name=body.name, role=body.role, password=body.password)
    return users.public_fields(users.create_user(new_user, actor=admin))


@router.get("", summary="List users")
def list_users(_admin: Admin) -> list[dict[str, Any]]:
    return [users.public_fields(user) for user in users.list_users()]


@router.get("/{user_id}", summary="One user")
def get_user(user_id: str, _admin: Admin) -> dict[str, Any]:
    return users.public_fields(users.get_user(user_id))


@router.patch("/{user_id}", summary="Change a user's role, name or active flag")
def update_user(user_id: str, body: UserUpdate, admin: Admin) -> dict[str, Any]:
    updated = users.update_user(user_id, actor=admin, role=body.role, active=body.active, name=body.name)
    return users.public_fields(updated)
