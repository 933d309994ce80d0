"""/approvals: the approver's inbox, pending first and due soonest, with search, filters and bulk decisions."""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.common import empty_state, loading, status_badge
from hitl_studio.ui.components.layout import app_page
from hitl_studio.ui.components.paging import pager
from hitl_studio.ui.state.approvals_inbox import (
    ANY,
    EVERYTHING,
    MINE,
    PAGE_SIZE,
    ROUTE,
    STATUSES,
    ApprovalRow,
    ApprovalsState,
    BulkFailure,
)

__all__ = ["ROUTE", "ApprovalsState", "approvals_page"]

State = ApprovalsState


def _filters() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.segmented_control.root(
                rx.segmented_control.item("Waiting for me", value=MINE, data_testid="scope-mine"),
                rx.segmented_control.item(
                    rx.cond(State.is_admin, "All requests", "All I can see"), value=EVERYTHING, data_testid="scope-all"
                ),
                value=State.scope,
                on_change=State.set_scope,
            ),
            rx.cond(
                State.scope == EVERYTHING,
                rx.select.root(
                    rx.select.trigger(width="150px", data_testid="filter-approval-status"),
                    rx.select.content(
                        rx.select.item("Any status", value=ANY), *[rx.select.item(s, value=s) for s in STATUSES]
                    ),
                    value=State.status_filter,
                    on_change=State.set_status_filter,
                ),
                rx.fragment(),
            ),
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder="Search title and description",
                value=State.search,
                on_change=State.set_search.debounce(300),
                width="280px",
                data_testid="approval-search",
            ),
            rx.spacer(),
            rx.text(State.total, " requests", size="2", color_scheme="gray", data_testid="approval-total"),
            align="center",
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            State.search_error != "",
            rx.text(State.search_error, color_scheme="red", size="2", data_testid="search-error"),
            rx.fragment(),
        ),
        width="100%",
        margin_bottom="1em",
    )


def _bulk_bar() -> rx.Component:
    return rx.cond(
        State.can_decide_approvals & (State.selected.length() > 0),
        rx.card(
            rx.hstack(
                rx.text(State.selected.length(), " selected", weight="medium", size="2", data_testid="bulk-count"),
                rx.input(
                    placeholder="Feedback for all of them (optional)",
                    value=State.bulk_feedback,
                    on_change=State.set_bulk_feedback,
                    flex="1",
                    data_testid="bulk-feedback",
                ),
                rx.button(
                    rx.icon("check", size=16),
                    "Approve selected",
                    on_click=State.decide_selected("approve"),
                    color_scheme="green",
                    data_testid="bulk-approve",
                ),
                rx.button(
                    rx.icon("x", size=16),
                    "Reject selected",
                    on_click=State.decide_selected("reject"),
                    color_scheme="red",
                    variant="soft",
                    data_testid="bulk-reject",
                ),
                rx.button("Clear", on_click=State.toggle_all(False), variant="ghost", color_scheme="gray"),
                align="center",
                spacing="3",
                width="100%",
            ),
            width="100%",
            margin_bottom="1em",
            data_testid="bulk-bar",
        ),
        rx.fragment(),
    )


def _failure(failure: BulkFailure) -> rx.Component:
    return rx.text(rx.text.strong(failure.title), ": ", failure.error, size="2")


def _failures() -> rx.Component:
    return rx.cond(
        State.bulk_failures.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.text("These requests were not decided:", weight="medium", size="2"),
                rx.foreach(State.bulk_failures, _failure),
                rx.button("Dismiss", on_click=State.dismiss_failures, size="1", variant="soft"),
                spacing="1",
            ),
            color_scheme="amber",
            width="100%",
            margin_bottom="1em",
            data_testid="bulk-failures",
        ),
        rx.fragment(),
    )


def _due(row: ApprovalRow) -> rx.Component:
    return rx.cond(
        row.due != "",
        rx.tooltip(
            rx.text(
                rx.cond(row.overdue, "overdue, ", ""),
                row.due,
                size="2",
                color_scheme=rx.cond(row.overdue, "red", "gray"),
            ),
            content=row.due_at,
        ),
        rx.text("no deadline", size="1", color_scheme="gray"),
    )


def _approval_row(row: ApprovalRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.cond(
                row.pending & State.can_decide_approvals,
                rx.checkbox(
                    checked=State.selected.contains(row.id),
                    on_change=lambda chosen: State.toggle(row.id, chosen),
                    data_testid="select-approval",
                ),
                rx.fragment(),
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.link(
                    row.title,
                    href=f"/approvals/{row.id}",
                    weight="medium",
                    high_contrast=True,
                    data_testid="approval-link",
                ),
                rx.cond(
                    row.action_type != "",
                    rx.code(row.action_type, size="1", variant="ghost", color_scheme="gray"),
                    rx.fragment(),
                ),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(rx.text(row.requester, size="2")),
        rx.table.cell(status_badge(row.status, data_testid="approval-status")),
        rx.table.cell(_due(row)),
        rx.table.cell(rx.text(row.created, size="2", color_scheme="gray")),
        align="center",
        data_testid="approval-row",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(
                    rx.cond(
                        State.can_decide_approvals & (State.rows.length() > 0),
                        rx.checkbox(
                            checked=State.all_selected,
                            on_change=State.toggle_all,
                            title="Select every pending request on this page",
                            data_testid="select-all-approvals",
                        ),
                        rx.fragment(),
                    ),
                    width="40px",
                ),
                rx.table.column_header_cell("Request"),
                rx.table.column_header_cell("Requested by"),
                rx.table.column_header_cell("Status"),
                rx.table.column_header_cell("Due"),
                rx.table.column_header_cell("Asked"),
            )
        ),
        rx.table.body(rx.foreach(State.rows, _approval_row)),
        variant="surface",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.cond(
        State.filtered,
        empty_state(
            "search-x",
            "No request matches",
            "Change the search or the status filter to see more requests.",
            data_testid="approvals-empty",
        ),
        rx.cond(
            State.scope == MINE,
            empty_state(
                "inbox",
                "Nothing waits for you",
                "New requests addressed to you appear here the moment they are made, from workflows "
                "and from agents. Switch to All to see decided ones.",
                data_testid="approvals-empty",
            ),
            empty_state(
                "inbox",
                "No approval requests yet",
                "Requests come from a workflow's Approval node or from an agent calling POST /api/v1/approvals.",
                data_testid="approvals-empty",
            ),
        ),
    )


def approvals_page() -> rx.Component:
    return app_page(
        "Approvals",
        _filters(),
        _failures(),
        _bulk_bar(),
        rx.cond(State.loaded, rx.cond(State.rows.length() > 0, _table(), _empty()), loading()),
        pager(State.offset, PAGE_SIZE, State.total, State.page, test_id="approvals-pager"),
    )
