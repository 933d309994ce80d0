"""The workflow editor's state: the document being edited, its history, the canvas and the panels.

The workflow being edited lives in backend-only vars (``_doc``, ``_undo``,
``_redo``): the browser never receives the whole document, only what it
draws. Every canvas action goes through :mod:`hitl_studio.ui.editor.document`
and :meth:`EditorState._commit`, which records undo history and re-sends the
``graph`` prop only when the structure changed (not when a node was merely
moved: the canvas already shows where it dropped it). Runs are followed live
through :mod:`hitl_studio.ui.live`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.models.users import User
from hitl_studio.services import credentials as credential_service
from hitl_studio.services import executions, workflows
from hitl_studio.services.errors import ServiceError
from hitl_studio.services.executions import StartOptions
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.ui import live
from hitl_studio.ui.components.times import stamp
from hitl_studio.ui.editor import catalog, document, param_fields, run_view
from hitl_studio.ui.editor.document import Document, EditError
from hitl_studio.ui.state.session import NotSignedIn, SessionState

HISTORY_LIMIT = 50
ROUTE_ARG = "editor_workflow_id"
DEFAULT_TEST_ITEMS = "[\n  {}\n]"


def _problems_by_node(problems: list[Mapping[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        name = problem.get("node")
        if name:
            prefix = f"{problem['parameter']}: " if problem.get("parameter") else ""
            found[name] = (found[name] + "; " if name in found else "") + prefix + str(problem.get("message", ""))
    return found


def _problem_lines(problems: list[Mapping[str, Any]]) -> list[str]:
    return [
        (f"{p['node']}: " if p.get("node") else "")
        + (f"{p['parameter']}: " if p.get("parameter") else "")
        + str(p.get("message", ""))
        for p in problems
    ]


def _columns(items: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items[:200]:
        for key in item:
            seen.setdefault(str(key), None)
    return list(seen)[:30]


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 200 else text[:200] + "…"


def _table(items: list[dict[str, Any]]) -> dict[str, Any]:
    columns = _columns(items)
    return {"columns": columns, "rows": [[_cell(item.get(column)) for column in columns] for item in items[:200]]}


def _schedule_previews(parameters: Mapping[str, Any], fields: list[dict[str, Any]]) -> dict[str, str]:
    """The next fire times under each cron field, so a builder sees what the expression means."""
    from nodes.triggers.schedule import next_fire_times

    found = {}
    timezone = str(parameters.get("timezone") or "UTC")
    for field in fields:
        rule = str(parameters.get(field["name"]) or "").strip()
        if field["base_widget"] != "cron" or not rule or "{{" in rule:
            continue
        try:
            times = [moment.astimezone(ZoneInfo(timezone)) for moment in next_fire_times(rule, timezone, 3)]
        except Exception as err:  # croniter and zoneinfo raise several kinds for a rule being typed
            found[field["path"]] = f"⚠ {err}"
            continue
        found[field["path"]] = "Next: " + ", ".join(moment.strftime("%a %d %b %H:%M:%S %Z") for moment in times)
    return found


class EditorState(SessionState):
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
                return EditorState.watch_run
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

    # ----- editing -------------------------------------------------------------------------------------------

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

    # ----- config panel --------------------------------------------------------------------------------------

    def _selected(self) -> dict[str, Any] | None:
        return document.nodes_by_id(self._doc).get(self.selected_id)

    def _sync_panel(self) -> None:
        node = self._selected()
        if node is None:
            self.panel_node, self.panel_fields, self.credential_fields = {}, [], []
            self._show_items(None)
            return
        info = catalog.descriptions().get(node["type"])
        self.panel_node = {
            "id": node["id"],
            "name": node["name"],
            "type": node["type"],
            "label": info["display_name"] if info else node["type"],
            "description": info["description"] if info else "This node type is not installed here.",
            "icon": info["icon"] if info else "circle-help",
            "disabled": bool(node.get("disabled")),
            "notes": str(node.get("notes", "")),
            "on_error": str(node.get("on_error", "stop")),
            "retry_on_fail": bool(node.get("retry_on_fail")),
            "max_tries": str(node.get("max_tries", 3)),
            "timeout": "" if node.get("timeout") is None else str(node.get("timeout")),
            "problem": self.problems.get(node["name"], ""),
            "pinned": node["name"] in document.pinned(self._doc),
        }
        schema = info["parameters"] if info else {"properties": {}}
        self.panel_fields = param_fields.form_fields(
            schema, node.get("parameters") or {}, errors=self._field_errors, drafts=self._drafts
        )
        self._show_items(node["name"])

    def _update_parameters(self, parameters: dict[str, Any]) -> None:
        node = self._selected()
        if node is None:
            return
        before = catalog.canvas_node(node)
        new_doc = document.update_node(self._doc, node["id"], parameters=parameters)
        after = catalog.canvas_node(document.nodes_by_id(new_doc)[node["id"]])
        self._commit(new_doc, structural=before != after)

    def _schema(self) -> dict[str, Any]:
        node = self._selected()
        info = catalog.descriptions().get(node["type"]) if node else None
        return info["parameters"] if info else {"properties": {}}

    @rx.event
    def set_field_text(self, path: str, text: str):
        """A text-like control changed: parse it, or keep the draft and show why it can't be used."""
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        schema = self._schema()
        try:
            value = param_fields.parse_text(text, param_fields.schema_at(schema, path), schema)
        except param_fields.FieldValueError as err:
            self._drafts = {**self._drafts, path: text}
            self._field_errors = {**self._field_errors, path: str(err)}
            self._sync_panel()
            return None
        self._drafts = {key: value for key, value in self._drafts.items() if key != path}
        self._field_errors = {key: value for key, value in self._field_errors.items() if key != path}
        self._update_parameters(param_fields.set_path(node.get("parameters") or {}, path, value))
        return None

    @rx.event
    def set_field_value(self, path: str, value: Any):
        """A control with a typed value changed (switch, select, multi-select)."""
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        self._update_parameters(param_fields.set_path(node.get("parameters") or {}, path, value))
        return None

    @rx.event
    def toggle_option(self, path: str, option: str, checked: bool):
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        current = param_fields.get_path(node.get("parameters") or {}, path)
        chosen = [item for item in (current if isinstance(current, list) else []) if item != option]
        if checked:
            chosen.append(option)
        self._update_parameters(param_fields.set_path(node.get("parameters") or {}, path, chosen))
        return None

    @rx.event
    def toggle_expression(self, path: str):
        """Switch a field between a fixed value and an expression (keeping what can be kept)."""
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        parameters = node.get("parameters") or {}
        current = param_fields.get_path(parameters, path)
        if isinstance(current, str) and "{{" in current:
            value: Any = None
        else:
            shown = "" if current is None else current if isinstance(current, str) else json.dumps(current)
            value = "{{ " + (shown or "$json") + " }}" if not shown.startswith("{{") else shown
        self._update_parameters(param_fields.set_path(parameters, path, value))
        return None

    @rx.event
    def add_row(self, path: str):
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        self._update_parameters(param_fields.add_row(node.get("parameters") or {}, path, self._schema()))
        return None

    @rx.event
    def remove_row(self, path: str):
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        self._update_parameters(param_fields.remove_row(node.get("parameters") or {}, path))
        return None

    @rx.event
    def rename_selected(self, new_name: str):
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        try:
            self._commit(document.rename(self._doc, node["id"], new_name))
            self.rename_error = ""
        except EditError as err:
            self.rename_error = str(err)
        return None

    @rx.event
    def set_node_setting(self, key: str, value: Any):
        """Per-node run settings: disabled, notes, on_error, retry_on_fail, max_tries, timeout."""
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        if key in ("max_tries", "timeout"):
            text = str(value).strip()
            if text == "":
                value = None if key == "timeout" else 3
            else:
                try:
                    value = float(text) if key == "timeout" else int(text)
                except ValueError:
                    return rx.toast.error(f"{key.replace('_', ' ').capitalize()} must be a number.")
        elif key not in ("disabled", "notes", "on_error", "retry_on_fail"):
            return rx.toast.error(f"Unknown node setting {key!r}.")
        before = catalog.canvas_node(node)
        new_doc = document.update_node(self._doc, node["id"], **{key: value})
        after = catalog.canvas_node(document.nodes_by_id(new_doc)[node["id"]])
        self._commit(new_doc, structural=before != after)
        return None

    @rx.event
    def set_panel_tab(self, tab: str) -> None:
        self.panel_tab = tab

    @rx.event
    def set_show_advanced(self, shown: bool) -> None:
        self.show_advanced = shown

    @rx.event
    async def load_credentials(self):
        """The credential picker's options: credentials of the node's types this user may use."""
        node = self._selected()
        info = catalog.descriptions().get(node["type"]) if node else None
        if node is None or info is None or not info["credentials"]:
            self.credential_fields = []
            return None
        try:
            user = await self.authorize(Permission.VIEW_WORKFLOWS)
        except (NotSignedIn, PermissionError):
            return self.login_redirect()
        usable = await asyncio.to_thread(credential_service.list_credentials, user)
        chosen = node.get("credentials") or {}
        self.credential_fields = [
            {
                "type": requirement["type"],
                "required": requirement["required"],
                "options": [{"id": c.id, "name": c.name} for c in usable if c.type == requirement["type"]],
                "selected": str((chosen.get(requirement["type"]) or {}).get("id", "")),
            }
            for requirement in info["credentials"]
        ]
        return None

    @rx.event
    def choose_credential(self, type_id: str, credential_id: str):
        node = self._selected()
        if node is None or self._refuse() is not None:
            return self._refuse()
        options = next((f["options"] for f in self.credential_fields if f["type"] == type_id), [])
        chosen = dict(node.get("credentials") or {})
        match = next((option for option in options if option["id"] == credential_id), None)
        if match is None:
            chosen.pop(type_id, None)
        else:
            chosen[type_id] = {"id": match["id"], "name": match["name"]}
        self._commit(document.update_node(self._doc, node["id"], credentials=chosen), structural=False)
        self.credential_fields = [
            {**field, "selected": credential_id if field["type"] == type_id else field["selected"]}
            for field in self.credential_fields
        ]
        return None

    # ----- saving, versions, activation, import/export -------------------------------------------------------

    def _input(self, note: str = "") -> WorkflowInput:
        doc = self._doc
        return WorkflowInput(
            name=(doc.get("name") or self.name or "Untitled workflow").strip() or "Untitled workflow",
            description=doc.get("description", ""),
            nodes=doc.get("nodes", []),
            connections=doc.get("connections", {}),
            settings=doc.get("settings", {}),
            tags=doc.get("tags", []),
            version_note=note,
        )

    async def _user(self, permission: Permission) -> User | rx.event.EventSpec:
        try:
            return await self.authorize(permission)
        except NotSignedIn:
            return self.login_redirect()
        except PermissionError as err:
            return rx.toast.error(str(err))

    def _show_problems(self, err: ServiceError) -> rx.event.EventSpec:
        problems = list(getattr(err, "problems", None) or [])
        self.problems = _problems_by_node(problems)
        self.problem_lines = _problem_lines(problems) or [err.message]
        self._send_graph()
        self._sync_panel()
        return rx.toast.error(err.message)

    async def _save(self, user: User) -> bool | rx.event.EventSpec:
        try:
            workflow = await asyncio.to_thread(workflows.update_workflow, self.doc_id, self._input(), actor=user)
        except ServiceError as err:
            return self._show_problems(err)
        self.saved_version = workflow.version
        self.dirty = False
        if self.problems:
            self.problems, self.problem_lines = {}, []
            self._send_graph()
            self._sync_panel()
        return True

    @rx.event
    async def save(self):
        user = await self._user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        saved = await self._save(user)
        if saved is not True:
            return saved
        return rx.toast.success(f"Saved as version {self.saved_version}.")

    @rx.event
    async def set_active(self, active: bool):
        user = await self._user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        if self.dirty:
            saved = await self._save(user)
            if saved is not True:
                return saved
        try:
            workflow = await asyncio.to_thread(workflows.set_active, self.doc_id, active, actor=user)
        except ServiceError as err:
            return self._show_problems(err)
        self.active = workflow.active
        return rx.toast.success("Active: its triggers are listening." if active else "Inactive: its triggers stopped.")

    @rx.event
    async def load_versions(self):
        try:
            await self.authorize(Permission.VIEW_WORKFLOWS)
        except (NotSignedIn, PermissionError):
            return self.login_redirect()
        rows = await asyncio.to_thread(workflows.list_versions, self.doc_id)
        self.versions = [
            {
                "version": row.version,
                "note": row.note or "",
                "created": stamp(row.created_at),
                "nodes": len(row.graph.get("nodes", [])),
                "current": row.version == self.saved_version,
            }
            for row in rows
        ]
        return None

    @rx.event
    async def restore_version(self, version: int):
        user = await self._user(Permission.EDIT_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            workflow = await asyncio.to_thread(workflows.restore_version, self.doc_id, int(version), actor=user)
        except ServiceError as err:
            return rx.toast.error(err.message)
        self._open(workflow)
        await self.load_versions()
        return rx.toast.success(f"Version {version} restored as version {workflow.version}.")

    @rx.event
    def export_json(self):
        exported = {key: self._doc.get(key) for key in ("name", "nodes", "connections", "settings", "tags")}
        file_name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in self.name.lower()) or "workflow"
        return rx.download(data=json.dumps(exported, indent=2, ensure_ascii=False), filename=f"{file_name}.json")

    @rx.event
    def set_import_text(self, text: str) -> None:
        self.import_text = text
        self.import_error = ""

    @rx.event
    def import_json(self):
        """Replace the canvas with pasted workflow JSON (n8n's shape); saving makes it a new version."""
        if (refused := self._refuse()) is not None:
            return refused
        try:
            data = json.loads(self.import_text)
        except json.JSONDecodeError as err:
            self.import_error = f"Not valid JSON: {err.msg} (line {err.lineno})."
            return None
        if not isinstance(data, dict) or not isinstance(data.get("nodes", []), list):
            self.import_error = 'Expected a workflow object with a "nodes" list.'
            return None
        if not isinstance(data.get("connections", {}), dict):
            self.import_error = '"connections" must be an object.'
            return None
        new_doc = document.with_ids(
            {
                "name": data.get("name") or self.name,
                "description": data.get("description", ""),
                "nodes": data.get("nodes", []),
                "connections": data.get("connections", {}),
                "settings": data.get("settings") or {},
                "tags": data.get("tags") or [],
            }
        )
        self._fit += 1
        self._commit(new_doc)
        self.name = new_doc["name"]
        self.import_text, self.import_error = "", ""
        return rx.toast.success("Imported: check it and save.")

    # ----- runs ----------------------------------------------------------------------------------------------

    async def _clear_run(self) -> None:
        self._run = {}
        await self._send_progress(run_view.RunView(execution_id="", status=""))
        self._show_items(self.panel_node.get("name") if self.panel_node else None)

    async def _remember(self, view: run_view.RunView) -> None:
        self._run = {
            "id": view.execution_id,
            "status": view.status,
            "error": view.error,
            "statuses": view.statuses,
            "inputs": view.inputs,
            "outputs": view.outputs,
        }
        await self._send_progress(view)
        self._show_items(self.panel_node.get("name") if self.panel_node else None)

    async def _send_progress(self, view: run_view.RunView) -> None:
        progress = await self.get_state(RunProgressState)
        progress._assign_changed(
            run_id=view.execution_id,
            run_status=view.status,
            run_error=view.error,
            statuses=run_view.card_statuses(view, self._ids_by_name()),
        )

    def _view(self) -> run_view.RunView:
        run = self._run
        return run_view.RunView(
            execution_id=run.get("id", ""),
            status=run.get("status", ""),
            error=run.get("error", ""),
            statuses=dict(run.get("statuses", {})),
            inputs=dict(run.get("inputs", {})),
            outputs=dict(run.get("outputs", {})),
        )

    async def _show_run(self, execution_id: str) -> None:
        try:
            view = await asyncio.to_thread(run_view.load_run, execution_id)
        except ServiceError:
            await self._clear_run()
            return
        await self._remember(view)

    def _show_items(self, node_name: str | None) -> None:
        run = self._run
        inputs = run.get("inputs", {}).get(node_name, []) if node_name else []
        outputs = run.get("outputs", {}).get(node_name, []) if node_name else []
        index = min(self.output_index, max(len(outputs) - 1, 0))
        shown = outputs[index] if outputs else []
        self._assign_changed(
            output_count=len(outputs),
            output_choices=[str(index) for index in range(len(outputs))],
            input_table=_table(inputs),
            output_table=_table(shown),
            input_json=json.dumps(inputs, indent=2, ensure_ascii=False, default=str)[:200_000],
            output_json=json.dumps(shown, indent=2, ensure_ascii=False, default=str)[:200_000],
            previews=self._previews(inputs),
        )

    def _assign_changed(self, **values: Any) -> None:
        """Set only the vars whose value differs: Reflex sends every assigned var, and each send
        re-renders every component of this state (the palette, the panels, the canvas wrapper)."""
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _previews(self, inputs: list[dict[str, Any]]) -> dict[str, str]:
        """Each expression field's value for the first input item of the last run."""
        from hitl_studio.engine import expressions

        node = self._selected()
        if node is None:
            return {}
        context = expressions.ExpressionContext(
            json=inputs[0] if inputs else {},
            input_items=inputs,
            node_outputs={
                name: outputs[0] if outputs else [] for name, outputs in self._run.get("outputs", {}).items()
            },
            execution_id=self._run.get("id", ""),
            workflow_id=self.doc_id,
            workflow_name=self.name,
        )
        found: dict[str, str] = {}

        def walk(value: Any, path: str) -> None:
            if isinstance(value, str) and "{{" in value:
                try:
                    result = expressions.evaluate(value, context)
                    shown = result if isinstance(result, str) else json.dumps(result, default=str)
                    found[path] = "→ " + (shown if len(shown) <= 300 else shown[:300] + "…")
                except expressions.ExpressionError as err:
                    found[path] = f"⚠ {err}"
            elif isinstance(value, dict):
                for key, item in value.items():
                    walk(item, f"{path}.{key}" if path else str(key))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    walk(item, f"{path}.{index}")

        walk(node.get("parameters") or {}, "")
        found.update(_schedule_previews(node.get("parameters") or {}, self.panel_fields))
        return found

    @rx.event
    def set_output_index(self, index: str) -> None:
        self.output_index = int(index) if str(index).isdigit() else 0
        self._show_items(self.panel_node.get("name") if self.panel_node else None)

    @rx.event
    def set_test_items(self, text: str) -> None:
        self.test_items = text
        self.test_items_error = ""

    def _trigger_name(self) -> str | None:
        """The node a run from the editor starts at: the Manual Trigger, else the first trigger."""
        triggers = [card for card in self.graph.get("nodes", []) if card["trigger"] and not card["disabled"]]
        manual = next((card for card in triggers if card["type"] == "trigger.manual"), None)
        chosen = manual or (triggers[0] if triggers else None)
        return chosen["name"] if chosen else None

    async def _start(self, *, start_node: str | None, reuse: str | None, only: bool = False):
        user = await self._user(Permission.RUN_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            items = json.loads(self.test_items or "[]")
        except json.JSONDecodeError as err:
            self.test_items_error = f"Not valid JSON: {err.msg}."
            return rx.toast.error("The test input is not valid JSON.")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            self.test_items_error = "Give a list of JSON objects, e.g. [{}]."
            return rx.toast.error("The test input must be a list of objects.")
        if self.dirty and allowed(user.role, Permission.EDIT_WORKFLOWS):
            saved = await self._save(user)
            if saved is not True:
                return saved
        options = StartOptions(
            start_node=start_node or self._trigger_name(),
            actor=user,
            pinned=document.pinned(self._doc),
            reuse_execution_id=reuse,
            only_start_node=only,
        )
        try:
            execution = await asyncio.to_thread(executions.start_execution, self.doc_id, items, options)
        except ServiceError as err:
            return self._show_problems(err)
        view = run_view.RunView(execution_id=execution.id, status=execution.status)
        await self._remember(view)
        return EditorState.watch_run

    @rx.event
    async def run_workflow(self):
        return await self._start(start_node=None, reuse=None)

    @rx.event
    async def run_from_selected(self):
        node = self._selected()
        if node is None:
            return rx.toast.info("Select a node first.")
        return await self._start(start_node=node["name"], reuse=self._run.get("id") or None)

    @rx.event
    async def run_selected_only(self):
        """Run the selected node alone on the last run's upstream data, to try its parameters."""
        node = self._selected()
        if node is None:
            return rx.toast.info("Select a node first.")
        return await self._start(start_node=node["name"], reuse=self._run.get("id") or None, only=True)

    @rx.event
    def pin_selected(self):
        """Pin the selected node's last output (editor runs use it instead of running the node)."""
        if (refused := self._refuse()) is not None:
            return refused
        node = self._selected()
        if node is None:
            return None
        if node["name"] in document.pinned(self._doc):
            self._commit(document.pin(self._doc, node["name"], None))
            return rx.toast.info(f"{node['name']} unpinned.")
        outputs = self._run.get("outputs", {}).get(node["name"])
        if not outputs:
            return rx.toast.error("Run the node first: there is no output to pin.")
        self._commit(document.pin(self._doc, node["name"], [{"json": item} for item in outputs[0]]))
        return rx.toast.success(f"{node['name']}'s output is pinned for editor runs.")

    @rx.event
    async def cancel_run(self):
        user = await self._user(Permission.RUN_WORKFLOWS)
        if not isinstance(user, User):
            return user
        try:
            await asyncio.to_thread(executions.cancel_execution, self._run.get("id", ""), actor=user)
        except ServiceError as err:
            return rx.toast.error(err.message)
        return rx.toast.info("Run cancelled.")

    @rx.event(background=True)
    async def watch_run(self):
        """Relay the run's events to the canvas until it ends or the tab closes."""
        async with self:
            execution_id = self._run.get("id", "")
            if not execution_id or self._watching == execution_id:
                return
            self._watching = execution_id
            token = live.client_token(self)
        try:
            async for batch in live.event_batches(token):
                async with self:
                    if self._run.get("id") != execution_id:
                        return
                    view = self._view()
                    # The first, empty batch means "now subscribed": catch up from the database, since a
                    # quick run may have moved on (or ended) before the relay listened.
                    changed, settled = run_view.apply_events(view, batch) if batch else (False, True)
                    if changed:
                        await self._remember(view)  # sent to the canvas when this block ends
                if not settled:
                    continue
                # The run's status changed: its stored steps are the truth (items, errors). Read them
                # after the cards got the events' statuses, and outside the lock.
                stored = await asyncio.to_thread(run_view.load_run, execution_id)
                async with self:
                    if self._run.get("id") != execution_id:
                        return
                    await self._remember(stored)
                if stored.status in run_view.FINISHED:
                    return
        finally:
            async with self:
                if self._watching == execution_id:
                    self._watching = ""

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
