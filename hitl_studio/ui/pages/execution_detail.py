"""/executions/{id}: a run's header, its per-node timeline, and each step's input and output items."""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.common import confirm_button, empty_state, loading, status_badge
from hitl_studio.ui.components.items_view import items_view
from hitl_studio.ui.components.layout import app_page
from hitl_studio.ui.state.execution_detail import ROUTE, Branch, ExecutionDetailState, StepRow

__all__ = ["ROUTE", "ExecutionDetailState", "execution_detail_page"]

State = ExecutionDetailState


def _fact(label: str, value: rx.Component | rx.Var | str, test_id: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        value if isinstance(value, rx.Component) else rx.text(value, size="2", data_testid=test_id),
        spacing="1",
        min_width="110px",
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.cond(
            State.can_run_workflows & State.retryable,
            rx.button(rx.icon("rotate-ccw", size=16), "Retry", on_click=State.retry, data_testid="retry-run"),
            rx.fragment(),
        ),
        rx.cond(
            State.can_run_workflows & State.is_active,
            confirm_button(
                rx.button(
                    rx.icon("square", size=16),
                    "Cancel run",
                    color_scheme="red",
                    variant="soft",
                    data_testid="cancel-run",
                ),
                title="Cancel this run?",
                description="A queued or waiting run stops at once, a running one after its current node; "
                "its pending approvals are withdrawn.",
                confirm_label="Cancel run",
                on_confirm=State.cancel,
                confirm_testid="confirm-cancel-run",
            ),
            rx.fragment(),
        ),
        rx.link(
            rx.button(rx.icon("workflow", size=16), "Open on canvas", variant="soft", data_testid="open-on-canvas"),
            href=State.canvas_url,
        ),
        spacing="2",
        margin_right="1em",
    )


def _header() -> rx.Component:
    run = State.run
    return rx.card(
        rx.vstack(
            rx.hstack(
                status_badge(run.status, size="3", data_testid="run-status"),
                rx.link(
                    rx.heading(run.workflow_name, size="5"),
                    href=f"/workflows/{run.workflow_id}",
                    high_contrast=True,
                    underline="hover",
                    data_testid="run-workflow",
                ),
                rx.text("v", run.version, size="2", color_scheme="gray"),
                rx.cond(State.is_active, rx.spinner(size="2"), rx.fragment()),
                align="center",
                spacing="3",
            ),
            rx.hstack(
                _fact("Mode", rx.badge(run.mode, variant="outline", color_scheme="gray", width="fit-content")),
                _fact("Created", run.created),
                _fact("Started", rx.cond(run.started != "", run.started, "not yet")),
                _fact("Finished", rx.cond(run.finished != "", run.finished, "—")),
                _fact("Duration", run.duration, "run-duration"),
                _fact("Run id", rx.code(run.id, size="1", variant="ghost")),
                spacing="6",
                wrap="wrap",
            ),
            rx.cond(
                run.retry_of_id != "",
                rx.text(
                    "A retry of ",
                    rx.link("run …", run.retry_of_id[-8:], href=f"/executions/{run.retry_of_id}"),
                    ".",
                    size="2",
                    color_scheme="gray",
                ),
                rx.fragment(),
            ),
            rx.cond(
                run.error_message != "",
                rx.callout.root(
                    rx.callout.icon(rx.icon("circle-alert")),
                    rx.callout.text(
                        rx.cond(run.error_node != "", rx.text.strong(run.error_node, ": "), rx.fragment()),
                        run.error_message,
                    ),
                    color_scheme="red",
                    data_testid="run-error",
                ),
                rx.fragment(),
            ),
            rx.cond(
                run.waiting_node != "",
                rx.callout.root(
                    rx.callout.icon(rx.icon("hourglass")),
                    rx.callout.text(
                        "Paused at ",
                        rx.text.strong(run.waiting_node),
                        ": it continues when the approval, form or webhook it waits for answers.",
                    ),
                    color_scheme="amber",
                    data_testid="run-waiting",
                ),
                rx.fragment(),
            ),
            spacing="4",
        ),
        width="100%",
        margin_bottom="1.25em",
    )


