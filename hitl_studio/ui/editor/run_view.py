"""A run as the editor shows it: a status and item counts per node card, items per node for the panels.

Built two ways that must agree: from a stored run (opening ``?execution=``,
or re-reading when a run ends) and from the bus's ``node.*`` events while a
run goes. The canvas keys cards by node id; runs record node names, so the
document's name → id map joins them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hitl_studio.engine.states import RunStatus
from hitl_studio.services import executions

FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
"""Run statuses after which nothing more will happen (``waiting`` may still resume)."""
_UNDERWAY = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


@dataclass
class RunView:
    """One run's data in the editor."""

    execution_id: str = ""
    status: str = ""
    error: str = ""
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Node name → ``{"status", "items": [count per output], "total", "message"}``."""
    inputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Node name → the json of the items on its first input (its last run)."""
    outputs: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    """Node name → the json of the items on each output (its last run)."""


def _json_items(data: Mapping[str, Any] | None) -> list[list[dict[str, Any]]]:
    if not data:
        return []
    return [[item.get("json", {}) for item in items or []] for items in data.get("main") or []]


def load_run(execution_id: str) -> RunView:
    """A stored run's statuses and items (the last run of each node wins, as on n8n's canvas)."""
    execution, steps, _events = executions.get_execution(execution_id)
    view = RunView(execution_id=execution.id, status=execution.status, error=_run_error(execution))
    for step in sorted(steps, key=lambda row: (row.started_at, row.run_index)):
        raw_input, raw_output = executions.step_data(step)
        inputs, outputs = _json_items(raw_input), _json_items(raw_output)
        view.inputs[step.node_name] = inputs[0] if inputs else []
        view.outputs[step.node_name] = outputs
        view.statuses[step.node_name] = status_entry(
            step.status, [len(items) for items in outputs], (step.error or {}).get("message")
        )
    return view


def _run_error(execution: Any) -> str:
    error = getattr(execution, "error", None)
    if isinstance(error, Mapping):
        return str(error.get("message", ""))
    return str(error or "")


def status_entry(status: str, counts: list[int] | None, message: str | None) -> dict[str, Any]:
    counts = list(counts or [])
    return {"status": status, "items": counts, "total": sum(counts) if counts else None, "message": message or ""}


def apply_events(view: RunView, batch: Iterable[Mapping[str, Any]]) -> tuple[bool, bool]:
    """Fold bus events about ``view``'s run into it.

    Returns:
        (changed, settled): whether any card changed, and whether the run
        paused or ended, so its stored data should be re-read.
    """
    changed = settled = False
    for event in batch:
        if event.get("execution_id") != view.execution_id:
            continue
        kind = event.get("type")
        if kind == "node.started":
            previous = view.statuses.get(str(event["node"]), {})
            view.statuses[str(event["node"])] = {**status_entry("running", None, None), **_counts_only(previous)}
            changed = True
        elif kind == "node.finished":
            view.statuses[str(event["node"])] = status_entry(
                str(event.get("status", RunStatus.SUCCEEDED)), event.get("items"), event.get("error")
            )
            changed = True
        elif kind == "execution.status":
            view.status = str(event.get("status", view.status))
            # Queued → running changes nothing stored worth re-reading; a pause or an end does.
            changed = True
            settled = settled or view.status not in _UNDERWAY
    return changed, settled


def _counts_only(previous: Mapping[str, Any]) -> dict[str, Any]:
    return {"items": previous["items"], "total": previous["total"]} if previous.get("items") else {}


def card_statuses(view: RunView, ids_by_name: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``statuses`` prop of the canvas: node id → entry, for nodes still in the document."""
    return {ids_by_name[name]: entry for name, entry in view.statuses.items() if name in ids_by_name}
