"""User groups (admins): approvals address them as ``group:<name>``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import groups

router = APIRouter(prefix="/groups", tags=["groups"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, description="Approvals address the group as group:<name>.")
    description: str = Field(default="", max_length=1000)


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=1000)


@router.post("", status_code=201, summary="Create a group")
def create_group(body: GroupCreate, admin: Admin) -> dict[str, Any]:
    return groups.create_group(body.name, actor=admin, description=body.description)


@router.get("", summary="Every group with its members")
def list_groups(_admin: Admin) -> list[dict[str, Any]]:
    return groups.list_groups()


@router.get("/{group_id}", summary="One group with its members")
def get_group(group_id: str, _admin: Admin) -> dict[str, Any]:
    return groups.get_group(group_id)


@router.patch("/{group_id}", summary="Rename a group or change its description (409 while pending requests name it)")
def update_group(group_id: str, body: GroupUpdate, admin: Admin) -> dict[str, Any]:
    return groups.update_group(group_id, actor=admin, name=body.name, description=body.description)


@router.delete("/{group_id}", status_code=204, summary="Delete a group (409 while pending requests name it)")
def delete_group(group_id: str, admin: Admin) -> None:
    groups.delete_group(group_id, actor=admin)


@router.put("/{group_id}/members/{user_id}", summary="Add a user to a group (no change if already in it)")
def add_member(group_id: str, user_id: str, admin: Admin) -> dict[str, Any]:
    return groups.add_member(group_id, user_id, actor=admin)


@router.delete("/{group_id}/members/{user_id}", summary="Take a user out of a group")
def remove_member(group_id: str, user_id: str, admin: Admin) -> dict[str, Any]:
    return groups.remove_member(group_id, user_id, actor=admin)