def _step(row: StepRow, *, live: bool) -> rx.Component:
    """A timeline entry; stored steps open their items on click, live ones (still running) cannot yet."""
    chosen = (State.selected == row.index) if not live else False
    items_in = rx.fragment() if live else rx.text("in ", rx.text.strong(row.items_in), size="1", color_scheme="gray")
    return rx.box(
        rx.hstack(
            status_badge(row.status, data_testid="step-status"),
            rx.text(row.node, weight="medium", size="2", data_testid="step-node"),
            rx.spacer(),
            rx.text(row.started, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.hstack(
            items_in,
            rx.cond(
                row.items_out != "",
                rx.text(
                    "out ", rx.text.strong(row.items_out), size="1", color_scheme="gray", data_testid="step-items-out"
                ),
                rx.fragment(),
            ),
            rx.spacer(),
            rx.text(row.duration, size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            row.error != "",
            rx.text(row.error, size="1", color_scheme="red", data_testid="step-error"),
            rx.fragment(),
        ),
        padding="0.6em 0.75em",
        border_radius="var(--radius-3)",
        border=rx.cond(chosen, f"1px solid {rx.color('indigo', 8)}", f"1px solid {rx.color('gray', 5)}"),
        background=rx.cond(chosen, rx.color("indigo", 2), rx.color("gray", 1)),
        cursor="default" if live else "pointer",
        width="100%",
        data_testid="live-step" if live else "step",
        **({} if live else {"on_click": State.select_step(row.index)}),
    )


def _timeline() -> rx.Component:
    return rx.vstack(
        rx.text("Timeline", weight="medium", size="2"),
        rx.foreach(State.steps, lambda row: _step(row, live=False)),
        rx.foreach(State.live_steps, lambda row: _step(row, live=True)),
        rx.cond(
            (State.steps.length() == 0) & (State.live_steps.length() == 0),
            rx.text(
                rx.cond(State.is_active, "Nodes appear here as they run.", "No node ran in this run."),
                size="2",
                color_scheme="gray",
            ),
            rx.fragment(),
        ),
        spacing="2",
        width="320px",
        min_width="280px",
        data_testid="timeline",
    )


def _branch_item(branch: Branch, index: int) -> rx.Component:
    return rx.select.item(branch.label, " (", branch.count, ")", value=index.to_string())


def _items_panel() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(State.selected_node, weight="medium", size="3", data_testid="selected-step"),
            rx.spacer(),
            rx.cond(
                State.branches.length() > 1,
                rx.select.root(
                    rx.select.trigger(data_testid="step-branch"),
                    rx.select.content(rx.foreach(State.branches, _branch_item)),
                    value=State.branch.to_string(),
                    on_change=State.set_branch,
                    size="1",
                ),
                rx.fragment(),
            ),
            rx.segmented_control.root(
                rx.segmented_control.item("Input", value="input", data_testid="step-side-input"),
                rx.segmented_control.item("Output", value="output", data_testid="step-side-output"),
                value=State.side,
                on_change=State.set_side,
                size="1",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        items_view(
            State.shown_items,
            test_id="step-items",
            empty_hint=rx.cond(State.side == "input", "This step received no items.", "This step produced no items."),
        ),
        spacing="3",
        flex="1",
        min_width="0",
    )


def _body() -> rx.Component:
    return rx.vstack(
        _header(),
        rx.hstack(
            _timeline(),
            rx.cond(
                State.selected >= 0,
                rx.card(_items_panel(), flex="1", min_width="0"),
                rx.fragment(),
            ),
            align="start",
            spacing="5",
            width="100%",
        ),
        width="100%",
        spacing="0",
    )


def execution_detail_page() -> rx.Component:
    return app_page(
        "Run",
        rx.cond(
            State.loaded,
            rx.cond(
                State.missing != "",
                empty_state(
                    "search-x",
                    "This run does not exist",
                    "It may have been deleted with its workflow. Find runs on the Executions page.",
                    action=rx.link(rx.button("All runs", variant="soft"), href="/executions"),
                    data_testid="run-missing",
                ),
                _body(),
            ),
            loading(),
        ),
        actions=rx.cond(State.loaded & (State.missing == ""), _actions(), rx.fragment()),
    )
