"""Saving the workflow, its versions, activation, and import and export of its JSON.

A mixin of :class:`~hitl_studio.ui.state.editor.EditorState`, which declares every var it uses.
"""

from __future__ import annotations

import asyncio
import json

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.models.users import User
from hitl_studio.services import workflows
from hitl_studio.services.errors import ServiceError
from hitl_studio.services.workflows import WorkflowInput
from hitl_studio.ui.components.times import stamp
from hitl_studio.ui.editor import document, panel_views
from hitl_studio.ui.state.session import NotSignedIn


class Saving(rx.State, mixin=True):
    """Saving the workflow, its versions, activation, and import and export of its JSON."""

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
        self.problems = panel_views.problems_by_node(problems)
        self.problem_lines = panel_views.problem_lines(problems) or [err.message]
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
