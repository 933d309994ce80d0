"""Workflows as data: n8n's JSON shape parsed into an immutable graph, and its validation.

The JSON (what the API stores and the canvas edits)::

    {"name": "...",
     "nodes": [{"id", "name", "type", "type_version", "position": [x, y], "parameters",
                "credentials", "disabled", "on_error", "retry_on_fail", "max_tries",
                "wait_between_tries", "timeout", "always_output_data", "execute_once", "notes"}],
     "connections": {"<source name>": {"main": [[{"node": "<target name>", "type": "main", "index": 0}], ...]}},
     "settings": {"error_workflow": "<workflow id>", "timezone": "UTC", ...}}

Connections are by node *name*, as in n8n, so imported workflows keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from hitl_studio.engine import expressions
from nodes.registry import NodeRegistry, UnknownNodeType
from nodes.sdk import Node, TriggerNode, literal_fields


class OnError(StrEnum):
    """What a node failure does to the run."""

    STOP = "stop"
    CONTINUE = "continue"
    """Emit the error as an item on the first output and go on."""
    ERROR_OUTPUT = "continue_error_output"
    """Emit the error as an item on an extra last output named ``error``."""


MAX_TRIES_LIMIT = 10


@dataclass(frozen=True)
class NodeSpec:
    """One node of a workflow, as saved, with its per-node run settings."""

    id: str
    name: str
    type: str
    type_version: int | None
    parameters: Mapping[str, Any]
    position: tuple[float, float] = (0.0, 0.0)
    credentials: Mapping[str, Any] = field(default_factory=dict)
    disabled: bool = False
    on_error: OnError = OnError.STOP
    retry_on_fail: bool = False
    max_tries: int = 3
    wait_between_tries: int = 1000
    """Milliseconds before the first retry; doubled after each further failure."""
    timeout: float | None = None
    """Seconds; ``None`` means no limit."""
    always_output_data: bool = False
    execute_once: bool = False
    notes: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    output: int
    target: str
    input: int


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow, for the 422 list and the canvas."""

    message: str
    node: str | None = None
    parameter: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "parameter": self.parameter, "message": self.message}


