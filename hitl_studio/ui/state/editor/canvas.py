"""The canvas's editing events: move, connect, delete, select, add, notes, copy and paste, undo and redo.

A mixin of :class:`~hitl_studio.ui.state.editor.EditorState`, which declares every var it uses: each change goes
through ``EditorState._commit`` so undo history and the ``graph`` prop stay right.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from hitl_studio.ui.editor import catalog, document
from hitl_studio.ui.editor.document import EditError


class CanvasEditing(rx.State, mixin=True):
    """The canvas's editing events: move, connect, delete, select, add, notes, copy and paste, undo and redo."""

    @rx.event
    def nodes_moved(self, moves: list[dict[str, Any]]):
        if (refused := self._refuse()) is not None:
            return refused
        self._commit(document.move(self._doc, moves), structural=False)
        return None

    @rx.event
    def connect_nodes(self, connection: dict[str, Any]):
        if (refused := self._refuse()) is not None:
            return refused
        try:
            self._commit(
                document.connect(
                    self._doc,
                    source=str(connection.get("source", "")),
                    source_handle=str(connection.get("sourceHandle", "out-0")),
                    target=str(connection.get("target", "")),
                    target_handle=str(connection.get("targetHandle", "in-0")),
                )
            )
        except EditError as err:
            self._send_graph()
            return rx.toast.error(str(err))
        return None

    @rx.event
    def delete_elements(self, elements: dict[str, Any]):
        if (refused := self._refuse()) is not None:
            self._send_graph()
            return refused
        node_ids = [str(i) for i in elements.get("nodes", [])]
        self._commit(
            document.remove(self._doc, node_ids=node_ids, edge_ids=[str(i) for i in elements.get("edges", [])])
        )
        if self.selected_id in node_ids:
            self.selected_id = ""
            self._sync_panel()
        return None

    @rx.event
    def select(self, ids: list[str]) -> None:
        chosen = ids[0] if len(ids) == 1 and ids[0] in document.nodes_by_id(self._doc) else ""
        if chosen != self.selected_id:
            self.selected_id = chosen
            self.panel_tab = "parameters"
            self.rename_error = ""
            self._drafts, self._field_errors = {}, {}
            self._sync_panel()

    @rx.event
    def open_node(self, node_id: str) -> None:
        self.select([node_id])

    def _add(self, node_type: str, x: float, y: float):
        info = catalog.descriptions().get(node_type)
        if info is None:
            return rx.toast.error(f"Unknown node type {node_type!r}.")
        new_doc, node_id = document.add_node(
            self._doc, node_type=node_type, display_name=info["display_name"], x=x, y=y
        )
        self._commit(new_doc)
        self.selected_id = node_id
        self._sync_panel()
        return None

    @rx.event
    def drop_node(self, drop: dict[str, Any]):
        if (refused := self._refuse()) is not None:
            return refused
        return self._add(str(drop.get("type", "")), float(drop.get("x", 0)), float(drop.get("y", 0)))

    @rx.event
    def add_from_palette(self, node_type: str):
        """A click in the palette: place the node right of the selected (or last) node."""
        if (refused := self._refuse()) is not None:
            return refused
        nodes = self._doc.get("nodes", [])
        anchor = document.nodes_by_id(self._doc).get(self.selected_id) or (nodes[-1] if nodes else None)
        x, y = (anchor["position"][0] + 260, anchor["position"][1]) if anchor else (0, 0)
        return self._add(node_type, x, y)

    @rx.event
    def add_note(self):
        if (refused := self._refuse()) is not None:
            return refused
        xs = [node["position"][0] for node in self._doc.get("nodes", [])] or [0]
        ys = [node["position"][1] for node in self._doc.get("nodes", [])] or [0]
        new_doc, _note_id = document.add_note(self._doc, x=min(xs), y=min(ys) - 200)
        self._commit(new_doc)
        return None

    @rx.event
    def note_change(self, change: dict[str, Any]):
        if (refused := self._refuse()) is not None:
            return refused
        try:
            self._commit(document.update_note(self._doc, change), structural=False)
        except EditError as err:
            return rx.toast.error(str(err))
        return None

    @rx.event
    def copy_nodes(self, ids: list[str]):
        fragment = document.copy_fragment(self._doc, ids or ([self.selected_id] if self.selected_id else []))
        if not fragment["nodes"] and not fragment["settings"][document.NOTES_KEY]:
            return rx.toast.info("Select nodes to copy first.")
        self._clipboard = fragment
        return rx.toast.info(f"Copied {len(fragment['nodes'])} node(s).")

    @rx.event
    def paste_nodes(self):
        if (refused := self._refuse()) is not None:
            return refused
        if not self._clipboard:
            return rx.toast.info("Nothing to paste: copy nodes first (Ctrl+C).")
        new_doc, _ids = document.paste(self._doc, self._clipboard)
        self._commit(new_doc)
        return None

    @rx.event
    def undo(self) -> None:
        if not self._undo or not self.can_edit:
            return
        self._redo = [*self._redo, json.dumps(self._doc)]
        self._doc = json.loads(self._undo[-1])
        self._undo = self._undo[:-1]
        self.dirty = True
        self._send_graph()
        self._sync_panel()

    @rx.event
    def redo(self) -> None:
        if not self._redo or not self.can_edit:
            return
        self._undo = [*self._undo, json.dumps(self._doc)]
        self._doc = json.loads(self._redo[-1])
        self._redo = self._redo[:-1]
        self.dirty = True
        self._send_graph()
        self._sync_panel()

    @rx.event
    def set_name(self, name: str) -> None:
        if not self.can_edit:
            return
        self.name = name
        self._commit({**self._doc, "name": name}, structural=False)

    @rx.event
    def set_palette_search(self, text: str) -> None:
        self.palette_search = text
