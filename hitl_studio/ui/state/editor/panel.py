"""The config panel: the selected node's parameter form, its settings and its credentials.

A mixin of :class:`~hitl_studio.ui.state.editor.EditorState`, which declares every var it uses. The form is
built from the node's parameter schema by :mod:`hitl_studio.ui.editor.param_fields`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission
from hitl_studio.services import credentials as credential_service
from hitl_studio.ui.editor import catalog, document, param_fields
from hitl_studio.ui.editor.document import EditError
from hitl_studio.ui.state.session import NotSignedIn


class ConfigPanel(rx.State, mixin=True):
    """The config panel: the selected node's parameter form, its settings and its credentials."""

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
