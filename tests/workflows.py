"""Building workflow JSON in tests, in n8n's shape, without repeating the boilerplate."""

from __future__ import annotations

from typing import Any

from hitl_studio.engine.graph import WorkflowGraph, parse_workflow
from hitl_studio.engine.host import LocalHost
from hitl_studio.engine.runner import Runner, RunResult
from nodes.registry import NodeRegistry, get_registry
from nodes.sdk import Item


def node(name: str, type_id: str, parameters: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    return {"id": name, "name": name, "type": type_id, "position": [0, 0], "parameters": parameters or {}, **settings}


def workflow(
    nodes: list[dict[str, Any]],
    links: list[tuple[str, str] | tuple[str, int, str] | tuple[str, int, str, int]],
    **settings: Any,
) -> dict[str, Any]:
    """``links`` are (source, target), (source, output, target) or (source, output, target, input)."""
    connections: dict[str, dict[str, list[list[dict[str, Any]]]]] = {}
    for link in links:
        if len(link) == 2:
            source, output, target, input_index = link[0], 0, link[1], 0
        elif len(link) == 3:
            source, output, target, input_index = link[0], link[1], link[2], 0
        else:
            source, output, target, input_index = link  # type: ignore[misc]
        outputs = connections.setdefault(str(source), {"main": []})["main"]
        while len(outputs) <= int(output):
            outputs.append([])
        outputs[int(output)].append({"node": target, "type": "main", "index": input_index})
    return {"name": "test workflow", "nodes": nodes, "connections": connections, "settings": settings}


def run(
    data: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    *,
    start: str | None = None,
    host: LocalHost | None = None,
    registry: NodeRegistry | None = None,
    **options: Any,
) -> RunResult:
    """Run ``data`` in process from its first node (or ``start``) with ``items`` as the trigger's data."""
    graph: WorkflowGraph = parse_workflow(data)
    runner = Runner(graph, registry or get_registry(), host or LocalHost(), execution_id="exec-test")
    first = start or data["nodes"][0]["name"]
    return runner.start(first, [Item(item) for item in (items or [])], **options)


def output_json(result: RunResult, node_name: str, output: int = 0) -> list[dict[str, Any]]:
    """The JSON of ``node_name``'s last run's items on ``output``."""
    produced = result.last_outputs[node_name]
    return [item.json for item in produced[output]]
