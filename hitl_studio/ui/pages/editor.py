"""/workflows/{id}: the editor — palette, canvas, config and data panels, run and save."""

from __future__ import annotations

from typing import Any

import reflex as rx

from hitl_studio.ui.components.common import status_badge
from hitl_studio.ui.components.flow import flow_canvas, palette_drag_start
from hitl_studio.ui.components.layout import field_error
from hitl_studio.ui.components.param_form import credential_picker, parameter_field
from hitl_studio.ui.state.editor import ROUTE_ARG, EditorState, RunProgressState
from hitl_studio.ui.state.session import SessionState

ROUTE = f"/workflows/[{ROUTE_ARG}]"
PANEL_WIDTH = "400px"


# ----- palette ---------------------------------------------------------------------------------------------------


def _palette_entry(entry: rx.Var[dict[str, Any]]) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(entry["name"].to(str), size="2", weight="medium"),
            rx.text(
                entry["description"].to(str),
                size="1",
                color_scheme="gray",
                white_space="nowrap",
                overflow="hidden",
                text_overflow="ellipsis",
                width="100%",
            ),
            spacing="0",
            min_width="0",
            width="100%",
        ),
        title=entry["description"].to(str),
        draggable=EditorState.can_edit,
        custom_attrs={"onDragStart": palette_drag_start(entry["type"].to(str))},
        on_click=EditorState.add_from_palette(entry["type"].to(str)),
        cursor=rx.cond(EditorState.can_edit, "grab", "default"),
        padding="0.4em 0.5em",
        border_radius="var(--radius-2)",
        _hover={"background": rx.color("gray", 4)},
        align="start",
        spacing="2",
        width="100%",
        data_testid="palette-" + entry["type"].to(str),
    )


def _palette_section(section: rx.Var[dict[str, Any]]) -> rx.Component:
    return rx.vstack(
        rx.text(section["label"].to(str), size="1", weight="bold", color_scheme="gray", padding_top="0.6em"),
        rx.foreach(section["nodes"].to(list[dict[str, Any]]), _palette_entry),
        spacing="0",
        width="100%",
    )


def palette() -> rx.Component:
    return rx.vstack(
        rx.input(
            rx.input.slot(rx.icon("search", size=14)),
            placeholder="Search nodes…",
            value=EditorState.palette_search,
            on_change=EditorState.set_palette_search,
            size="2",
            width="100%",
            data_testid="palette-search",
        ),
        rx.text("Drag a node onto the canvas, or click it.", size="1", color_scheme="gray"),
        rx.box(
            rx.vstack(rx.foreach(EditorState.palette, _palette_section), spacing="1", width="100%"),
            overflow_y="auto",
            overflow_x="hidden",
            flex="1",
            min_height="0",
            width="100%",
        ),
        width="250px",
        min_width="250px",
        height="100%",
        padding="0.75em",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        spacing="2",
        data_testid="palette",
    )


# ----- top bar ---------------------------------------------------------------------------------------------------


def _versions_dialog() -> rx.Component:
    def row(version: rx.Var[dict[str, Any]]) -> rx.Component:
        return rx.table.row(
            rx.table.cell(rx.text("v", version["version"].to(str), weight="bold")),
            rx.table.cell(version["created"].to(str)),
            rx.table.cell(version["note"].to(str)),
            rx.table.cell(version["nodes"].to(str), " nodes"),
            rx.table.cell(
                rx.cond(
                    version["current"].to(bool),
                    rx.badge("current", color_scheme="green"),
                    rx.cond(
                        EditorState.can_edit,
                        rx.button(
                            "Restore",
                            size="1",
                            variant="soft",
                            on_click=EditorState.restore_version(version["version"].to(int)),
                            data_testid="restore-version-" + version["version"].to(str),
                        ),
                        rx.fragment(),
                    ),
                )
            ),
        )

    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("history", size=14),
                "Versions",
                variant="soft",
                color_scheme="gray",
                size="2",
                on_click=EditorState.load_versions,
                data_testid="open-versions",
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Version history"),
            rx.dialog.description("Every save is a version. Restoring makes an old one current as a new version."),
            rx.table.root(rx.table.body(rx.foreach(EditorState.versions, row)), size="1", margin_top="1em"),
            rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", margin_top="1em")),
            max_width="640px",
        ),
    )


