"""The workflow canvas: our JSX wrapper around React Flow, declared for Reflex.

The JavaScript lives in ``assets/flow_canvas.jsx`` (Reflex copies ``assets/``
into the frontend's ``public/``). Only finished actions come back to Python,
each with one JSON argument; see the module comment of the JSX file.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars.function import FunctionStringVar

REACT_FLOW = "@xyflow/react@12.10.2"
NODE_DRAG_MIME = "application/x-hitl-node"
"""The drag-and-drop type the palette sets and the canvas reads (same string in the JSX)."""

_moves = rx.event.passthrough_event_spec(list[dict[str, Any]])
_ids = rx.event.passthrough_event_spec(list[str])
_object = rx.event.passthrough_event_spec(dict[str, Any])
_id = rx.event.passthrough_event_spec(str)
_none = rx.event.no_args_event_spec


class FlowCanvas(rx.Component):
    """React Flow with our node cards, sticky notes, minimap and controls."""

    library = "$/public/flow_canvas.jsx"
    tag = "FlowCanvas"
    lib_dependencies: list[str] = [REACT_FLOW]

    graph: rx.Var[dict[str, Any]]
    statuses: rx.Var[dict[str, Any]]
    read_only: rx.Var[bool]
    color_mode: rx.Var[str]

    on_nodes_moved: rx.EventHandler[_moves]
    on_connect_nodes: rx.EventHandler[_object]
    on_delete_elements: rx.EventHandler[_object]
    on_select: rx.EventHandler[_ids]
    on_drop_node: rx.EventHandler[_object]
    on_copy_nodes: rx.EventHandler[_ids]
    on_paste_nodes: rx.EventHandler[_none]
    on_undo: rx.EventHandler[_none]
    on_redo: rx.EventHandler[_none]
    on_note_change: rx.EventHandler[_object]
    on_open_node: rx.EventHandler[_id]

    def add_imports(self) -> dict[str, Any]:
        return {"": "@xyflow/react/dist/style.css"}


flow_canvas = FlowCanvas.create


def palette_drag_start(node_type: str | rx.Var[str]) -> FunctionStringVar:
    """An ``onDragStart`` handler for a palette entry: carry its node type to the canvas."""
    type_js = rx.Var.create(node_type)._js_expr
    return FunctionStringVar.create(
        f"((event) => {{ event.dataTransfer.setData({NODE_DRAG_MIME!r}, {type_js}); "
        "event.dataTransfer.effectAllowed = 'move'; })"
    )
