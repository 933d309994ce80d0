"""The frame around every signed-in page: navigation by role, the user menu, the theme switch."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.models.users import Role
from hitl_studio.ui.state.session import SessionState


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    icon: str
    admin_only: bool = False
    permission: Permission | None = None
    """Shown only to roles that carry this permission (for pages beyond admins, e.g. builders too)."""


NAV_ITEMS = (
    NavItem("Workflows", "/workflows", "workflow"),
    NavItem("Executions", "/executions", "history"),
    NavItem("Approvals", "/approvals", "inbox"),
    NavItem("Users", "/users", "users", admin_only=True),
    NavItem("API keys", "/api-keys", "key-round"),
    NavItem("Credentials", "/credentials", "lock-keyhole", permission=Permission.MANAGE_CREDENTIALS),
    NavItem("Audit log", "/audit", "scroll-text", admin_only=True),
    NavItem("Settings", "/settings", "settings"),
)


def _nav_link(item: NavItem) -> rx.Component:
    # A detail page (/executions/<id>) keeps its list's entry lit.
    active = (SessionState.current_path == item.href) | SessionState.current_path.startswith(item.href + "/")
    link = rx.link(
        rx.hstack(rx.icon(item.icon, size=16), rx.text(item.label, size="2"), align="center", spacing="2"),
        href=item.href,
        underline="none",
        color_scheme=rx.cond(active, "indigo", "gray"),
        high_contrast=True,
        weight=rx.cond(active, "bold", "regular"),
        padding_x="0.75em",
        padding_y="0.5em",
        border_radius="var(--radius-2)",
        background=rx.cond(active, rx.color("indigo", 3), "transparent"),
        width="100%",
        data_testid=f"nav-{item.href.strip('/')}",
    )
    if item.permission is not None:
        roles = [role.value for role in Role if allowed(role, item.permission)]
        return rx.cond(rx.Var.create(roles).contains(SessionState.user_role), link, rx.fragment())
    return rx.cond(SessionState.is_admin, link, rx.fragment()) if item.admin_only else link


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon("workflow", size=22, color=rx.color("indigo", 9)),
            rx.heading("HITL Studio", size="4"),
            align="center",
            spacing="2",
            padding_bottom="1em",
        ),
        *[_nav_link(item) for item in NAV_ITEMS],
        rx.spacer(),
        rx.link(
            rx.hstack(rx.icon("book-open", size=16), rx.text("API docs", size="2"), spacing="2"),
            href=SessionState.api_docs_url,
            is_external=True,
            color_scheme="gray",
            size="2",
        ),
        width="220px",
        min_width="220px",
        height="100vh",
        padding="1.25em 0.75em",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        position="sticky",
        top="0",
        spacing="1",
    )


def user_menu() -> rx.Component:
    return rx.hstack(
        rx.color_mode.button(size="2", variant="ghost"),
        rx.vstack(
            rx.text(SessionState.display_name, size="2", weight="medium", data_testid="current-user"),
            rx.badge(SessionState.user_role, size="1", variant="soft"),
            spacing="0",
            align="end",
        ),
        rx.button(
            rx.icon("log-out", size=16),
            "Log out",
            on_click=SessionState.logout,
            variant="soft",
            color_scheme="gray",
            size="2",
            data_testid="logout",
        ),
        align="center",
        spacing="4",
    )


def app_page(title: str, *children: rx.Component, actions: rx.Component | None = None) -> rx.Component:
    """A signed-in page: nothing is shown until the session is checked, so no data flashes."""
    body = rx.hstack(
        sidebar(),
        rx.box(
            rx.hstack(
                rx.heading(title, size="6"),
                rx.spacer(),
                actions or rx.fragment(),
                user_menu(),
                align="center",
                width="100%",
                padding_bottom="1.5em",
            ),
            *children,
            flex="1",
            padding="1.5em 2em",
            min_width="0",
        ),
        spacing="0",
        align="start",
        width="100%",
    )
    loading = rx.center(rx.spinner(size="3"), height="100vh")
    return rx.cond(SessionState.signed_in, body, loading)


def field_error(message: rx.Var[str]) -> rx.Component:
    """A red line under a form field; renders nothing when ``message`` is empty."""
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="1"), rx.fragment())


def form_field(label: str, control: rx.Component, error: rx.Var[str]) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium", as_="label"),
        rx.box(
            control,
            width="100%",
            border_radius="var(--radius-2)",
            outline=rx.cond(error != "", f"2px solid {rx.color('red', 9)}", "none"),
        ),
        field_error(error),
        spacing="1",
        width="100%",
    )