def _import_export_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("file-json", size=14),
                "Import / export",
                variant="soft",
                color_scheme="gray",
                size="2",
                data_testid="open-import-export",
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Import or export JSON"),
            rx.dialog.description("The n8n workflow shape: name, nodes, connections, settings."),
            rx.button(
                rx.icon("download", size=14),
                "Download this workflow",
                on_click=EditorState.export_json,
                variant="soft",
                margin_y="1em",
                data_testid="export-json",
            ),
            rx.cond(
                EditorState.can_edit,
                rx.vstack(
                    rx.text("Paste workflow JSON to replace what is on the canvas:", size="2"),
                    rx.text_area(
                        value=EditorState.import_text,
                        on_change=EditorState.set_import_text,
                        rows="10",
                        font_family="var(--code-font-family)",
                        width="100%",
                        data_testid="import-json-text",
                    ),
                    field_error(EditorState.import_error),
                    rx.button("Import", on_click=EditorState.import_json, data_testid="import-json"),
                    width="100%",
                ),
                rx.fragment(),
            ),
            rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", margin_top="1em")),
            max_width="640px",
        ),
    )


def _run_button() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(rx.icon("play", size=14), "Run", size="2", color_scheme="green", data_testid="open-run")
        ),
        rx.popover.content(
            rx.vstack(
                rx.text("Test input: the items the trigger starts with", size="2", weight="medium"),
                rx.text_area(
                    value=EditorState.test_items,
                    on_change=EditorState.set_test_items,
                    rows="6",
                    font_family="var(--code-font-family)",
                    width="320px",
                    data_testid="test-items",
                ),
                field_error(EditorState.test_items_error),
                rx.popover.close(
                    rx.button(
                        rx.icon("play", size=14),
                        "Run workflow",
                        on_click=EditorState.run_workflow,
                        color_scheme="green",
                        data_testid="run-workflow",
                    )
                ),
                spacing="2",
            )
        ),
    )


def top_bar() -> rx.Component:
    return rx.hstack(
        rx.link(rx.icon("arrow-left", size=18), href="/workflows", color_scheme="gray", title="All workflows"),
        rx.input(
            value=EditorState.name,
            on_change=EditorState.set_name,
            read_only=~EditorState.can_edit,
            size="2",
            width="280px",
            variant="soft",
            data_testid="workflow-name",
        ),
        rx.badge("v", EditorState.saved_version, variant="outline", color_scheme="gray"),
        rx.cond(
            EditorState.dirty,
            rx.badge("unsaved changes", color_scheme="amber", data_testid="dirty-badge"),
            rx.badge("saved", color_scheme="green", variant="soft", data_testid="saved-badge"),
        ),
        rx.spacer(),
        rx.cond(
            EditorState.can_edit,
            rx.hstack(
                rx.icon_button(
                    rx.icon("undo-2", size=16),
                    on_click=EditorState.undo,
                    disabled=~EditorState.can_undo,
                    variant="ghost",
                    title="Undo (Ctrl+Z)",
                    data_testid="undo",
                ),
                rx.icon_button(
                    rx.icon("redo-2", size=16),
                    on_click=EditorState.redo,
                    disabled=~EditorState.can_redo,
                    variant="ghost",
                    title="Redo (Ctrl+Shift+Z)",
                    data_testid="redo",
                ),
                rx.icon_button(
                    rx.icon("sticky-note", size=16),
                    on_click=EditorState.add_note,
                    variant="ghost",
                    title="Add a sticky note",
                    data_testid="add-note",
                ),
                spacing="3",
                align="center",
            ),
            rx.fragment(),
        ),
        _versions_dialog(),
        _import_export_dialog(),
        rx.cond(
            EditorState.can_edit,
            rx.hstack(
                rx.text("Active", size="2"),
                rx.switch(checked=EditorState.active, on_change=EditorState.set_active, data_testid="workflow-active"),
                rx.button(rx.icon("save", size=14), "Save", on_click=EditorState.save, size="2", data_testid="save"),
                align="center",
                spacing="2",
            ),
            rx.badge("read only", color_scheme="gray"),
        ),
        rx.cond(EditorState.can_run, _run_button(), rx.fragment()),
        rx.color_mode.button(size="2", variant="ghost"),
        align="center",
        spacing="3",
        padding="0.5em 1em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
    )


