"""Session sign-in for scripts and the CLI; the studio's pages sign in through Reflex state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from hitl_studio.api.deps import bearer_token, client_ip
from hitl_studio.services import auth
from hitl_studio.services.users import public_fields

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/login", summary="Exchange an email and password for a session token")
async def login(body: LoginRequest, request: Request) -> dict[str, Any]:
    signed_in = await run_in_threadpool(
        auth.login, body.email, body.password, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    return {
        "token": signed_in.token,
        "expires_at": signed_in.expires_at.isoformat(),
        "user": public_fields(signed_in.user),
    }


@router.post("/logout", status_code=204, summary="End the session whose token is sent as Bearer")
async def logout(request: Request) -> None:
    token = bearer_token(request) or request.cookies.get("hitl_session") or ""
    await run_in_threadpool(auth.logout, token)
