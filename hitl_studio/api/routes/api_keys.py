"""API keys: every user manages their own; admins see and revoke everyone's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import api_keys

router = APIRouter(prefix="/api-keys", tags=["api keys"])
KeyUser = Annotated[User, Depends(require(Permission.USE_API_KEYS))]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)


@router.post("", status_code=201, summary="Create an API key; the key is in this response only")
def create_api_key(body: ApiKeyCreate, user: KeyUser) -> dict[str, Any]:
    created = api_keys.create_api_key(user, body.name)
    return {**api_keys.public_fields(created.api_key), "key": created.secret}


@router.get("", summary="List API keys (yours; admins may pass all=true)")
def list_api_keys(user: KeyUser, all: bool = False) -> list[dict[str, Any]]:
    return [api_keys.public_fields(key) for key in api_keys.list_api_keys(user, include_all=all)]


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_api_key(key_id: str, user: KeyUser) -> None:
    api_keys.revoke_api_key(key_id, actor=user)
