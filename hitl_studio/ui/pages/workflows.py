"""/workflows: every workflow with its last run; builders create, import, duplicate, activate and delete."""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.common import confirm_button, empty_state, loading, status_badge
from hitl_studio.ui.components.layout import app_page, form_field
from hitl_studio.ui.components.paging import pager
from hitl_studio.ui.state.workflows_list import (
    IMPORT_UPLOAD_ID,
    MAX_IMPORT_BYTES,
    PAGE_SIZE,
    ROUTE,
    ImportProblem,
    WorkflowRow,
    WorkflowsState,
)

__all__ = ["ROUTE", "WorkflowsState", "workflows_page"]


def _new_workflow_button(test_id: str) -> rx.Component:
    return rx.button(
        rx.icon("plus", size=16), "New workflow", on_click=WorkflowsState.set_create_open(True), data_testid=test_id
    )


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("New workflow"),
            rx.dialog.description(
                "It starts with a Manual Trigger; add nodes on the canvas.", size="2", margin_bottom="1em"
            ),
            rx.form(
                rx.vstack(
                    form_field(
                        "Name",
                        rx.input(
                            name="name",
                            placeholder="e.g. Refund approvals",
                            width="100%",
                            auto_focus=True,
                            data_testid="workflow-name",
                        ),
                        WorkflowsState.create_error,
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                        rx.button("Create and open", type="submit", data_testid="create-workflow"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=WorkflowsState.create,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=WorkflowsState.create_open,
        on_open_change=WorkflowsState.set_create_open,
    )


def _import_problem(problem: ImportProblem) -> rx.Component:
    return rx.hstack(
        rx.cond(problem.node != "", rx.badge(problem.node, color_scheme="red", variant="soft"), rx.fragment()),
        rx.text(problem.message, size="2"),
        align="start",
        spacing="2",
        data_testid="import-problem",
    )


def _import_dialog() -> rx.Component:
    dropzone = rx.upload.root(
        rx.vstack(
            rx.icon("file-json", size=28, color=rx.color("gray", 9)),
            rx.text("Drop a workflow's .json file here, or click to choose one.", size="2"),
            rx.text(
                f"An export from this studio or from n8n; up to {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
                size="1",
                color_scheme="gray",
            ),
            align="center",
            spacing="2",
        ),
        id=IMPORT_UPLOAD_ID,
        accept={"application/json": [".json"]},
        multiple=False,
        max_files=1,
        on_drop=WorkflowsState.import_file(rx.upload_files(upload_id=IMPORT_UPLOAD_ID)),
        padding="2em",
        border=f"1px dashed {rx.color('gray', 7)}",
        border_radius="var(--radius-3)",
        cursor="pointer",
        width="100%",
        data_testid="import-dropzone",
    )
    problems = rx.cond(
        WorkflowsState.import_message != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.vstack(
                rx.text(WorkflowsState.import_message, weight="medium", data_testid="import-error"),
                rx.foreach(WorkflowsState.import_problems, _import_problem),
                spacing="2",
            ),
            color_scheme="red",
            width="100%",
        ),
        rx.fragment(),
    )
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(rx.icon("upload", size=16), "Import", variant="soft", data_testid="import-workflow")
        ),
        rx.dialog.content(
            rx.dialog.title("Import a workflow"),
            rx.dialog.description(
                "The workflow is checked first: every problem is listed by node.", size="2", margin_bottom="1em"
            ),
            rx.vstack(
                dropzone,
                problems,
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
            ),
            max_width="520px",
        ),
        open=WorkflowsState.import_open,
        on_open_change=WorkflowsState.set_import_open,
    )


def _header_actions() -> rx.Component:
    return rx.cond(
        WorkflowsState.can_edit_workflows,
        rx.hstack(_import_dialog(), _new_workflow_button("new-workflow"), spacing="2", margin_right="1em"),
        rx.fragment(),
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder="Search by name",
            value=WorkflowsState.search,
            on_change=WorkflowsState.set_search.debounce(300),
            width="280px",
            data_testid="workflow-search",
        ),
        rx.cond(
            WorkflowsState.tag != "",
            rx.badge(
                rx.icon("tag", size=12),
                WorkflowsState.tag,
                rx.icon("x", size=12, cursor="pointer", on_click=WorkflowsState.filter_tag("")),
                size="2",
                variant="surface",
                data_testid="tag-filter",
            ),
            rx.text("Click a tag to filter by it.", size="1", color_scheme="gray"),
        ),
        rx.spacer(),
        rx.text(WorkflowsState.total, " workflows", size="2", color_scheme="gray", data_testid="workflow-total"),
        align="center",
        spacing="3",
        width="100%",
        margin_bottom="1em",
    )


