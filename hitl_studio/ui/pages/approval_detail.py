"""/approvals/{id}: what is asked, the form to answer it, approve / reject / approve with edits, and its history."""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.common import empty_state, loading, status_badge
from hitl_studio.ui.components.layout import app_page
from hitl_studio.ui.components.schema_form import schema_form
from hitl_studio.ui.state.approval_detail import ROUTE, ApprovalDetailState, DeliveryRow, EventRow

__all__ = ["ROUTE", "ApprovalDetailState", "approval_detail_page"]

State = ApprovalDetailState


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"), value, spacing="1", min_width="120px")


def _code_block(text: rx.Var[str], test_id: str) -> rx.Component:
    return rx.el.pre(
        text,
        font_family="var(--code-font-family)",
        font_size="12px",
        padding="0.75em",
        margin="0",
        max_height="320px",
        overflow="auto",
        background=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="var(--radius-2)",
        white_space="pre-wrap",
        word_break="break-word",
        width="100%",
        data_testid=test_id,
    )


def _approver(entry: rx.Var[str]) -> rx.Component:
    return rx.badge(entry, variant="soft", color_scheme="gray")


def _summary() -> rx.Component:
    request = State.request
    return rx.card(
        rx.vstack(
            rx.hstack(
                status_badge(request.status, size="3", data_testid="approval-status"),
                rx.heading(request.title, size="5", data_testid="approval-title"),
                align="center",
                spacing="3",
            ),
            rx.cond(
                request.description != "",
                rx.text(request.description, size="2", white_space="pre-wrap", data_testid="approval-description"),
                rx.fragment(),
            ),
            rx.hstack(
                _fact(
                    "Action",
                    rx.cond(
                        request.action_type != "",
                        rx.code(request.action_type, size="2"),
                        rx.text("—", size="2"),
                    ),
                ),
                _fact("Requested by", rx.text(request.requester, size="2", data_testid="approval-requester")),
                _fact(
                    "Due",
                    rx.cond(
                        request.due != "",
                        rx.tooltip(
                            rx.text(
                                rx.cond(request.overdue, "overdue, ", ""),
                                request.due,
                                size="2",
                                color_scheme=rx.cond(request.overdue, "red", "gray"),
                                data_testid="approval-due",
                            ),
                            content=request.due_at,
                        ),
                        rx.text("no deadline", size="2", color_scheme="gray", data_testid="approval-due"),
                    ),
                ),
                _fact("Asked", rx.text(request.created, size="2")),
                _fact(
                    "Approvers",
                    rx.hstack(rx.foreach(request.approvers, _approver), spacing="1", wrap="wrap"),
                ),
                rx.cond(
                    request.quorum > 1,
                    _fact("Approvals", rx.text(request.votes, " of ", request.quorum, size="2")),
                    rx.fragment(),
                ),
                rx.cond(
                    request.execution_id != "",
                    _fact(
                        "From run",
                        rx.link(
                            rx.code(request.execution_id[-8:], size="2"), href=f"/executions/{request.execution_id}"
                        ),
                    ),
                    rx.fragment(),
                ),
                spacing="6",
                wrap="wrap",
            ),
            rx.cond(
                State.action_data != "",
                rx.vstack(
                    rx.text("Proposed action data", size="1", color_scheme="gray"),
                    _code_block(State.action_data, "approval-action-data"),
                    spacing="1",
                    width="100%",
                ),
                rx.fragment(),
            ),
            spacing="4",
        ),
        width="100%",
    )


def _outcome() -> rx.Component:
    request = State.request
    return rx.cond(
        ~State.pending,
        rx.callout.root(
            rx.callout.icon(rx.icon("gavel")),
            rx.vstack(
                rx.text(
                    rx.text.strong(request.status),
                    rx.cond(request.responded_by != "", rx.text(" by ", request.responded_by), ""),
                    rx.cond(request.responded_at != "", rx.text(" at ", request.responded_at), ""),
                    size="2",
                    data_testid="approval-outcome",
                ),
                rx.cond(
                    request.feedback != "",
                    rx.text("Feedback: ", request.feedback, size="2", data_testid="approval-feedback"),
                    rx.fragment(),
                ),
                rx.cond(
                    State.response_data != "",
                    rx.vstack(
                        rx.text("Response data", size="1", color_scheme="gray"),
                        _code_block(State.response_data, "approval-response-data"),
                        spacing="1",
                        width="100%",
                    ),
                    rx.fragment(),
                ),
                spacing="2",
                width="100%",
            ),
            color_scheme=rx.match(request.status, ("approved", "green"), ("rejected", "red"), "gray"),
            width="100%",
        ),
        rx.fragment(),
    )


def _form() -> rx.Component:
    return rx.cond(
        State.has_form,
        rx.vstack(
            rx.hstack(
                rx.text(
                    rx.cond(State.pending, "Check or edit before you approve", "The answer"),
                    weight="medium",
                    size="3",
                ),
                rx.spacer(),
                rx.cond(
                    State.edited & State.may_decide,
                    rx.button(
                        rx.icon("undo-2", size=14),
                        "Undo edits",
                        on_click=State.reset_form,
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                    ),
                    rx.fragment(),
                ),
                width="100%",
                align="center",
            ),
            schema_form(
                State.fields,
                (State.form_text, State.form_flags, State.form_choices),
                State.field_errors,
                on_text=State.set_text,
                on_flag=State.set_flag,
                on_choice=State.set_choice,
                disabled=~State.may_decide,
            ),
            rx.cond(
                State.form_message != "",
                rx.text(State.form_message, color_scheme="red", size="2", data_testid="form-message"),
                rx.fragment(),
            ),
            spacing="3",
            width="100%",
            data_testid="approval-form",
        ),
        rx.fragment(),
    )


