"""A node's items as a table and as JSON, in two tabs.

:func:`items_view` is a plain function of a Var holding a list of JSON objects
(the ``json`` of each item), so any screen can show items: a run's step on
/executions/{id}, the editor's output panel. The columns and the cell text are
worked out in the browser, so the state sends the items once and nothing else.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

MAX_TABLE_ROWS = 100
"""Rows the table shows; the JSON tab always has every item."""


def _js(expression: str, var_type: Any, source: rx.Var) -> rx.Var:
    """A Var computed in the browser from ``source`` (keeping its state hooks)."""
    return rx.Var(_js_expr=expression, _var_type=var_type, _var_data=source._get_all_var_data()).guess_type()


def columns(items: rx.Var[list[dict[str, Any]]]) -> rx.Var[list[str]]:
    """Every key of any item, in first-seen order (items may differ in their keys)."""
    return _js(f"[...new Set(({items._js_expr} ?? []).flatMap((item) => Object.keys(item ?? {{}})))]", list[str], items)


def cell_text(row: rx.Var, column: rx.Var) -> rx.Var[str]:
    """A value as a cell shows it: strings as they are, anything else as JSON, a missing key as nothing."""
    value = f"({row._js_expr})?.[{column._js_expr}]"
    expression = f"((v) => v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v))({value})"
    return rx.Var(
        _js_expr=expression,
        _var_type=str,
        _var_data=rx.vars.VarData.merge(row._get_all_var_data(), column._get_all_var_data()),
    ).guess_type()


def pretty_json(value: rx.Var) -> rx.Var[str]:
    """``value`` as indented JSON text."""
    return _js(f"JSON.stringify({value._js_expr} ?? null, null, 2)", str, value)


def _table(items: rx.Var[list[dict[str, Any]]], test_id: str) -> rx.Component:
    keys = columns(items)
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("#", width="3em"),
                    rx.foreach(keys, lambda key: rx.table.column_header_cell(key)),
                )
            ),
            rx.table.body(
                rx.foreach(
                    items[:MAX_TABLE_ROWS],
                    lambda row, index: rx.table.row(
                        rx.table.cell(rx.text(index + 1, color_scheme="gray", size="1")),
                        rx.foreach(
                            keys,
                            lambda key: rx.table.cell(
                                rx.text(cell_text(row, key), size="1", white_space="pre-wrap", word_break="break-word")
                            ),
                        ),
                        data_testid=f"{test_id}-row",
                    ),
                )
            ),
            size="1",
            variant="surface",
            width="100%",
        ),
        rx.cond(
            items.length() > MAX_TABLE_ROWS,
            rx.text(
                f"The table shows the first {MAX_TABLE_ROWS} items; the JSON tab has all of them.",
                size="1",
                color_scheme="gray",
                margin_top="0.5em",
            ),
            rx.fragment(),
        ),
        overflow_x="auto",
        width="100%",
    )


def _json(items: rx.Var[list[dict[str, Any]]], test_id: str) -> rx.Component:
    return rx.el.pre(
        pretty_json(items),
        font_family="var(--code-font-family)",
        font_size="12px",
        padding="0.75em",
        margin="0",
        max_height="420px",
        overflow="auto",
        background=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 5)}",
        border_radius="var(--radius-2)",
        white_space="pre-wrap",
        word_break="break-word",
        data_testid=f"{test_id}-json",
    )


def items_view(
    items: rx.Var[list[dict[str, Any]]], *, test_id: str = "items", empty_hint: str = "No items."
) -> rx.Component:
    """``items`` in a Table tab and a JSON tab; ``test_id`` prefixes the hooks tests use."""
    return rx.cond(
        items.length() > 0,
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("Table", value="table", data_testid=f"{test_id}-tab-table"),
                rx.tabs.trigger("JSON", value="json", data_testid=f"{test_id}-tab-json"),
            ),
            rx.tabs.content(_table(items, test_id), value="table", padding_top="0.75em"),
            rx.tabs.content(_json(items, test_id), value="json", padding_top="0.75em"),
            default_value="table",
            width="100%",
            data_testid=test_id,
        ),
        rx.text(empty_hint, color_scheme="gray", size="2", data_testid=f"{test_id}-empty"),
    )
