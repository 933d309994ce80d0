"""Who is calling: API keys and session tokens as ``Authorization: Bearer``, or the studio's cookie."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.auth.tokens import API_KEY_PREFIX
from hitl_studio.models.users import User
from hitl_studio.services import auth
from hitl_studio.services.errors import Forbidden, NotAuthenticated

SESSION_COOKIE = "hitl_session"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _resolve(request: Request) -> User:
    token = bearer_token(request)
    if token is not None:
        user = auth.user_for_api_key(token) if token.startswith(API_KEY_PREFIX) else auth.user_for_session(token)
        if user is None:
            raise NotAuthenticated("The bearer token is unknown, revoked or expired; create a new API key.")
        return user
    if request.headers.get("authorization"):
        raise NotAuthenticated("Send the key as 'Authorization: Bearer <key>'.")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = auth.user_for_session(cookie)
        if user is not None:
            return user
        raise NotAuthenticated("Your session has ended; sign in again.")
    raise NotAuthenticated("Authentication required: send 'Authorization: Bearer <API key>'.")


async def current_user(request: Request) -> User:
    """The authenticated user; 401 when there is none (database look-ups run off the event loop)."""
    return await run_in_threadpool(_resolve, request)


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: Permission) -> Callable[[User], User]:
    """A dependency that returns the user when their role carries ``permission``, else 403."""

    def check(user: CurrentUser) -> User:
        if not allowed(user.role, permission):
            raise Forbidden(f"Your role ({user.role}) does not allow this; ask an admin.")
        return user

    return check


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
