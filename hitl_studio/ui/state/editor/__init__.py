"""The workflow editor's state: the document being edited, its history, the canvas and the panels.

The workflow being edited lives in backend-only vars (``_doc``, ``_undo``,
``_redo``): the browser never receives the whole document, only what it
draws. Every canvas action goes through :mod:`hitl_studio.ui.editor.document`
and :meth:`EditorState._commit`, which records undo history and re-sends the
``graph`` prop only when the structure changed (not when a node was merely
moved: the canvas already shows where it dropped it). Runs are followed live
through :mod:`hitl_studio.ui.live`.

The events live in one mixin per part of the screen (:mod:`.canvas`,
:mod:`.panel`, :mod:`.saving`, :mod:`.runs`); this class declares every var
they share, so the state's shape is read in one place.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.services import workflows
from hitl_studio.services.errors import ServiceError
from hitl_studio.ui.editor import catalog, document, run_view
from hitl_studio.ui.editor.document import Document
from hitl_studio.ui.state.editor.canvas import CanvasEditing
from hitl_studio.ui.state.editor.panel import ConfigPanel
from hitl_studio.ui.state.editor.runs import Runs
from hitl_studio.ui.state.editor.saving import Saving
from hitl_studio.ui.state.session import SessionState

HISTORY_LIMIT = 50
ROUTE_ARG = "editor_workflow_id"
DEFAULT_TEST_ITEMS = "[\n  {}\n]"


class EditorState(CanvasEditing, ConfigPanel, Saving, Runs, SessionState):
    """``/workflows/{id}``: the canvas, the palette, the config and output panels."""

    loaded: bool = False
    doc_id: str = ""
    name: str = ""
    active: bool = False
    saved_version: int = 0
    dirty: bool = False
    can_edit: bool = False
    can_run: bool = False
    graph: dict[str, Any] = {}
    selected_id: str = ""
    palette_search: str = ""
    problems: dict[str, str] = {}
    problem_lines: list[str] = []
    history_sizes: list[int] = [0, 0]
    # config panel
    panel_fields: list[dict[str, Any]] = []
    panel_node: dict[str, Any] = {}
    panel_tab: str = "parameters"
    show_advanced: bool = False
    credential_fields: list[dict[str, Any]] = []
    rename_error: str = ""
    # run (its id, status and the cards' statuses are in RunProgressState)
    test_items: str = DEFAULT_TEST_ITEMS
    test_items_error: str = ""
    input_table: dict[str, Any] = {"columns": [], "rows": []}
    output_table: dict[str, Any] = {"columns": [], "rows": []}
    input_json: str = ""
    output_json: str = ""
    output_index: int = 0
    output_count: int = 0
    output_choices: list[str] = []
    previews: dict[str, str] = {}
    # versions, import/export
    versions: list[dict[str, Any]] = []
    import_text: str = ""
    import_error: str = ""

    _doc: Document = {}
    _undo: list[str] = []
    """Earlier documents as JSON text: Reflex saves the state after events, and text pickles fast."""
    _redo: list[str] = []
    _clipboard: Document = {}
    _structure: int = 0
    _fit: int = 0
    _drafts: dict[str, str] = {}
    _field_errors: dict[str, str] = {}
    _run: dict[str, Any] = {}
    _watching: str = ""

    # ----- loading -------------------------------------------------------------------------------------------

    def _route_workflow_id(self) -> str:
        return str(getattr(self, ROUTE_ARG, "") or "")

    @rx.event
    async def load(self):
        redirect = await self.guard(Permission.VIEW_WORKFLOWS)
        if redirect is not None:
            return redirect
        workflow_id = self._route_workflow_id()
        try:
            workflow = await asyncio.to_thread(workflows.get_workflow, workflow_id)
        except ServiceError as err:
            return [rx.toast.error(err.message), rx.redirect("/workflows")]
        self.can_edit = allowed(self.user_role, Permission.EDIT_WORKFLOWS)
        self.can_run = allowed(self.user_role, Permission.RUN_WORKFLOWS)
        self._open(workflow)
        execution_id = self.router.url.query_parameters.get("execution", "")
        if execution_id:
            await self._show_run(execution_id)
            if self._run.get("status") not in run_view.FINISHED:
                return type(self).watch_run
        else:
            await self._clear_run()
        return None

    def _open(self, workflow: Any) -> None:
        doc = document.with_ids(
            {
                "name": workflow.name,
                "description": workflow.description,
                "nodes": workflow.graph.get("nodes", []),
                "connections": workflow.graph.get("connections", {}),
                "settings": workflow.settings or {},
                "tags": list(workflow.tags or []),
            }
        )
        self.doc_id = workflow.id
        self.name = workflow.name
        self.active = workflow.active
        self.saved_version = workflow.version
        self.dirty = False
        self._doc = doc
        self._undo, self._redo = [], []
        self.problems, self.problem_lines = {}, []
        self.selected_id = ""
        self._fit += 1
        self._send_graph()
        self._sync_panel()
        self.loaded = True

    def _ids_by_name(self) -> dict[str, str]:
        return {node["name"]: node["id"] for node in self._doc.get("nodes", [])}

    def _send_graph(self) -> None:
        self._structure += 1
        self.graph = catalog.canvas_graph(
            self._doc, version=self._structure, fit_key=f"{self.doc_id}:{self._fit}", problems=self.problems
        )
        self.history_sizes = [len(self._undo), len(self._redo)]

    # ----- what every part changes the document through ------------------------------------------------------

    def _commit(self, new_doc: Document, *, structural: bool = True) -> None:
        """Make ``new_doc`` current, remembering the old one for undo."""
        if new_doc == self._doc:
            return
        self._undo = [*self._undo, json.dumps(self._doc)][-HISTORY_LIMIT:]
        self._redo = []
        self._doc = new_doc
        self.dirty = True
        if structural:
            self._send_graph()
        else:
            self.history_sizes = [len(self._undo), len(self._redo)]
        self._sync_panel()

    def _refuse(self) -> rx.event.EventSpec | None:
        if not self.can_edit:
            return rx.toast.error("Your role can view this workflow but not change it.")
        return None

    # ----- computed for the page -----------------------------------------------------------------------------

    @rx.var
    def palette(self) -> list[dict[str, Any]]:
        search = self.palette_search.strip().lower()
        sections = []
        for section in catalog.palette():
            nodes = [node for node in section["nodes"] if not search or search in node["search"]]
            if nodes:
                sections.append({**section, "nodes": nodes})
        return sections

    @rx.var
    def title(self) -> str:
        return f"{self.name or 'Workflow'} · HITL Studio"

    @rx.var
    def can_undo(self) -> bool:
        return self.history_sizes[0] > 0

    @rx.var
    def can_redo(self) -> bool:
        return self.history_sizes[1] > 0


class RunProgressState(EditorState):
    """The editor's run as it goes: its id, status, error and each card's status and item counts.

    Reflex re-renders every component bound to a state when any of its vars
    changes. Kept in :class:`EditorState`, each tick of a run re-rendered the
    palette, the panels and the tables as well as the canvas; here it reaches
    the canvas and the status bar alone. :class:`EditorState` keeps the same
    facts in its backend-only ``_run`` for its own logic.
    """

    run_id: str = ""
    run_status: str = ""
    run_error: str = ""
    statuses: dict[str, dict[str, Any]] = {}

    @rx.var
    def run_active(self) -> bool:
        return self.run_id != "" and self.run_status not in run_view.FINISHED
