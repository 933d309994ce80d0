"""Who is signed in, for every page: the session cookie and the user it belongs to."""

from __future__ import annotations

import asyncio

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.models.users import Role, User
from hitl_studio.services import auth
from hitl_studio.settings import get_settings

SESSION_COOKIE = "hitl_session"


def home_for(role: str) -> str:
    """The first page a role sees after signing in: approvers their inbox, everyone else the workflows."""
    return "/approvals" if role == Role.APPROVER else "/workflows"


class NotSignedIn(Exception):
    """The browser has no valid session; the handler should send it to /login."""


class SessionState(rx.State):
    """The signed-in user. Every page's state inherits from this one.

    The token lives in a cookie that Reflex writes from the browser, so it
    cannot be HttpOnly; ``same_site="strict"`` keeps other sites from using it.
    Handlers re-check the session on every action (a revoked session or a
    changed role takes effect at once), via :meth:`authorize`.
    """

    token: str = rx.Cookie("", name=SESSION_COOKIE, same_site="strict", path="/")
    user_id: str = ""
    user_email: str = ""
    user_name: str = ""
    user_role: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return self.user_id != ""

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == Role.ADMIN

    @rx.var
    def display_name(self) -> str:
        return self.user_name or self.user_email

    def _remember(self, user: User) -> None:
        self.user_id = user.id
        self.user_email = user.email
        self.user_name = user.name
        self.user_role = user.role

    def _forget(self) -> None:
        self.token = ""
        self.user_id = self.user_email = self.user_name = self.user_role = ""

    async def authorize(self, permission: Permission | None = None) -> User:
        """The current user, refreshed from the database.

        Raises:
            NotSignedIn: No valid session.
            PermissionError: Signed in, but the role lacks ``permission``.
        """
        user = await asyncio.to_thread(auth.user_for_session, self.token)
        if user is None:
            self._forget()
            raise NotSignedIn
        self._remember(user)
        if permission is not None and not allowed(user.role, permission):
            raise PermissionError(f"Your role ({user.role}) cannot do this; ask an admin.")
        return user

    @rx.var
    def current_path(self) -> str:
        """The page's path without the trailing slash a production build's static pages add."""
        return self.router.url.path.rstrip("/") or "/"

    def login_redirect(self) -> rx.event.EventSpec:
        path = self.current_path
        target = "/login" if path in ("/", "/login") else f"/login?next={path}"
        return rx.redirect(target)

    async def guard(self, permission: Permission | None = None) -> rx.event.EventSpec | None:
        """For ``on_load``: ``None`` when the page may show, else the redirect to make."""
        try:
            await self.authorize(permission)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError:
            return [rx.toast.error("That page is not available to your role."), rx.redirect(home_for(self.user_role))]
        return None

    @rx.event
    async def go_home(self) -> rx.event.EventSpec:
        """``/``: send the user to their role's first page, or to sign in."""
        redirect = await self.guard()
        return redirect or rx.redirect(home_for(self.user_role))

    @rx.event
    async def logout(self) -> rx.event.EventSpec:
        token = self.token
        self._forget()
        await asyncio.to_thread(auth.logout, token)
        return rx.redirect("/login")

    @rx.var
    def api_docs_url(self) -> str:
        return f"{get_settings().api_url}/api/v1/docs"
