"""Paging under a list: where you are ("26-50 of 120") and the previous/next buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx


def pager(
    offset: rx.Var[int], page_size: int, total: rx.Var[int], go_to: Callable[[Any], Any], *, test_id: str
) -> rx.Component:
    """``go_to(offset)`` is the event that shows the page starting at ``offset``; hidden when one page holds all."""
    last = rx.cond(offset + page_size < total, offset + page_size, total)
    return rx.cond(
        total > page_size,
        rx.hstack(
            rx.text(
                offset + 1, "-", last, " of ", total, size="2", color_scheme="gray", data_testid=f"{test_id}-range"
            ),
            rx.button(
                rx.icon("chevron-left", size=16),
                "Previous",
                on_click=go_to(offset - page_size),
                disabled=offset == 0,
                variant="soft",
                color_scheme="gray",
                size="1",
                data_testid=f"{test_id}-previous",
            ),
            rx.button(
                "Next",
                rx.icon("chevron-right", size=16),
                on_click=go_to(offset + page_size),
                disabled=offset + page_size >= total,
                variant="soft",
                color_scheme="gray",
                size="1",
                data_testid=f"{test_id}-next",
            ),
            align="center",
            justify="end",
            spacing="3",
            width="100%",
            padding_top="1em",
        ),
        rx.fragment(),
    )
