"""Edits of a workflow document, as the canvas makes them: pure functions on n8n-shaped JSON.

The editor keeps the workflow being edited as the same JSON the API stores
(see :mod:`hitl_studio.engine.graph`); every canvas action is one function
here that returns a new document, so undo/redo is a stack of documents and
each action is tested without a browser. Connections are keyed by node
*name* (n8n's shape), the canvas by node *id* (names change on rename), so
this module is where the two meet.

Sticky notes are not nodes the engine runs: they live in
``settings["sticky_notes"]``. Pinned outputs for editor runs live in
``settings["pin_data"]`` (node name → items), as n8n's ``pinData``.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

Document = dict[str, Any]
NOTES_KEY = "sticky_notes"
PIN_KEY = "pin_data"
NOTE_PREFIX = "note-"
PASTE_OFFSET = 40


class EditError(ValueError):
    """An edit that cannot be made (unknown node, a name taken, a bad connection); the message is for the builder."""


def empty_document(name: str) -> Document:
    return {"name": name, "nodes": [], "connections": {}, "settings": {}}


def new_id() -> str:
    return str(uuid.uuid4())


def nodes_by_id(doc: Document) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in doc.get("nodes", []) if node.get("id")}


def node_by_name(doc: Document, name: str) -> dict[str, Any] | None:
    return next((node for node in doc.get("nodes", []) if node.get("name") == name), None)


def with_ids(doc: Document) -> Document:
    """The document with an ``id`` on every node (imported n8n JSON may lack them)."""
    result = copy.deepcopy(doc)
    result.setdefault("nodes", [])
    result.setdefault("connections", {})
    result.setdefault("settings", {})
    for node in result["nodes"]:
        if not node.get("id"):
            node["id"] = new_id()
    return result


def unique_name(doc: Document, base: str) -> str:
    """``base``, or ``base 1``, ``base 2``… (n8n's rule) when a node already has that name."""
    taken = {node.get("name") for node in doc.get("nodes", [])}
    if base not in taken:
        return base
    stem = re.sub(r" \d+$", "", base)
    number = 1
    while f"{stem} {number}" in taken:
        number += 1
    return f"{stem} {number}"


def add_node(doc: Document, *, node_type: str, display_name: str, x: float, y: float) -> tuple[Document, str]:
    """Add a node of ``node_type`` at (x, y); returns the new document and the node's id."""
    result = copy.deepcopy(doc)
    node = {
        "id": new_id(),
        "name": unique_name(result, display_name),
        "type": node_type,
        "type_version": None,
        "position": [round(x), round(y)],
        "parameters": {},
    }
    result.setdefault("nodes", []).append(node)
    return result, node["id"]


def edge_id(source_id: str, output: int, target_id: str, input_index: int) -> str:
    return f"{source_id}:{output}>{target_id}:{input_index}"


def _handle_index(handle: str, prefix: str) -> int:
    if not handle.startswith(prefix) or not handle[len(prefix) :].isdigit():
        raise EditError(f"Unknown handle {handle!r}.")
    return int(handle[len(prefix) :])


def connect(doc: Document, *, source: str, source_handle: str, target: str, target_handle: str) -> Document:
    """Connect output ``out-N`` of node id ``source`` to input ``in-M`` of node id ``target``."""
    by_id = nodes_by_id(doc)
    if source not in by_id or target not in by_id:
        raise EditError("Both ends of a connection must be nodes of this workflow.")
    if source == target:
        raise EditError("A node cannot feed itself; use Loop Over Items for loops.")
    output = _handle_index(source_handle, "out-")
    input_index = _handle_index(target_handle, "in-")
    result = copy.deepcopy(doc)
    source_name, target_name = by_id[source]["name"], by_id[target]["name"]
    outputs = result.setdefault("connections", {}).setdefault(source_name, {}).setdefault("main", [])
    while len(outputs) <= output:
        outputs.append([])
    link = {"node": target_name, "type": "main", "index": input_index}
    if link not in outputs[output]:
        outputs[output].append(link)
    return result


def edges(doc: Document) -> list[dict[str, Any]]:
    """Every connection as a canvas edge (ids, handles); links to unknown nodes are left out."""
    ids = {node.get("name"): node["id"] for node in doc.get("nodes", []) if node.get("id")}
    found = []
    for source_name, kinds in (doc.get("connections") or {}).items():
        for output, links in enumerate((kinds or {}).get("main") or []):
            for link in links or []:
                source_id, target_id = ids.get(source_name), ids.get(link.get("node"))
                if source_id is None or target_id is None:
                    continue
                input_index = int(link.get("index") or 0)
                found.append(
                    {
                        "id": edge_id(source_id, output, target_id, input_index),
                        "source": source_id,
                        "sourceHandle": f"out-{output}",
                        "target": target_id,
                        "targetHandle": f"in-{input_index}",
                    }
                )
    return found


def _drop_links(doc: Document, keep: Any) -> None:
    """Remove every link for which ``keep(source_name, output, link)`` is false, in place."""
    for source_name in list(doc.get("connections", {})):
        outputs = doc["connections"][source_name].get("main") or []
        doc["connections"][source_name]["main"] = [
            [link for link in links or [] if keep(source_name, output, link)] for output, links in enumerate(outputs)
        ]
        if not any(doc["connections"][source_name]["main"]):
            del doc["connections"][source_name]


def remove(doc: Document, *, node_ids: Iterable[str] = (), edge_ids: Iterable[str] = ()) -> Document:
    """Delete nodes (with their connections and pinned data), notes and single edges."""
    result = copy.deepcopy(doc)
    gone_ids = set(node_ids)
    gone_names = {node["name"] for node in result.get("nodes", []) if node.get("id") in gone_ids}
    result["nodes"] = [node for node in result.get("nodes", []) if node.get("id") not in gone_ids]
    settings = result.setdefault("settings", {})
    if settings.get(NOTES_KEY):
        settings[NOTES_KEY] = [note for note in settings[NOTES_KEY] if note["id"] not in gone_ids]
    for name in gone_names:
        settings.get(PIN_KEY, {}).pop(name, None)
    gone_edges = set(edge_ids)
    ids = {node.get("name"): node["id"] for node in doc.get("nodes", []) if node.get("id")}

    def keep(source_name: str, output: int, link: Mapping[str, Any]) -> bool:
        if source_name in gone_names or link.get("node") in gone_names:
            return False
        key = edge_id(ids.get(source_name, ""), output, ids.get(link.get("node"), ""), int(link.get("index") or 0))
        return key not in gone_edges

    _drop_links(result, keep)
    return result


def move(doc: Document, moves: Iterable[Mapping[str, Any]]) -> Document:
    """Set the positions of nodes and notes from ``[{"id", "x", "y"}]`` (unknown ids are ignored)."""
    where = {str(move["id"]): [round(float(move["x"])), round(float(move["y"]))] for move in moves}
    result = copy.deepcopy(doc)
    for node in result.get("nodes", []):
        if node.get("id") in where:
            node["position"] = where[node["id"]]
    for note in result.get("settings", {}).get(NOTES_KEY, []):
        if note["id"] in where:
            note["x"], note["y"] = where[note["id"]]
    return result


def _reference_patterns(old: str) -> list[tuple[re.Pattern[str], str]]:
    quoted = re.escape(old)
    return [
        (re.compile(r'\$node\[\s*"' + quoted + r'"\s*\]'), '$node["{new}"]'),
        (re.compile(r"\$node\[\s*'" + quoted + r"'\s*\]"), "$node['{new}']"),
        (re.compile(r'\$\(\s*"' + quoted + r'"\s*\)'), '$("{new}")'),
        (re.compile(r"\$\(\s*'" + quoted + r"'\s*\)"), "$('{new}')"),
    ]


def _rewrite_strings(value: Any, patterns: list[tuple[re.Pattern[str], str]], new: str) -> Any:
    if isinstance(value, str):
        for pattern, replacement in patterns:
            value = pattern.sub(lambda _match, r=replacement: r.format(new=new), value)
        return value
    if isinstance(value, list):
        return [_rewrite_strings(item, patterns, new) for item in value]
    if isinstance(value, dict):
        return {key: _rewrite_strings(item, patterns, new) for key, item in value.items()}
    return value


def rename(doc: Document, node_id: str, new_name: str) -> Document:
    """Rename a node, and every connection, pinned output and ``$node["…"]`` expression that names it."""
    new_name = new_name.strip()
    if not new_name:
        raise EditError("A node needs a name.")
    node = nodes_by_id(doc).get(node_id)
    if node is None:
        raise EditError("That node is no longer in the workflow.")
    old = node["name"]
    if new_name == old:
        return doc
    if node_by_name(doc, new_name) is not None:
        raise EditError(f"Another node is already called {new_name!r}.")
    result = copy.deepcopy(doc)
    patterns = _reference_patterns(old)
    for each in result["nodes"]:
        if each["id"] == node_id:
            each["name"] = new_name
        each["parameters"] = _rewrite_strings(each.get("parameters") or {}, patterns, new_name)
    connections = {}
    for source_name, kinds in result.get("connections", {}).items():
        for links in (kinds or {}).get("main") or []:
            for link in links or []:
                if link.get("node") == old:
                    link["node"] = new_name
        connections[new_name if source_name == old else source_name] = kinds
    result["connections"] = connections
    pins = result.get("settings", {}).get(PIN_KEY)
    if pins and old in pins:
        pins[new_name] = pins.pop(old)
    return result


def update_node(doc: Document, node_id: str, **fields: Any) -> Document:
    """Replace top-level fields of one node (parameters, disabled, notes, retry settings…)."""
    if node_id not in nodes_by_id(doc):
        raise EditError("That node is no longer in the workflow.")
    result = copy.deepcopy(doc)
    for node in result["nodes"]:
        if node["id"] == node_id:
            node.update(copy.deepcopy(fields))
    return result


def copy_fragment(doc: Document, ids: Iterable[str]) -> Document:
    """The chosen nodes and notes with the connections among them: what the clipboard holds."""
    chosen = set(ids)
    nodes = [copy.deepcopy(node) for node in doc.get("nodes", []) if node.get("id") in chosen]
    names = {node["name"] for node in nodes}
    notes = [copy.deepcopy(note) for note in doc.get("settings", {}).get(NOTES_KEY, []) if note["id"] in chosen]
    connections: dict[str, Any] = {}
    for source_name in names:
        outputs = (doc.get("connections", {}).get(source_name) or {}).get("main") or []
        kept = [[copy.deepcopy(link) for link in links or [] if link.get("node") in names] for links in outputs]
        if any(kept):
            connections[source_name] = {"main": kept}
    return {"nodes": nodes, "connections": connections, "settings": {NOTES_KEY: notes}}


def paste(doc: Document, fragment: Mapping[str, Any], offset: int = PASTE_OFFSET) -> tuple[Document, list[str]]:
    """Add a copied fragment, shifted by ``offset``, with fresh ids and names that don't clash."""
    result = copy.deepcopy(doc)
    result.setdefault("nodes", [])
    renamed: dict[str, str] = {}
    new_ids = []
    for node in copy.deepcopy(list(fragment.get("nodes", []))):
        name = unique_name(result, node["name"])
        renamed[node["name"]] = name
        node.update(id=new_id(), name=name)
        x, y = (node.get("position") or [0, 0])[:2]
        node["position"] = [x + offset, y + offset]
        result["nodes"].append(node)
        new_ids.append(node["id"])
    for source_name, kinds in (fragment.get("connections") or {}).items():
        outputs = [
            [{**link, "node": renamed[link["node"]]} for link in links or [] if link.get("node") in renamed]
            for links in (kinds or {}).get("main") or []
        ]
        if source_name in renamed and any(outputs):
            result.setdefault("connections", {})[renamed[source_name]] = {"main": outputs}
    for note in copy.deepcopy(list((fragment.get("settings") or {}).get(NOTES_KEY, []))):
        note.update(id=NOTE_PREFIX + new_id(), x=note["x"] + offset, y=note["y"] + offset)
        result.setdefault("settings", {}).setdefault(NOTES_KEY, []).append(note)
        new_ids.append(note["id"])
    return result, new_ids


def add_note(doc: Document, *, x: float, y: float, text: str = "") -> tuple[Document, str]:
    result = copy.deepcopy(doc)
    note = {"id": NOTE_PREFIX + new_id(), "text": text, "x": round(x), "y": round(y), "width": 240, "height": 140}
    result.setdefault("settings", {}).setdefault(NOTES_KEY, []).append(note)
    return result, note["id"]


def update_note(doc: Document, change: Mapping[str, Any]) -> Document:
    """Apply ``{"id", "text", "width", "height"}`` from the canvas to a sticky note."""
    result = copy.deepcopy(doc)
    for note in result.get("settings", {}).get(NOTES_KEY, []):
        if note["id"] == change.get("id"):
            note["text"] = str(change.get("text", note["text"]))[:10_000]
            for key in ("width", "height"):
                if isinstance(change.get(key), int | float) and change[key] > 0:
                    note[key] = round(change[key])
            return result
    raise EditError("That note is no longer in the workflow.")


def pin(doc: Document, node_name: str, items: list[dict[str, Any]] | None) -> Document:
    """Pin ``items`` as the output of ``node_name`` for editor runs, or unpin with ``None``."""
    result = copy.deepcopy(doc)
    pins = result.setdefault("settings", {}).setdefault(PIN_KEY, {})
    if items is None:
        pins.pop(node_name, None)
    else:
        pins[node_name] = copy.deepcopy(items)
    if not pins:
        result["settings"].pop(PIN_KEY)
    return result


def notes(doc: Document) -> list[dict[str, Any]]:
    return list(doc.get("settings", {}).get(NOTES_KEY, []))


def pinned(doc: Document) -> dict[str, list[dict[str, Any]]]:
    return dict(doc.get("settings", {}).get(PIN_KEY, {}))