def _decision() -> rx.Component:
    return rx.cond(
        State.may_decide,
        rx.vstack(
            rx.text("Feedback (optional; the requester sees it)", size="2", weight="medium", as_="label"),
            rx.text_area(
                value=State.feedback,
                on_change=State.set_feedback,
                placeholder="Why you approve or reject, or what to change.",
                rows="3",
                width="100%",
                data_testid="approval-feedback-input",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("check", size=16),
                    "Approve",
                    on_click=State.approve,
                    color_scheme="green",
                    variant=rx.cond(State.edited, "soft", "solid"),
                    data_testid="approve",
                ),
                rx.cond(
                    State.has_form,
                    rx.button(
                        rx.icon("pencil", size=16),
                        "Approve with edits",
                        on_click=State.approve_with_edits,
                        color_scheme="green",
                        variant=rx.cond(State.edited, "solid", "soft"),
                        data_testid="approve-with-edits",
                    ),
                    rx.fragment(),
                ),
                rx.button(
                    rx.icon("x", size=16),
                    "Reject",
                    on_click=State.reject,
                    color_scheme="red",
                    variant="soft",
                    data_testid="reject",
                ),
                spacing="3",
            ),
            rx.cond(
                State.edited,
                rx.text(
                    "You changed the form: only Approve with edits sends your changes.",
                    size="1",
                    color_scheme="amber",
                ),
                rx.fragment(),
            ),
            spacing="2",
            width="100%",
        ),
        rx.cond(
            State.why_not != "",
            rx.callout(State.why_not, icon="info", color_scheme="gray", width="100%", data_testid="why-not"),
            rx.fragment(),
        ),
    )


def _event(row: EventRow) -> rx.Component:
    return rx.hstack(
        rx.box(width="8px", height="8px", border_radius="50%", background=rx.color("indigo", 9), margin_top="6px"),
        rx.vstack(
            rx.hstack(
                rx.text(row.label, weight="medium", size="2"),
                rx.text(row.when, size="1", color_scheme="gray"),
                spacing="2",
                align="baseline",
                wrap="wrap",
            ),
            rx.text(
                rx.cond(row.actor != "", row.actor, "the studio"),
                " via ",
                row.source,
                size="1",
                color_scheme="gray",
            ),
            rx.cond(row.detail != "", rx.text(row.detail, size="1"), rx.fragment()),
            spacing="0",
        ),
        align="start",
        spacing="2",
        data_testid="approval-event",
        custom_attrs={"data-event-type": row.kind},
    )


def _delivery(row: DeliveryRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.badge(row.channel, variant="outline", color_scheme="gray")),
        rx.table.cell(rx.text(row.recipient, size="1")),
        rx.table.cell(status_badge(row.status)),
        rx.table.cell(rx.text(row.attempts, size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                row.error != "",
                rx.text(row.error, size="1", color_scheme="red"),
                rx.text(row.decision, size="1", color_scheme="gray"),
            )
        ),
        data_testid="delivery-row",
    )


def _side() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.text("Timeline", weight="medium", size="3"),
                rx.foreach(State.events, _event),
                spacing="3",
                width="100%",
            ),
            width="100%",
            data_testid="approval-timeline",
        ),
        rx.cond(
            State.deliveries.length() > 0,
            rx.card(
                rx.vstack(
                    rx.text("Deliveries", weight="medium", size="3"),
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Channel"),
                                rx.table.column_header_cell("To"),
                                rx.table.column_header_cell("Status"),
                                rx.table.column_header_cell("Tries"),
                                rx.table.column_header_cell(""),
                            )
                        ),
                        rx.table.body(rx.foreach(State.deliveries, _delivery)),
                        size="1",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
                data_testid="approval-deliveries",
            ),
            rx.fragment(),
        ),
        spacing="4",
        width="380px",
        min_width="300px",
    )


def _body() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            _summary(),
            _outcome(),
            rx.cond(
                State.has_form | State.pending,
                rx.card(rx.vstack(_form(), _decision(), spacing="5", width="100%"), width="100%"),
                rx.fragment(),
            ),
            spacing="4",
            flex="1",
            min_width="0",
        ),
        _side(),
        align="start",
        spacing="5",
        width="100%",
    )


def approval_detail_page() -> rx.Component:
    return app_page(
        "Approval request",
        rx.cond(
            State.loaded,
            rx.cond(
                State.missing != "",
                empty_state(
                    "search-x",
                    "This request is not here",
                    "It does not exist, or it is not addressed to you. Your inbox lists what waits for you.",
                    action=rx.link(rx.button("Go to the inbox", variant="soft"), href="/approvals"),
                    data_testid="approval-missing",
                ),
                _body(),
            ),
            loading(),
        ),
        actions=rx.link(
            rx.button(rx.icon("arrow-left", size=16), "Inbox", variant="soft", color_scheme="gray"),
            href="/approvals",
            margin_right="1em",
        ),
    )
