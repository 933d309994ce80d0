"""/audit (admins): who did what, when; filters, search and paging. Read-only by design."""

from __future__ import annotations

from typing import Any

import reflex as rx

from hitl_studio.ui.components.common import empty_state, loading
from hitl_studio.ui.components.layout import app_page, form_field
from hitl_studio.ui.state.audit import ANY, AuditRow, AuditState

ROUTE = "/audit"


def _menu(
    value: rx.Var[str], choices: rx.Var[list[str]], everything: str, on_change: Any, test_id: str
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", data_testid=test_id),
        rx.select.content(
            rx.select.item(everything, value=ANY),
            rx.foreach(choices, lambda choice: rx.select.item(choice, value=choice)),
        ),
        value=value,
        on_change=on_change,
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.grid(
            form_field(
                "Actor",
                rx.input(
                    name="actor",
                    default_value=AuditState.actor,
                    placeholder="email or label",
                    data_testid="audit-actor",
                ),
                rx.Var.create(""),
            ),
            form_field(
                "Action",
                _menu(AuditState.action, AuditState.actions, "All actions", AuditState.set_action, "audit-action"),
                rx.Var.create(""),
            ),
            form_field(
                "Target",
                _menu(
                    AuditState.target_type,
                    AuditState.target_types,
                    "All targets",
                    AuditState.set_target_type,
                    "audit-target-type",
                ),
                rx.Var.create(""),
            ),
            form_field(
                "From",
                rx.input(name="since", type="date", default_value=AuditState.since, data_testid="audit-since"),
                AuditState.since_error,
            ),
            form_field(
                "To",
                rx.input(name="until", type="date", default_value=AuditState.until, data_testid="audit-until"),
                AuditState.until_error,
            ),
            columns="5",
            spacing="3",
            width="100%",
        ),
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                name="search",
                default_value=AuditState.search,
                placeholder="Search actors, actions, targets and recorded fields",
                width="420px",
                data_testid="audit-search",
            ),
            rx.button(rx.icon("filter", size=14), "Apply", type="submit", data_testid="audit-apply"),
            rx.cond(
                AuditState.filtered,
                rx.button(
                    "Clear",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=AuditState.clear,
                    data_testid="audit-clear",
                ),
                rx.fragment(),
            ),
            spacing="2",
            align="center",
            margin_top="0.75em",
        ),
        on_submit=AuditState.apply,
        reset_on_submit=False,
        key=AuditState.form_key,
        margin_bottom="1em",
    )


def _details(row: AuditRow) -> rx.Component:
    return rx.cond(
        row.details != "",
        rx.popover.root(
            rx.popover.trigger(rx.button("Details", size="1", variant="ghost", data_testid="audit-details")),
            rx.popover.content(
                rx.el.pre(row.details, font_size="12px", margin="0", white_space="pre-wrap"),
                max_width="480px",
                max_height="360px",
                overflow="auto",
            ),
        ),
        rx.fragment(),
    )


def _row(row: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.tooltip(rx.text(row.ago, size="2"), content=row.at)),
        rx.table.cell(rx.text(row.actor, size="2")),
        rx.table.cell(rx.code(row.action, variant="ghost")),
        rx.table.cell(
            rx.vstack(
                rx.text(row.target_type, size="1", color_scheme="gray"),
                rx.text(row.target_id, size="2", trim="both", max_width="260px", overflow_wrap="anywhere"),
                spacing="0",
            )
        ),
        rx.table.cell(rx.text(row.ip, size="2", color_scheme="gray")),
        rx.table.cell(_details(row)),
        data_testid="audit-row",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("When"),
                rx.table.column_header_cell("Actor"),
                rx.table.column_header_cell("Action"),
                rx.table.column_header_cell("Target"),
                rx.table.column_header_cell("Address"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(AuditState.rows, _row)),
        variant="surface",
        width="100%",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(AuditState.showing, size="2", color_scheme="gray", data_testid="audit-count"),
        rx.spacer(),
        rx.icon_button(
            rx.icon("chevron-left", size=16),
            on_click=AuditState.previous_page,
            disabled=~AuditState.has_previous,
            variant="soft",
            title="Newer",
            data_testid="audit-previous",
        ),
        rx.icon_button(
            rx.icon("chevron-right", size=16),
            on_click=AuditState.next_page,
            disabled=~AuditState.has_next,
            variant="soft",
            title="Older",
            data_testid="audit-next",
        ),
        align="center",
        width="100%",
        margin_top="1em",
    )


def audit_page() -> rx.Component:
    empty = rx.cond(
        AuditState.filtered,
        empty_state("search-x", "Nothing matches", "Loosen the filters, or clear them to see everything."),
        empty_state("scroll-text", "The log is empty", "Sign-ins, admin actions and credential use appear here."),
    )
    return app_page(
        "Audit log",
        rx.text(
            "Every admin action, sign-in, failed sign-in, role change, approval decision and credential use. "
            "Entries cannot be changed or deleted.",
            color_scheme="gray",
            size="2",
            margin_bottom="1em",
        ),
        _filters(),
        rx.cond(
            AuditState.loaded,
            rx.cond(AuditState.rows.length() > 0, rx.fragment(_table(), _pager()), empty),
            loading(),
        ),
    )
