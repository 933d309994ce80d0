"""/login: email and password, with throttling messages and a redirect back where you were.

On a brand-new studio (no users at all) the same page asks for the owner
account instead, so ``make run`` followed by a browser is all it takes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from hitl_studio.services import auth, users
from hitl_studio.services.errors import NotAuthenticated, ServiceError, Throttled
from hitl_studio.ui.components.layout import form_field
from hitl_studio.ui.state.session import SessionState, home_for

ROUTE = "/login"


class LoginState(SessionState):
    error: str = ""
    submitting: bool = False
    setup_mode: bool = False
    setup_errors: dict[str, str] = {}

    @rx.var
    def setup_email_error(self) -> str:
        return self.setup_errors.get("email", "")

    @rx.var
    def setup_name_error(self) -> str:
        return self.setup_errors.get("name", "")

    @rx.var
    def setup_password_error(self) -> str:
        return self.setup_errors.get("password", "")

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        """Skip the form when the browser is already signed in; offer setup on a new studio."""
        self.error = ""
        self.setup_errors = {}
        user = await asyncio.to_thread(auth.user_for_session, self.token)
        if user is not None:
            self._remember(user)
            return rx.redirect(home_for(user.role))
        self.setup_mode = not await asyncio.to_thread(users.has_users)
        return None

    @rx.event
    async def create_owner(self, form: dict[str, Any]):
        data = users.NewUser(
            email=str(form.get("email", "")),
            name=str(form.get("name", "")),
            role="admin",
            password=str(form.get("password", "")),
        )
        ip = self.router.session.client_ip or None
        try:
            await asyncio.to_thread(users.create_first_admin, data, ip=ip)
        except ServiceError as err:
            self.setup_errors = err.field_errors
            self.error = err.message
            if not err.field_errors:
                self.setup_mode = False
            return None
        self.setup_mode = False
        return await self._sign_in(data.email, data.password)

    async def _sign_in(self, email: str, password: str) -> rx.event.EventSpec | None:
        try:
            signed_in = await asyncio.to_thread(
                auth.login,
                email,
                password,
                ip=self.router.session.client_ip or None,
                user_agent=self.router.headers.user_agent or None,
            )
        except (NotAuthenticated, Throttled) as err:
            self.error = err.message
            return None
        self.token = signed_in.token
        self._remember(signed_in.user)
        target = self.router.url.query_parameters.get("next", "")
        safe_target = target if target.startswith("/") and not target.startswith("//") else home_for(self.user_role)
        return rx.redirect(safe_target)

    @rx.event
    async def submit(self, form: dict[str, Any]):
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        if not email or not password:
            self.error = "Enter your email and password."
            return
        self.submitting = True
        self.error = ""
        yield
        try:
            redirect = await self._sign_in(email, password)
        finally:
            self.submitting = False
        if redirect is not None:
            yield redirect


def _brand(subtitle: str) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("workflow", size=28, color=rx.color("indigo", 9)),
            rx.heading("HITL Studio", size="6"),
            align="center",
            spacing="2",
        ),
        rx.text(subtitle, color_scheme="gray", size="2"),
        spacing="2",
    )


def _error_callout() -> rx.Component:
    return rx.cond(
        LoginState.error != "",
        rx.callout(
            LoginState.error,
            icon="triangle-alert",
            color_scheme="red",
            size="1",
            width="100%",
            data_testid="login-error",
        ),
        rx.fragment(),
    )


def _setup_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _brand("Welcome! Create the owner account: it can add everyone else."),
            form_field(
                "Email",
                rx.input(name="email", type="email", width="100%", size="3", data_testid="setup-email"),
                LoginState.setup_email_error,
            ),
            form_field("Name", rx.input(name="name", width="100%", size="3"), LoginState.setup_name_error),
            form_field(
                "Password (8 characters or more)",
                rx.input(name="password", type="password", width="100%", size="3", data_testid="setup-password"),
                LoginState.setup_password_error,
            ),
            _error_callout(),
            rx.button("Create account and sign in", type="submit", width="100%", size="3", data_testid="setup-submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=LoginState.create_owner,
        reset_on_submit=False,
    )


def login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.cond(LoginState.setup_mode, _setup_form(), _login_form()),
            size="4",
            width="400px",
        ),
        height="100vh",
        background=rx.color("gray", 2),
    )


def _login_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _brand("Sign in to build workflows and answer approvals."),
            rx.text("Email", size="2", weight="medium", as_="label", html_for="email"),
            rx.input(id="email", name="email", type="email", placeholder="you@example.com", width="100%", size="3"),
            rx.text("Password", size="2", weight="medium", as_="label", html_for="password"),
            rx.input(id="password", name="password", type="password", width="100%", size="3"),
            _error_callout(),
            rx.button(
                "Sign in",
                type="submit",
                loading=LoginState.submitting,
                width="100%",
                size="3",
                data_testid="login-submit",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=LoginState.submit,
        reset_on_submit=False,
    )