# ----- right panel -----------------------------------------------------------------------------------------------


def _parameters_tab() -> rx.Component:
    return rx.vstack(
        rx.foreach(EditorState.credential_fields, credential_picker),
        rx.foreach(EditorState.panel_fields, parameter_field),
        rx.cond(
            EditorState.panel_fields.length() == 0,
            rx.text("This node has no parameters.", size="2", color_scheme="gray"),
            rx.fragment(),
        ),
        rx.hstack(
            rx.switch(checked=EditorState.show_advanced, on_change=EditorState.set_show_advanced, size="1"),
            rx.text("Show advanced options", size="1", color_scheme="gray"),
            align="center",
        ),
        spacing="3",
        width="100%",
    )


def _settings_tab() -> rx.Component:
    node = EditorState.panel_node
    return rx.vstack(
        rx.hstack(
            rx.switch(
                checked=node["disabled"].to(bool),
                on_change=EditorState.set_node_setting("disabled"),
                data_testid="node-disabled",
            ),
            rx.text("Disabled (skipped in runs)", size="2"),
            align="center",
        ),
        rx.text("On error", size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(width="100%", data_testid="node-on-error"),
            rx.select.content(
                rx.select.item("Stop the run", value="stop"),
                rx.select.item("Continue (error as an item)", value="continue"),
                rx.select.item("Continue on an error output", value="continue_error_output"),
            ),
            value=node["on_error"].to(str),
            on_change=EditorState.set_node_setting("on_error"),
        ),
        rx.hstack(
            rx.switch(
                checked=node["retry_on_fail"].to(bool),
                on_change=EditorState.set_node_setting("retry_on_fail"),
                data_testid="node-retry",
            ),
            rx.text("Retry on fail", size="2"),
            align="center",
        ),
        rx.cond(
            node["retry_on_fail"].to(bool),
            rx.hstack(
                rx.text("Tries", size="2"),
                rx.input(
                    default_value=node["max_tries"].to(str),
                    key=node["id"].to(str) + ":tries",
                    on_blur=EditorState.set_node_setting("max_tries"),
                    width="80px",
                ),
                align="center",
            ),
            rx.fragment(),
        ),
        rx.hstack(
            rx.text("Timeout (seconds)", size="2"),
            rx.input(
                default_value=node["timeout"].to(str),
                key=node["id"].to(str) + ":timeout",
                placeholder="none",
                on_blur=EditorState.set_node_setting("timeout"),
                width="100px",
            ),
            align="center",
        ),
        rx.text("Notes", size="2", weight="medium"),
        rx.text_area(
            default_value=node["notes"].to(str),
            key=node["id"].to(str) + ":notes",
            on_blur=EditorState.set_node_setting("notes"),
            rows="3",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def _items_table(table: rx.Var[dict[str, Any]], testid: str) -> rx.Component:
    columns = table["columns"].to(list[str])
    return rx.cond(
        table["rows"].to(list[Any]).length() == 0,
        rx.text("No items.", size="2", color_scheme="gray", data_testid=f"{testid}-empty"),
        rx.scroll_area(
            rx.table.root(
                rx.table.header(rx.table.row(rx.foreach(columns, rx.table.column_header_cell))),
                rx.table.body(
                    rx.foreach(
                        table["rows"].to(list[list[str]]),
                        lambda row: rx.table.row(rx.foreach(row, lambda cell: rx.table.cell(cell))),
                    )
                ),
                size="1",
                variant="surface",
            ),
            type="auto",
            scrollbars="both",
            style={"maxHeight": "260px"},
            data_testid=testid,
        ),
    )


def _items_block(title: str, table: rx.Var[dict[str, Any]], text: rx.Var[str], testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(title, size="2", weight="bold"),
        rx.tabs.root(
            rx.tabs.list(rx.tabs.trigger("Table", value="table"), rx.tabs.trigger("JSON", value="json")),
            rx.tabs.content(_items_table(table, f"{testid}-table"), value="table", padding_top="0.5em"),
            rx.tabs.content(
                rx.code_block(text, language="json", wrap_long_lines=True, custom_style={"maxHeight": "260px"}),
                value="json",
                padding_top="0.5em",
                data_testid=f"{testid}-json",
            ),
            default_value="table",
            width="100%",
        ),
        spacing="1",
        width="100%",
    )


_SMALL_GREEN = {"size": "1", "color_scheme": "green"}


def _data_tab() -> rx.Component:
    return rx.vstack(
        rx.cond(
            RunProgressState.run_id == "",
            rx.text("Run the workflow to see this node's items.", size="2", color_scheme="gray"),
            rx.fragment(),
        ),
        _items_block("Input", EditorState.input_table, EditorState.input_json, "node-input"),
        rx.cond(
            EditorState.output_count > 1,
            rx.select(
                EditorState.output_choices,
                value=EditorState.output_index.to_string(),
                on_change=EditorState.set_output_index,
                size="1",
            ),
            rx.fragment(),
        ),
        _items_block("Output", EditorState.output_table, EditorState.output_json, "node-output"),
        rx.hstack(
            rx.cond(
                EditorState.can_edit,
                rx.button(
                    rx.icon("pin", size=14),
                    rx.cond(EditorState.panel_node["pinned"].to(bool), "Unpin output", "Pin output"),
                    size="1",
                    variant="soft",
                    on_click=EditorState.pin_selected,
                    data_testid="pin-output",
                ),
                rx.fragment(),
            ),
            rx.cond(
                EditorState.can_run,
                rx.fragment(
                    rx.button(
                        rx.icon("play", size=14),
                        "Run from this node",
                        on_click=EditorState.run_from_selected,
                        variant="soft",
                        data_testid="run-from-node",
                        **_SMALL_GREEN,
                    ),
                    rx.button(
                        rx.icon("step-forward", size=14),
                        "Run this node",
                        on_click=EditorState.run_selected_only,
                        variant="outline",
                        data_testid="run-node",
                        **_SMALL_GREEN,
                    ),
                ),
                rx.fragment(),
            ),
            spacing="2",
            wrap="wrap",
        ),
        spacing="3",
        width="100%",
    )


def node_panel() -> rx.Component:
    node = EditorState.panel_node
    return rx.cond(
        EditorState.selected_id != "",
        rx.vstack(
            rx.hstack(
                rx.icon("settings-2", size=18, color=rx.color("indigo", 11)),
                rx.vstack(
                    rx.input(
                        default_value=node["name"].to(str),
                        key=node["id"].to(str) + ":name:" + node["name"].to(str),
                        on_blur=EditorState.rename_selected,
                        read_only=~EditorState.can_edit,
                        size="2",
                        variant="soft",
                        data_testid="node-name",
                    ),
                    rx.text(node["label"].to(str), size="1", color_scheme="gray"),
                    spacing="1",
                    width="100%",
                ),
                rx.icon_button(
                    rx.icon("x", size=16),
                    variant="ghost",
                    on_click=EditorState.select([]),
                    title="Close",
                    data_testid="close-panel",
                ),
                width="100%",
                align="start",
            ),
            field_error(EditorState.rename_error),
            rx.text(node["description"].to(str), size="1", color_scheme="gray"),
            rx.cond(
                node["problem"].to(str) != "",
                rx.callout(node["problem"].to(str), icon="triangle-alert", color_scheme="red", size="1"),
                rx.fragment(),
            ),
            rx.tabs.root(
                rx.tabs.list(
                    rx.tabs.trigger("Parameters", value="parameters", data_testid="tab-parameters"),
                    rx.tabs.trigger("Settings", value="settings", data_testid="tab-settings"),
                    rx.tabs.trigger("Data", value="data", data_testid="tab-data"),
                ),
                rx.tabs.content(_parameters_tab(), value="parameters", padding_top="0.75em"),
                rx.tabs.content(_settings_tab(), value="settings", padding_top="0.75em"),
                rx.tabs.content(_data_tab(), value="data", padding_top="0.75em"),
                value=EditorState.panel_tab,
                on_change=EditorState.set_panel_tab,
                width="100%",
            ),
            width=PANEL_WIDTH,
            min_width=PANEL_WIDTH,
            height="100%",
            overflow_y="auto",
            padding="1em",
            border_left=f"1px solid {rx.color('gray', 5)}",
            background=rx.color("gray", 1),
            spacing="2",
            on_mount=EditorState.load_credentials,
            key=EditorState.selected_id,
            data_testid="node-panel",
        ),
        rx.fragment(),
    )


# ----- status bar ------------------------------------------------------------------------------------------------


def status_bar() -> rx.Component:
    return rx.hstack(
        rx.cond(
            RunProgressState.run_id != "",
            rx.hstack(
                rx.text("Last run", size="2", color_scheme="gray"),
                status_badge(RunProgressState.run_status, data_testid="run-status"),
                rx.link(
                    "details",
                    href="/executions/" + RunProgressState.run_id,
                    size="2",
                    data_testid="run-details",
                ),
                # Shown and hidden, not added and removed: inserting an element restyles the whole page
                # (Radix Themes' :root:has() rule), which with a big workflow delays the cards' statuses.
                rx.button(
                    "Cancel",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=EditorState.cancel_run,
                    display=rx.cond(RunProgressState.run_active & EditorState.can_run, "inline-flex", "none"),
                ),
                rx.text(
                    RunProgressState.run_error,
                    size="2",
                    color_scheme="red",
                    trim="both",
                    display=rx.cond(RunProgressState.run_error != "", "block", "none"),
                ),
                align="center",
                spacing="2",
            ),
            rx.text("Not run yet in this session.", size="2", color_scheme="gray"),
        ),
        rx.spacer(),
        rx.cond(
            EditorState.problem_lines.length() > 0,
            rx.popover.root(
                rx.popover.trigger(
                    rx.button(
                        rx.icon("triangle-alert", size=14),
                        EditorState.problem_lines.length(),
                        " problem(s)",
                        size="1",
                        color_scheme="red",
                        variant="soft",
                        data_testid="problems",
                    )
                ),
                rx.popover.content(
                    rx.vstack(
                        rx.foreach(EditorState.problem_lines, lambda line: rx.text(line, size="2")),
                        data_testid="problem-list",
                    )
                ),
            ),
            rx.fragment(),
        ),
        padding="0.35em 1em",
        border_top=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        align="center",
    )


# ----- page ------------------------------------------------------------------------------------------------------


def _canvas() -> rx.Component:
    return rx.box(
        rx.cond(
            rx.State.is_hydrated & EditorState.loaded,
            flow_canvas(
                graph=EditorState.graph,
                statuses=RunProgressState.statuses,
                read_only=~EditorState.can_edit,
                color_mode=rx.color_mode_cond("light", "dark"),
                on_nodes_moved=EditorState.nodes_moved,
                on_connect_nodes=EditorState.connect_nodes,
                on_delete_elements=EditorState.delete_elements,
                on_select=EditorState.select,
                on_drop_node=EditorState.drop_node,
                on_copy_nodes=EditorState.copy_nodes,
                on_paste_nodes=EditorState.paste_nodes,
                on_undo=EditorState.undo,
                on_redo=EditorState.redo,
                on_note_change=EditorState.note_change,
                on_open_node=EditorState.open_node,
            ),
            rx.center(rx.spinner(size="3"), height="100%"),
        ),
        flex="1",
        height="100%",
        min_width="0",
        position="relative",
    )


def editor_page() -> rx.Component:
    body = rx.vstack(
        top_bar(),
        rx.hstack(
            rx.cond(EditorState.can_edit, palette(), rx.fragment()),
            _canvas(),
            node_panel(),
            spacing="0",
            width="100%",
            flex="1",
            min_height="0",
        ),
        status_bar(),
        spacing="0",
        height="100vh",
        width="100%",
    )
    return rx.cond(SessionState.signed_in, body, rx.center(rx.spinner(size="3"), height="100vh"))
