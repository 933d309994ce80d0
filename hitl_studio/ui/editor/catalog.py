"""What the editor shows of the node registry: the palette, and the graph the canvas draws.

The palette and the card of every node come from the same node descriptions
``GET /api/v1/nodes`` serves, so a node installed from a third-party package
appears in the editor with no change here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from hitl_studio.ui.editor.document import Document, edges, notes, pinned
from nodes.registry import get_registry
from nodes.sdk import Category, Node, TriggerNode

CATEGORY_LABELS: dict[str, str] = {
    Category.TRIGGER: "Triggers",
    Category.HUMAN: "Human in the loop",
    Category.FLOW: "Flow",
    Category.DATA: "Data",
    Category.FILES: "Files",
    Category.ACTION: "Actions",
    Category.INTEGRATION: "Integrations",
    Category.AI: "AI",
    Category.UTILITY: "Utilities",
}
"""Palette sections, in the order a builder reaches for them."""


@functools.cache
def descriptions() -> dict[str, dict[str, Any]]:
    """Every node type's description (newest version), by type id."""
    return {cls.type: cls.describe() for cls in get_registry().node_classes()}


def node_class(node_type: str) -> type[Node] | None:
    registry = get_registry()
    return registry.get(node_type) if registry.has(node_type) else None


def palette() -> list[dict[str, Any]]:
    """Sections of ``{"type", "name", "description", "icon", "search"}`` entries, by category."""
    sections: dict[str, list[dict[str, Any]]] = {key: [] for key in CATEGORY_LABELS}
    for type_id, info in sorted(descriptions().items(), key=lambda pair: pair[1]["display_name"].lower()):
        entry = {
            "type": type_id,
            "name": info["display_name"],
            "description": info["description"],
            "icon": info["icon"],
            "search": f"{info['display_name']} {type_id} {info['description']}".lower(),
        }
        sections.setdefault(info["category"], []).append(entry)
    return [
        {"key": key, "label": CATEGORY_LABELS.get(key, key.title()), "nodes": entries}
        for key, entries in sections.items()
        if entries
    ]


def output_labels(node: Mapping[str, Any], cls: type[Node] | None) -> list[str]:
    """The node's output handles: its class's names for these parameters, plus ``error`` when routed there."""
    names = list(cls.output_names(node.get("parameters") or {})) if cls is not None else ["main"]
    if node.get("on_error") == "continue_error_output":
        names.append("error")
    return names


def _subtitle(node: Mapping[str, Any], info: Mapping[str, Any] | None) -> str:
    if info is None:
        return f"Unknown node type {node.get('type')}"
    key = info.get("subtitle")
    value = (node.get("parameters") or {}).get(key) if key else None
    return value if isinstance(value, str) and value else info["display_name"]


def canvas_node(node: Mapping[str, Any], *, problem: str = "", is_pinned: bool = False) -> dict[str, Any]:
    """One node as the canvas card draws it."""
    info = descriptions().get(str(node.get("type")))
    cls = node_class(str(node.get("type")))
    x, y = (node.get("position") or [0, 0])[:2]
    return {
        "id": node["id"],
        "name": node["name"],
        "type": node.get("type"),
        "label": info["display_name"] if info else str(node.get("type")),
        "subtitle": _subtitle(node, info),
        "description": info["description"] if info else "This node type is not installed.",
        "icon": info["icon"] if info else "circle-help",
        "inputs": list(cls.inputs) if cls is not None else ["main"],
        "outputs": output_labels(node, cls),
        "trigger": cls is not None and issubclass(cls, TriggerNode),
        "disabled": bool(node.get("disabled")),
        "pinned": is_pinned,
        "problem": problem if info else problem or "This node type is not installed.",
        "x": x,
        "y": y,
    }


def canvas_graph(
    doc: Document, *, version: int, fit_key: str, problems: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``graph`` prop of the canvas: cards, edges that point at existing handles, sticky notes.

    ``version`` must grow with every structural change (the canvas re-reads the
    graph only then); ``fit_key`` changes when the view should re-fit (another
    workflow loaded, an import).
    """
    problems = problems or {}
    pins = pinned(doc)
    cards = [
        canvas_node(node, problem=problems.get(node["name"], ""), is_pinned=node["name"] in pins)
        for node in doc.get("nodes", [])
    ]
    handles = {card["id"]: (len(card["inputs"]), len(card["outputs"])) for card in cards}
    valid_edges = [
        edge
        for edge in edges(doc)
        if int(edge["sourceHandle"][4:]) < handles[edge["source"]][1]
        and int(edge["targetHandle"][3:]) < handles[edge["target"]][0]
    ]
    return {"version": version, "fit_key": fit_key, "nodes": cards, "edges": valid_edges, "notes": notes(doc)}
