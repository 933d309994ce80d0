"""The Groups tab of /users: create, rename and delete groups, add and remove members."""

from __future__ import annotations

import reflex as rx

from hitl_studio.ui.components.common import confirm_button, empty_state, loading
from hitl_studio.ui.components.layout import form_field
from hitl_studio.ui.state.groups import GroupRow, GroupsState, MemberChip


def _member(group: GroupRow, member: MemberChip) -> rx.Component:
    return rx.badge(
        member.email,
        rx.cond(member.active, rx.fragment(), rx.text.span(" (inactive)")),
        rx.icon(
            "x",
            size=12,
            cursor="pointer",
            on_click=GroupsState.remove_member(group.id, member.id),
            data_testid="group-remove-member",
        ),
        variant="soft",
        color_scheme=rx.cond(member.active, "indigo", "gray"),
        data_testid="group-member",
    )


def _add_member(group: GroupRow) -> rx.Component:
    return rx.cond(
        group.candidates.length() > 0,
        rx.select.root(
            rx.select.trigger(placeholder="Add member", variant="soft", data_testid="group-add-member"),
            rx.select.content(
                rx.foreach(group.candidates, lambda person: rx.select.item(person.email, value=person.id))
            ),
            value="",
            on_change=lambda user_id: GroupsState.add_member(group.id, user_id),
            size="1",
        ),
        rx.fragment(),
    )


def _group_row(group: GroupRow) -> rx.Component:
    delete = confirm_button(
        rx.button("Delete", size="1", variant="soft", color_scheme="red", data_testid="group-delete"),
        title="Delete this group?",
        description=rx.text(
            "Approvals can no longer be addressed to ", rx.code(group.address), ". Its members keep their accounts."
        ),
        confirm_label="Delete",
        on_confirm=GroupsState.delete(group.id),
        confirm_testid="confirm-group-delete",
    )
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(group.name, weight="medium"),
                rx.code(group.address, size="1", variant="ghost"),
                rx.cond(
                    group.description != "",
                    rx.text(group.description, size="1", color_scheme="gray"),
                    rx.fragment(),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(
            rx.flex(
                rx.foreach(group.members, lambda member: _member(group, member)),
                _add_member(group),
                wrap="wrap",
                gap="2",
                align="center",
            )
        ),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Rename",
                    size="1",
                    variant="soft",
                    color_scheme="gray",
                    on_click=GroupsState.open_rename(group.id),
                    data_testid="group-rename",
                ),
                delete,
                justify="end",
            )
        ),
        data_testid="group-row",
    )


def _create_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.box(
                form_field(
                    "New group",
                    rx.input(name="name", placeholder="e.g. finance", width="100%", data_testid="group-name"),
                    GroupsState.create_name_error,
                ),
                width="220px",
            ),
            rx.box(
                form_field(
                    "Description",
                    rx.input(name="description", placeholder="optional", width="100%"),
                    GroupsState.create_description_error,
                ),
                width="320px",
            ),
            rx.button(rx.icon("plus", size=14), "Create group", type="submit", data_testid="group-create"),
            align="end",
            spacing="3",
        ),
        on_submit=GroupsState.create,
        reset_on_submit=False,
        key=GroupsState.create_form_key,
        margin_bottom="1em",
    )


def _rename_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Rename group"),
            rx.dialog.description(
                "Pending approvals addressed to the old name must be decided first.", size="2", margin_bottom="1em"
            ),
            rx.form(
                rx.vstack(
                    form_field(
                        "Name",
                        rx.input(
                            name="name",
                            default_value=GroupsState.rename_name,
                            width="100%",
                            data_testid="group-rename-name",
                        ),
                        GroupsState.rename_name_error,
                    ),
                    form_field(
                        "Description",
                        rx.input(name="description", default_value=GroupsState.rename_description, width="100%"),
                        GroupsState.rename_description_error,
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                        rx.button("Save", type="submit", data_testid="group-rename-save"),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=GroupsState.rename,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=GroupsState.rename_open,
        on_open_change=GroupsState.set_rename_open,
    )


def groups_panel() -> rx.Component:
    """Loads its groups when shown (the tab mounts it), so the People tab costs nothing extra."""
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Group"),
                rx.table.column_header_cell("Members"),
                rx.table.column_header_cell(""),
            )
        ),
        rx.table.body(rx.foreach(GroupsState.groups, _group_row)),
        variant="surface",
        width="100%",
    )
    empty = empty_state(
        "users",
        "No groups yet",
        "Create a group, add people, then address approvals to group:<name> so any member can decide.",
    )
    return rx.box(
        rx.text(
            "Approvals addressed to group:<name> reach every member; any one of them may decide.",
            color_scheme="gray",
            size="2",
            margin_bottom="1em",
        ),
        _create_form(),
        rx.cond(GroupsState.loaded, rx.cond(GroupsState.groups.length() > 0, table, empty), loading()),
        _rename_dialog(),
        on_mount=GroupsState.load,
        width="100%",
    )
