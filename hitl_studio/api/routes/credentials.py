"""Credentials over HTTP. Responses never carry a secret: fields show as set or unset."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import require
from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import credentials

router = APIRouter(prefix="/credentials", tags=["credentials"])
Manager = Annotated[User, Depends(require(Permission.MANAGE_CREDENTIALS))]


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)
    shared_with: list[str] = Field(default_factory=list, description="Ids of users whose workflows may use it.")


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] | None = Field(default=None, description="Only the fields to change.")
    shared_with: list[str] | None = None


@router.post("", status_code=201, summary="Store a credential (encrypted); the response never echoes data")
def create_credential(body: CredentialCreate, user: Manager) -> dict[str, Any]:
    created = credentials.create_credential(body.name, body.type, body.data, actor=user, shared_with=body.shared_with)
    return credentials.public_fields(created)


@router.get("", summary="Credentials you own or that are shared with you (admins: all)")
def list_credentials(user: Manager) -> list[dict[str, Any]]:
    return [credentials.public_fields(row) for row in credentials.list_credentials(user)]


@router.get("/{credential_id}", summary="A credential's metadata and which fields are set")
def get_credential(credential_id: str, user: Manager) -> dict[str, Any]:
    return credentials.public_fields(credentials.get_credential(credential_id, user))


@router.put("/{credential_id}", summary="Rename, change some fields, or change sharing")
def update_credential(credential_id: str, body: CredentialUpdate, user: Manager) -> dict[str, Any]:
    updated = credentials.update_credential(
        credential_id, actor=user, name=body.name, data=body.data, shared_with=body.shared_with
    )
    return credentials.public_fields(updated)


@router.delete("/{credential_id}", status_code=204, summary="Delete a credential")
def delete_credential(credential_id: str, user: Manager) -> None:
    credentials.delete_credential(credential_id, actor=user)


@router.post("/{credential_id}/test", summary="Test the credential against its service")
def test_credential(credential_id: str, user: Manager) -> dict[str, str]:
    return {"status": "ok", "message": credentials.test_credential(credential_id, actor=user)}
