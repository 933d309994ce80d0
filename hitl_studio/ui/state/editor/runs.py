"""Running the workflow from the editor and following the run live on the canvas and in the output panel.

A mixin of :class:`~hitl_studio.ui.state.editor.EditorState`, which declares every var it uses; the cards'
statuses go to :class:`~hitl_studio.ui.state.editor.RunProgressState` so a run's ticks re-render the canvas
alone. Events are relayed from the event bus by :mod:`hitl_studio.ui.live`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import reflex as rx

from hitl_studio.auth.roles import Permission, allowed
from hitl_studio.models.users import User
from hitl_studio.services import executions
from hitl_studio.services.errors import ServiceError
from hitl_studio.services.executions import StartOptions
from hitl_studio.ui import live
from hitl_studio.ui.editor import document, panel_views, run_view


class Runs(rx.State, mixin=True):
    """Running the workflow from the editor and following the run live on the canvas and in the output panel."""

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
        # Imported here: RunProgressState is a substate of EditorState, which is built from this mixin.
        from hitl_studio.ui.state.editor import RunProgressState

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
            input_table=panel_views.item_table(inputs),
            output_table=panel_views.item_table(shown),
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
        found.update(panel_views.schedule_previews(node.get("parameters") or {}, self.panel_fields))
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
        # Listen before the run starts: watch_run then sees its first events, not a catch-up read after it.
        token = live.client_token(self)
        await live.listen_ahead(token)
        try:
            execution = await asyncio.to_thread(executions.start_execution, self.doc_id, items, options)
        except ServiceError as err:
            live.drop_ahead(token)
            return self._show_problems(err)
        view = run_view.RunView(execution_id=execution.id, status=execution.status)
        await self._remember(view)
        return type(self).watch_run

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
            async for batch in live.event_batches(token, ahead=True):
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