class GraphError(ValueError):
    """The workflow JSON cannot even be read as a graph (structure, not content)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join((f"{p.node}: " if p.node else "") + p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class WorkflowGraph:
    """A parsed workflow. Build with :func:`parse_workflow`."""

    name: str
    nodes: Mapping[str, NodeSpec]
    edges: tuple[Edge, ...]
    settings: Mapping[str, Any]
    _children: Mapping[tuple[str, int], tuple[Edge, ...]] = field(repr=False, default_factory=dict)
    _parents: Mapping[str, tuple[Edge, ...]] = field(repr=False, default_factory=dict)

    def children(self, node: str, output: int) -> tuple[Edge, ...]:
        return self._children.get((node, output), ())

    def parents(self, node: str) -> tuple[Edge, ...]:
        return self._parents.get(node, ())

    def connected_inputs(self, node: str) -> frozenset[int]:
        return frozenset(edge.input for edge in self.parents(node))


def _number(raw: Mapping[str, Any], key: str, default: Any, problems: list[Problem], name: str) -> Any:
    value = raw.get(key, default)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    problems.append(Problem(f"'{key}' must be a number", node=name))
    return default


def _node_spec(raw: Any, index: int, problems: list[Problem]) -> NodeSpec | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(f"nodes[{index}] must be an object"))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"nodes[{index}] needs a non-empty 'name'"))
        return None
    type_id = raw.get("type")
    if not isinstance(type_id, str) or not type_id:
        problems.append(Problem("needs a 'type'", node=name))
        return None
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        problems.append(Problem("'parameters' must be an object", node=name))
        parameters = {}
    position = raw.get("position") or (0, 0)
    if not (
        isinstance(position, list | tuple) and len(position) == 2 and all(isinstance(v, int | float) for v in position)
    ):
        problems.append(Problem("'position' must be [x, y]", node=name))
        position = (0, 0)
    try:
        on_error = OnError(raw.get("on_error") or OnError.STOP)
    except ValueError:
        problems.append(Problem(f"'on_error' must be one of {', '.join(OnError)}", node=name))
        on_error = OnError.STOP
    version = raw.get("type_version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        problems.append(Problem("'type_version' must be a whole number ≥ 1", node=name))
        version = None
    max_tries = _number(raw, "max_tries", 3, problems, name)
    if not 1 <= int(max_tries) <= MAX_TRIES_LIMIT:
        problems.append(Problem(f"'max_tries' must be between 1 and {MAX_TRIES_LIMIT}", node=name))
        max_tries = 3
    timeout = _number(raw, "timeout", None, problems, name)
    if timeout is not None and timeout <= 0:
        problems.append(Problem("'timeout' must be more than 0 seconds", node=name))
        timeout = None
    credentials = raw.get("credentials") or {}
    if not isinstance(credentials, Mapping):
        problems.append(Problem("'credentials' must be an object", node=name))
        credentials = {}
    return NodeSpec(
        id=str(raw.get("id") or name),
        name=name,
        type=type_id,
        type_version=version,
        parameters=dict(parameters),
        position=(float(position[0]), float(position[1])),
        credentials=dict(credentials),
        disabled=bool(raw.get("disabled", False)),
        on_error=on_error,
        retry_on_fail=bool(raw.get("retry_on_fail", False)),
        max_tries=int(max_tries),
        wait_between_tries=int(_number(raw, "wait_between_tries", 1000, problems, name)),
        timeout=timeout,
        always_output_data=bool(raw.get("always_output_data", False)),
        execute_once=bool(raw.get("execute_once", False)),
        notes=str(raw.get("notes") or ""),
    )


def _edges(connections: Any, names: set[str], problems: list[Problem]) -> list[Edge]:
    edges: list[Edge] = []
    if not isinstance(connections, Mapping):
        problems.append(Problem("'connections' must be an object keyed by node name"))
        return edges
    for source, by_type in connections.items():
        if source not in names:
            problems.append(Problem(f"connections come from unknown node {source!r}"))
            continue
        if not isinstance(by_type, Mapping):
            problems.append(Problem("connections must be {'main': [[...], ...]}", node=source))
            continue
        outputs = by_type.get("main") or []
        if not isinstance(outputs, list):
            problems.append(Problem("connections 'main' must be a list of outputs", node=source))
            continue
        for output_index, targets in enumerate(outputs):
            for target in targets or []:
                if not isinstance(target, Mapping) or not isinstance(target.get("node"), str):
                    problems.append(Problem(f"output {output_index} has a malformed connection", node=source))
                    continue
                if target["node"] not in names:
                    problems.append(
                        Problem(f"output {output_index} connects to unknown node {target['node']!r}", node=source)
                    )
                    continue
                input_index = target.get("index", 0)
                if not isinstance(input_index, int) or input_index < 0:
                    problems.append(Problem(f"connection to {target['node']!r} has a bad input index", node=source))
                    continue
                edges.append(Edge(source, output_index, target["node"], input_index))
    return edges


def parse_workflow(data: Mapping[str, Any]) -> WorkflowGraph:
    """Read workflow JSON into a graph.

    Raises:
        GraphError: The JSON is structurally wrong (not an object, nodes missing names,
            duplicate names, connections to unknown nodes...), listing every problem.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise GraphError([Problem("a workflow must be a JSON object")])
    raw_nodes = data.get("nodes", [])
    if not isinstance(raw_nodes, list):
        raise GraphError([Problem("'nodes' must be a list")])
    nodes: dict[str, NodeSpec] = {}
    for index, raw in enumerate(raw_nodes):
        spec = _node_spec(raw, index, problems)
        if spec is None:
            continue
        if spec.name in nodes:
            problems.append(Problem("two nodes have this name; names must be unique", node=spec.name))
            continue
        nodes[spec.name] = spec
    edges = _edges(data.get("connections", {}), set(nodes), problems)
    settings = data.get("settings") or {}
    if not isinstance(settings, Mapping):
        problems.append(Problem("'settings' must be an object"))
        settings = {}
    if problems:
        raise GraphError(problems)
    children: dict[tuple[str, int], list[Edge]] = {}
    parents: dict[str, list[Edge]] = {}
    for edge in edges:
        children.setdefault((edge.source, edge.output), []).append(edge)
        parents.setdefault(edge.target, []).append(edge)
    return WorkflowGraph(
        name=str(data.get("name") or ""),
        nodes=nodes,
        edges=tuple(edges),
        settings=dict(settings),
        _children={key: tuple(value) for key, value in children.items()},
        _parents={key: tuple(value) for key, value in parents.items()},
    )


def output_names(spec: NodeSpec, cls: type[Node]) -> tuple[str, ...]:
    """The outputs a node has with its parameters and settings (an error output is added on request)."""
    names = cls.output_names(spec.parameters)
    return (*names, "error") if spec.on_error is OnError.ERROR_OUTPUT else names


