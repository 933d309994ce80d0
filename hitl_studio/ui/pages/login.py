"""/login: email and password, with throttling messages and a redirect back where you were."""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from hitl_studio.services import auth
from hitl_studio.services.errors import NotAuthenticated, Throttled
from hitl_studio.ui.state.session import SessionState, home_for

ROUTE = "/login"


class LoginState(SessionState):
    error: str = ""
    submitting: bool = False

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        """Skip the form when the browser is already signed in."""
        self.error = ""
        user = await asyncio.to_thread(auth.user_for_session, self.token)
        if user is not None:
            self._remember(user)
            return rx.redirect(home_for(user.role))
        return None

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
            signed_in = await asyncio.to_thread(
                auth.login,
                email,
                password,
                ip=self.router.session.client_ip or None,
                user_agent=self.router.headers.user_agent or None,
            )
        except (NotAuthenticated, Throttled) as err:
            self.error = err.message
            return
        finally:
            self.submitting = False
        self.token = signed_in.token
        self._remember(signed_in.user)
        target = self.router.url.query_parameters.get("next", "")
        safe_target = target if target.startswith("/") and not target.startswith("//") else home_for(self.user_role)
        yield rx.redirect(safe_target)


def login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.icon("workflow", size=28, color=rx.color("indigo", 9)),
                        rx.heading("HITL Studio", size="6"),
                        align="center",
                        spacing="2",
                    ),
                    rx.text("Sign in to build workflows and answer approvals.", color_scheme="gray", size="2"),
                    rx.text("Email", size="2", weight="medium", as_="label", html_for="email"),
                    rx.input(
                        id="email", name="email", type="email", placeholder="you@example.com", width="100%", size="3"
                    ),
                    rx.text("Password", size="2", weight="medium", as_="label", html_for="password"),
                    rx.input(id="password", name="password", type="password", width="100%", size="3"),
                    rx.cond(
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
                    ),
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
            ),
            size="4",
            width="400px",
        ),
        height="100vh",
        background=rx.color("gray", 2),
    )