def _tag(tag: rx.Var[str]) -> rx.Component:
    return rx.badge(
        tag,
        variant="soft",
        color_scheme="indigo",
        cursor="pointer",
        on_click=WorkflowsState.filter_tag(tag),
        data_testid="workflow-tag",
    )


def _row_actions(row: WorkflowRow) -> rx.Component:
    return rx.cond(
        WorkflowsState.can_edit_workflows,
        rx.hstack(
            rx.icon_button(
                rx.icon("copy", size=14),
                on_click=WorkflowsState.duplicate(row.id),
                variant="ghost",
                size="1",
                title="Duplicate",
                data_testid="duplicate-workflow",
            ),
            confirm_button(
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    variant="ghost",
                    color_scheme="red",
                    size="1",
                    title="Delete",
                    data_testid="delete-workflow",
                ),
                title="Delete this workflow?",
                description=rx.text(
                    rx.text.strong(row.name),
                    ", its versions and its run history are deleted; its webhooks and schedules stop. "
                    "This cannot be undone.",
                ),
                confirm_label="Delete",
                on_confirm=WorkflowsState.delete(row.id),
                confirm_testid="confirm-delete-workflow",
            ),
            spacing="3",
            justify="end",
        ),
        rx.fragment(),
    )


def _workflow_row(row: WorkflowRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(
                    row.name,
                    href=f"/workflows/{row.id}",
                    weight="medium",
                    high_contrast=True,
                    data_testid="workflow-link",
                ),
                rx.cond(
                    row.description != "",
                    rx.text(row.description, size="1", color_scheme="gray", trim="both", max_width="420px"),
                    rx.fragment(),
                ),
                rx.cond(
                    row.tags.length() > 0,
                    rx.hstack(rx.foreach(row.tags, _tag), spacing="1", wrap="wrap"),
                    rx.fragment(),
                ),
                spacing="1",
                align="start",
            )
        ),
        rx.table.cell(
            rx.switch(
                checked=row.active,
                on_change=lambda active: WorkflowsState.set_active(row.id, active),
                disabled=~WorkflowsState.can_edit_workflows,
                size="1",
                data_testid="workflow-active",
            )
        ),
        rx.table.cell(
            rx.cond(
                row.last_status != "",
                rx.link(
                    status_badge(row.last_status, data_testid="workflow-last-status"),
                    href=f"/executions?workflow={row.id}",
                    underline="none",
                ),
                rx.text("never run", size="1", color_scheme="gray", data_testid="workflow-last-status"),
            )
        ),
        rx.table.cell(rx.text(row.nodes, size="2", color_scheme="gray")),
        rx.table.cell(rx.tooltip(rx.text(row.updated, size="2", color_scheme="gray"), content=row.updated_at)),
        rx.table.cell(_row_actions(row)),
        align="center",
        data_testid="workflow-row",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Name"),
                rx.table.column_header_cell("Active"),
                rx.table.column_header_cell("Last run"),
                rx.table.column_header_cell("Nodes"),
                rx.table.column_header_cell("Updated"),
                rx.table.column_header_cell("", width="90px"),
            )
        ),
        rx.table.body(rx.foreach(WorkflowsState.rows, _workflow_row)),
        variant="surface",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.cond(
        WorkflowsState.filtered,
        empty_state(
            "search-x",
            "No workflow matches",
            "Change the search, or clear the tag filter, to see more workflows.",
            data_testid="workflows-empty",
        ),
        empty_state(
            "workflow",
            "No workflows yet",
            rx.cond(
                WorkflowsState.can_edit_workflows,
                "Create one with New workflow, or import a workflow file exported from this studio or from n8n.",
                "Builders create workflows; ask one to share theirs, or an admin for the builder role.",
            ),
            action=rx.cond(
                WorkflowsState.can_edit_workflows, _new_workflow_button("empty-new-workflow"), rx.fragment()
            ),
            data_testid="workflows-empty",
        ),
    )


def workflows_page() -> rx.Component:
    return app_page(
        "Workflows",
        _create_dialog(),
        _filters(),
        rx.cond(
            WorkflowsState.loaded,
            rx.cond(WorkflowsState.rows.length() > 0, _table(), _empty()),
            loading(),
        ),
        pager(WorkflowsState.offset, PAGE_SIZE, WorkflowsState.total, WorkflowsState.page, test_id="workflows-pager"),
        actions=_header_actions(),
    )