def _parameter_problems(spec: NodeSpec, cls: type[Node]) -> Iterable[Problem]:
    """Check parameters without data: required ones present, literal values well-typed, expressions parse."""
    model = cls.Parameters
    fields = model.model_fields
    for key in spec.parameters:
        if key not in fields:
            yield Problem(f"unknown parameter {key!r}", node=spec.name, parameter=key)
    literal: dict[str, Any] = {}
    fixed = literal_fields(model)
    for key, info in fields.items():
        if key not in spec.parameters:
            if info.is_required():
                yield Problem("is required", node=spec.name, parameter=key)
            continue
        value = spec.parameters[key]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if expressions.contains_expression(value) and extra.get("widget") != "code":
            if key in fixed:
                yield Problem("does not take expressions; enter a fixed value", node=spec.name, parameter=key)
                continue
            for template in _strings(value):
                message = expressions.check(template)
                if message:
                    yield Problem(message, node=spec.name, parameter=key)
            continue
        literal[key] = value
    try:
        model.model_validate({**_placeholders(model, spec.parameters), **literal})
    except ValidationError as err:
        for error in err.errors():
            location = [str(part) for part in error.get("loc", ())]
            if location and location[0] in literal:
                yield Problem(error.get("msg", "invalid"), node=spec.name, parameter=".".join(location))


def _placeholders(model: type[Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Stand-ins for expression-valued fields so the rest of the model can be validated alone."""
    values: dict[str, Any] = {}
    fixed = literal_fields(model)
    for key, info in model.model_fields.items():
        if key in parameters and key not in fixed and expressions.contains_expression(parameters[key]):
            values[key] = info.get_default(call_default_factory=True) if not info.is_required() else None
    return {key: value for key, value in values.items() if value is not None}


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _cycle_problems(graph: WorkflowGraph, loop_nodes: set[str]) -> Iterable[Problem]:
    """Report cycles that do not pass through a loop node (they would run forever)."""
    # Cut the loop nodes' incoming edges: any cycle left is one without a loop node.
    adjacency: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for edge in graph.edges:
        if edge.target not in loop_nodes:
            adjacency[edge.source].append(edge.target)
    state: dict[str, int] = {}
    reported: set[str] = set()
    for root in graph.nodes:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            name, index = stack.pop()
            if index == 0:
                state[name] = 1
                path.append(name)
            if index < len(adjacency[name]):
                stack.append((name, index + 1))
                child = adjacency[name][index]
                if state.get(child) == 1 and child not in reported:
                    reported.add(child)
                    cycle = path[path.index(child) :]
                    yield Problem(
                        "is in a cycle (" + " → ".join([*cycle, child]) + "); loops must go through Loop Over Items",
                        node=child,
                    )
                elif not state.get(child):
                    stack.append((child, 0))
            else:
                state[name] = 2
                path.pop()


def validate(graph: WorkflowGraph, registry: NodeRegistry) -> list[Problem]:
    """Every problem a workflow has before it runs: types, connections, parameters, expressions, cycles."""
    problems: list[Problem] = []
    loop_nodes: set[str] = set()
    for spec in graph.nodes.values():
        try:
            cls = registry.get(spec.type, spec.type_version)
        except UnknownNodeType as err:
            problems.append(Problem(str(err), node=spec.name))
            continue
        if cls.allows_cycles:
            loop_nodes.add(spec.name)
        problems.extend(_parameter_problems(spec, cls))
        outputs = output_names(spec, cls)
        for edge in graph.edges:
            if edge.source == spec.name and edge.output >= len(outputs):
                problems.append(Problem(f"has no output {edge.output} (it has {len(outputs)})", node=spec.name))
            if edge.target == spec.name and edge.input >= len(cls.inputs):
                detail = "a trigger has no inputs" if not cls.inputs else f"it has {len(cls.inputs)} input(s)"
                problems.append(Problem(f"receives a connection on input {edge.input}, but {detail}", node=spec.name))
    problems.extend(_cycle_problems(graph, loop_nodes))
    return problems


def trigger_nodes(graph: WorkflowGraph, registry: NodeRegistry) -> list[tuple[NodeSpec, type[TriggerNode]]]:
    """The enabled trigger nodes of a workflow with their classes (unknown types are skipped)."""
    found: list[tuple[NodeSpec, type[TriggerNode]]] = []
    for spec in graph.nodes.values():
        if spec.disabled or not registry.has(spec.type, spec.type_version):
            continue
        cls = registry.get(spec.type, spec.type_version)
        if issubclass(cls, TriggerNode):
            found.append((spec, cls))
    return found
