"""Pieces every screen uses the same way: status badges, empty states, confirmations.

One place for each, so a run's status has one colour everywhere and every
destructive button asks the same way.
"""

from __future__ import annotations

import reflex as rx

STATUS_COLOURS: dict[str, str] = {
    # runs
    "queued": "gray",
    "running": "blue",
    "waiting": "amber",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "gray",
    "crashed": "red",
    # approvals
    "pending": "amber",
    "approved": "green",
    "rejected": "red",
    "timeout": "orange",
    "executing": "blue",
    "completed": "green",
    # deliveries
    "sent": "green",
    "delivered": "green",
    "retrying": "amber",
}
"""Radix colour per status value; anything else shows gray."""


def status_colour(status: rx.Var[str] | str) -> rx.Var[str]:
    """The Radix colour for ``status`` (a Var in pages, a string in tests)."""
    status_var = rx.Var.create(status)
    return rx.match(status_var, *[(name, colour) for name, colour in STATUS_COLOURS.items()], "gray")


def status_badge(status: rx.Var[str] | str, **props: object) -> rx.Component:
    """A run's or request's status as a soft badge in its colour."""
    return rx.badge(status, color_scheme=status_colour(status), variant="soft", **props)


def empty_state(icon: str, title: str, hint: str, action: rx.Component | None = None, **props: object) -> rx.Component:
    """What an empty list shows: what would be here, and what to do to fill it."""
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=32, color=rx.color("gray", 9)),
            rx.heading(title, size="4"),
            rx.text(hint, color_scheme="gray", size="2", text_align="center", max_width="420px"),
            action or rx.fragment(),
            align="center",
            spacing="3",
        ),
        padding="3em",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
        width="100%",
        **props,
    )


def confirm_button(
    trigger: rx.Component,
    *,
    title: str,
    description: rx.Component | str,
    confirm_label: str,
    on_confirm: rx.event.EventType,
    confirm_testid: str,
    colour: str = "red",
) -> rx.Component:
    """``trigger`` opens a dialog; only its confirm button runs ``on_confirm``."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(confirm_label, color_scheme=colour, on_click=on_confirm, data_testid=confirm_testid)
                ),
                justify="end",
                spacing="3",
                margin_top="1em",
            ),
        ),
    )


def loading(**props: object) -> rx.Component:
    """A centred spinner for a panel whose data is on its way."""
    return rx.center(rx.spinner(size="3"), padding="3em", width="100%", **props)
