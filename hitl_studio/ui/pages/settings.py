"""/settings: my profile, my password and the theme; for admins, the instance and outgoing webhooks."""

from __future__ import annotations

import reflex as rx
from reflex_base.style import color_mode, set_color_mode

from hitl_studio.ui.components.common import confirm_button, empty_state
from hitl_studio.ui.components.layout import app_page, form_field
from hitl_studio.ui.state.session import SessionState
from hitl_studio.ui.state.settings import Fact, SettingsState, WebhookRow

ROUTE = "/settings"
THEMES = (("light", "sun", "Light"), ("dark", "moon", "Dark"), ("system", "monitor", "System"))


def _section(title: str, hint: str, *children: rx.Component, test_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4"),
            rx.text(hint, size="2", color_scheme="gray"),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid=test_id,
    )


def _profile() -> rx.Component:
    return _section(
        "Profile",
        "How the studio names you to others: in approvals, the audit log and the top bar.",
        rx.hstack(
            rx.text("Email", size="2", weight="medium"),
            rx.code(SessionState.user_email),
            rx.badge(SessionState.user_role, variant="soft"),
            align="center",
        ),
        rx.form(
            rx.hstack(
                rx.box(
                    form_field(
                        "Name",
                        rx.input(
                            name="name",
                            default_value=SettingsState.profile_name,
                            placeholder="e.g. Ana Lima",
                            width="100%",
                            data_testid="profile-name",
                        ),
                        SettingsState.name_error,
                    ),
                    width="320px",
                ),
                rx.button("Save name", type="submit", data_testid="profile-save"),
                align="end",
                spacing="3",
            ),
            on_submit=SettingsState.save_profile,
            reset_on_submit=False,
            key=SettingsState.profile_form_key,
        ),
        test_id="settings-profile",
    )


def _password_input(name: str, test_id: str, autocomplete: str) -> rx.Component:
    return rx.input(name=name, type="password", auto_complete=autocomplete, width="100%", data_testid=test_id)


def _password() -> rx.Component:
    return _section(
        "Password",
        "Type your current password to choose a new one. Your other sign-ins end; this one stays.",
        rx.form(
            rx.vstack(
                form_field(
                    "Current password",
                    _password_input("current_password", "current-password", "current-password"),
                    SettingsState.current_password_error,
                ),
                form_field(
                    "New password",
                    _password_input("new_password", "new-password", "new-password"),
                    SettingsState.new_password_error,
                ),
                form_field(
                    "New password again",
                    _password_input("confirm_password", "confirm-password", "new-password"),
                    SettingsState.confirm_password_error,
                ),
                rx.button("Change password", type="submit", data_testid="password-save"),
                spacing="3",
                max_width="320px",
            ),
            on_submit=SettingsState.change_password,
            reset_on_submit=False,
            key=SettingsState.password_form_key,
        ),
        test_id="settings-password",
    )


def _theme() -> rx.Component:
    return _section(
        "Theme",
        "Kept in this browser.",
        rx.segmented_control.root(
            *[
                rx.segmented_control.item(
                    rx.hstack(rx.icon(icon, size=14), label, align="center", spacing="1"),
                    value=value,
                    on_click=set_color_mode(value),  # type: ignore[arg-type]
                )
                for value, icon, label in THEMES
            ],
            value=color_mode,
            data_testid="theme",
        ),
        test_id="settings-theme",
    )


def _fact(fact: Fact) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(fact.label),
        rx.data_list.value(fact.value),
    )


def _instance() -> rx.Component:
    return _section(
        "This studio",
        "Read from the configuration at start-up; change it with environment variables (see the README).",
        rx.data_list.root(rx.foreach(SettingsState.facts, _fact), data_testid="instance-facts"),
        test_id="settings-instance",
    )


def _event_choice(event_type: rx.Var[str]) -> rx.Component:
    return rx.checkbox(
        rx.cond(event_type == "*", "all events", event_type),
        checked=SettingsState.chosen_events.contains(event_type),
        on_change=lambda checked: SettingsState.toggle_event(event_type, checked),
        size="1",
    )


def _new_secret() -> rx.Component:
    return rx.cond(
        SettingsState.new_secret != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("key-round")),
            rx.vstack(
                rx.text("Signing secret for ", rx.text.strong(SettingsState.new_secret_url), ": shown only now."),
                rx.hstack(
                    rx.code(SettingsState.new_secret, data_testid="webhook-secret"),
                    rx.icon_button(
                        rx.icon("copy", size=14),
                        on_click=[rx.set_clipboard(SettingsState.new_secret), rx.toast.info("Copied.")],
                        size="1",
                        variant="soft",
                        title="Copy",
                    ),
                    rx.button("Done", on_click=SettingsState.dismiss_secret, size="1", variant="soft"),
                    align="center",
                ),
                rx.text(
                    "Check X-HITL-Signature on every delivery with it (see hitl_studio.signing.verify_signature).",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="2",
            ),
            color_scheme="green",
        ),
        rx.fragment(),
    )


def _webhook_row(row: WebhookRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row.url, variant="ghost")),
        rx.table.cell(rx.text(row.events, size="2")),
        rx.table.cell(rx.text(row.owner, size="2")),
        rx.table.cell(rx.text(row.created, size="2", color_scheme="gray")),
        rx.table.cell(
            confirm_button(
                rx.button("Delete", size="1", variant="soft", color_scheme="red", data_testid="webhook-delete"),
                title="Delete this subscription?",
                description=rx.text(rx.text.strong(row.url), " stops receiving events, and its delivery history goes."),
                confirm_label="Delete",
                on_confirm=SettingsState.delete_webhook(row.id),
                confirm_testid="confirm-webhook-delete",
            )
        ),
        data_testid="webhook-row",
    )


def _webhooks() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("URL"),
                rx.table.column_header_cell("Events"),
                rx.table.column_header_cell("Owner"),
                rx.table.column_header_cell("Created"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(SettingsState.webhooks, _webhook_row)),
        variant="surface",
        width="100%",
    )
    empty = empty_state(
        "webhook",
        "No subscriptions",
        "Add a URL below to receive approval events as signed POSTs.",
    )
    form = rx.form(
        rx.vstack(
            form_field(
                "URL",
                rx.input(
                    name="url", placeholder="https://example.com/hooks/hitl", width="100%", data_testid="webhook-url"
                ),
                SettingsState.webhook_url_error,
            ),
            form_field(
                "Events",
                rx.flex(rx.foreach(SettingsState.event_types, _event_choice), wrap="wrap", gap="3"),
                SettingsState.webhook_events_error,
            ),
            rx.button(rx.icon("plus", size=14), "Add subscription", type="submit", data_testid="webhook-add"),
            spacing="3",
            width="100%",
        ),
        on_submit=SettingsState.add_webhook,
        reset_on_submit=False,
        key=SettingsState.webhook_form_key,
    )
    return _section(
        "Outgoing webhooks",
        "Approval events POSTed to your URLs, signed with a secret shown once, retried with back-off.",
        _new_secret(),
        rx.cond(SettingsState.webhooks.length() > 0, table, empty),
        form,
        test_id="settings-webhooks",
    )


def settings_page() -> rx.Component:
    return app_page(
        "Settings",
        rx.vstack(
            _profile(),
            _password(),
            _theme(),
            rx.cond(SessionState.is_admin, rx.fragment(_instance(), _webhooks()), rx.fragment()),
            spacing="4",
            max_width="860px",
        ),
    )
