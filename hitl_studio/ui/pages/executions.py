"""/executions: runs with filters and paging, and a chart of runs per day by status; live."""

from __future__ import annotations

from typing import Any

import reflex as rx

from hitl_studio.ui.components.common import empty_state, loading, status_badge
from hitl_studio.ui.components.layout import app_page
from hitl_studio.ui.components.paging import pager
from hitl_studio.ui.state.executions_list import (
    ANY,
    CHART_DAYS,
    MODES,
    PAGE_SIZE,
    ROUTE,
    STATUSES,
    ExecutionsState,
    RunRow,
    WorkflowChoice,
)

__all__ = ["ROUTE", "ExecutionsState", "executions_page"]

CHART_COLOURS = {
    "succeeded": ("green", 9),
    "failed": ("red", 9),
    "waiting": ("amber", 9),
    "running": ("blue", 9),
    "queued": ("gray", 7),
    "cancelled": ("gray", 10),
}
"""Radix colour and shade per status: the hues of the status badges."""


def _select(value: rx.Var[str], on_change: Any, test_id: str, items: list[rx.Component], width: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width=width, data_testid=test_id),
        rx.select.content(*items),
        value=value,
        on_change=on_change,
        size="2",
    )


def _workflow_item(choice: WorkflowChoice) -> rx.Component:
    return rx.select.item(choice.name, value=choice.id)


def _filters() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _select(
                ExecutionsState.workflow_filter,
                lambda value: ExecutionsState.set_filter("workflow_filter", value),
                "filter-workflow",
                [
                    rx.select.item("All workflows", value=ANY),
                    rx.foreach(ExecutionsState.workflow_choices, _workflow_item),
                ],
                "220px",
            ),
            _select(
                ExecutionsState.status_filter,
                lambda value: ExecutionsState.set_filter("status_filter", value),
                "filter-status",
                [rx.select.item("Any status", value=ANY), *[rx.select.item(s, value=s) for s in STATUSES]],
                "150px",
            ),
            _select(
                ExecutionsState.mode_filter,
                lambda value: ExecutionsState.set_filter("mode_filter", value),
                "filter-mode",
                [rx.select.item("Any mode", value=ANY), *[rx.select.item(m, value=m) for m in MODES]],
                "140px",
            ),
            rx.hstack(
                rx.text("From", size="2", color_scheme="gray"),
                rx.input(
                    type="date",
                    value=ExecutionsState.since,
                    on_change=lambda value: ExecutionsState.set_filter("since", value),
                    data_testid="filter-since",
                ),
                rx.text("to", size="2", color_scheme="gray"),
                rx.input(
                    type="date",
                    value=ExecutionsState.until,
                    on_change=lambda value: ExecutionsState.set_filter("until", value),
                    data_testid="filter-until",
                ),
                align="center",
                spacing="2",
            ),
            rx.cond(
                ExecutionsState.filtered,
                rx.button(
                    rx.icon("x", size=14),
                    "Clear",
                    on_click=ExecutionsState.clear_filters,
                    variant="ghost",
                    color_scheme="gray",
                    size="2",
                    data_testid="clear-filters",
                ),
                rx.fragment(),
            ),
            rx.spacer(),
            rx.text(ExecutionsState.total, " runs", size="2", color_scheme="gray", data_testid="run-total"),
            align="center",
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            ExecutionsState.date_error != "",
            rx.text(ExecutionsState.date_error, color_scheme="red", size="2", data_testid="date-error"),
            rx.fragment(),
        ),
        width="100%",
        margin_bottom="1em",
    )


def _chart() -> rx.Component:
    bars = [
        rx.recharts.bar(
            data_key=status, stack_id="runs", fill=rx.color(colour, shade), name=status, is_animation_active=False
        )
        for status, (colour, shade) in CHART_COLOURS.items()
    ]
    return rx.card(
        rx.hstack(
            rx.text("Runs per day", weight="medium", size="2"),
            rx.text(f"last {CHART_DAYS} days, by status (UTC)", size="1", color_scheme="gray"),
            rx.spacer(),
            rx.text(ExecutionsState.chart_total, " runs", size="1", color_scheme="gray", data_testid="chart-total"),
            align="baseline",
            spacing="2",
            width="100%",
        ),
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False, stroke=rx.color("gray", 5)),
            rx.recharts.x_axis(data_key="day", tick_line=False, tick={"fontSize": 11}, stroke=rx.color("gray", 9)),
            rx.recharts.y_axis(allow_decimals=False, width=32, tick={"fontSize": 11}, stroke=rx.color("gray", 9)),
            rx.recharts.graphing_tooltip(cursor={"fill": rx.color("gray", 3)}),
            rx.recharts.legend(icon_size=10),
            *bars,
            data=ExecutionsState.chart,
            width="100%",
            height=180,
            bar_category_gap="20%",
        ),
        width="100%",
        margin_bottom="1em",
        # The legend is HTML and takes the card's size; the axes' ticks are sized above.
        font_size="12px",
        data_testid="runs-chart",
    )


def _run_row(row: RunRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(status_badge(row.status, data_testid="run-status")),
        rx.table.cell(
            rx.link(row.workflow_name, href=f"/executions/{row.id}", weight="medium", high_contrast=True),
        ),
        rx.table.cell(rx.badge(row.mode, variant="outline", color_scheme="gray")),
        rx.table.cell(rx.tooltip(rx.text(row.started, size="2"), content=row.started_at)),
        rx.table.cell(rx.text(row.duration, size="2", color_scheme="gray")),
        rx.table.cell(rx.code(row.short_id, size="1", variant="ghost", color_scheme="gray")),
        rx.table.cell(
            rx.link(rx.icon("chevron-right", size=16), href=f"/executions/{row.id}", color_scheme="gray"),
        ),
        align="center",
        data_testid="run-row",
        custom_attrs={"data-run-id": row.id},
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Status"),
                rx.table.column_header_cell("Workflow"),
                rx.table.column_header_cell("Mode"),
                rx.table.column_header_cell("Started"),
                rx.table.column_header_cell("Duration"),
                rx.table.column_header_cell("Run"),
                rx.table.column_header_cell("", width="40px"),
            )
        ),
        rx.table.body(rx.foreach(ExecutionsState.rows, _run_row)),
        variant="surface",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.cond(
        ExecutionsState.filtered,
        empty_state(
            "search-x",
            "No run matches these filters",
            "Widen the dates or clear a filter to see more runs.",
            action=rx.button("Clear filters", on_click=ExecutionsState.clear_filters, variant="soft"),
            data_testid="runs-empty",
        ),
        empty_state(
            "play",
            "No runs yet",
            "Runs appear here as they start: press Run on a workflow's canvas, call its webhook, "
            "or activate a schedule. This list updates by itself.",
            action=rx.link(rx.button("Go to workflows", variant="soft"), href="/workflows"),
            data_testid="runs-empty",
        ),
    )


def executions_page() -> rx.Component:
    return app_page(
        "Executions",
        _filters(),
        rx.cond(
            ExecutionsState.loaded,
            rx.vstack(
                _chart(),
                rx.cond(ExecutionsState.rows.length() > 0, _table(), _empty()),
                pager(
                    ExecutionsState.offset, PAGE_SIZE, ExecutionsState.total, ExecutionsState.page, test_id="runs-pager"
                ),
                width="100%",
                spacing="0",
            ),
            loading(),
        ),
    )
