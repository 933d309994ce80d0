"""Running a workflow graph: items flow from node to node until the graph is done or pauses.

The order is n8n's (v1): depth first, output 0's branch before output 1's. A
node with several connected inputs (Merge) waits until every input has
received data; if the graph runs dry first, it runs with what it has. A cycle
through a loop node simply runs nodes again (``run_index`` counts); a guard
stops runaway runs.

A node that returns :class:`nodes.sdk.Wait` pauses the run: :meth:`Runner.start`
returns the *frontier* (everything needed to go on) as JSON, the caller stores
it, and :meth:`Runner.resume` continues later, in another process if need be.

A node that puts ``state["response"]`` (Respond to Webhook) chooses the HTTP
answer of a webhook run: the first one of a run is handed to
:meth:`Hooks.responded` as soon as that node succeeds, so the caller can be
answered while the run goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from hitl_studio.engine.context import NodeContext
from hitl_studio.engine.graph import NodeSpec, OnError, WorkflowGraph, output_names
from hitl_studio.engine.host import Host
from hitl_studio.engine.states import RunStatus
from nodes.registry import NodeRegistry, UnknownNodeType
from nodes.sdk import Item, Node, NodeError, NodeOutput, StopRun, TriggerNode, Wait

DEFAULT_MAX_NODE_RUNS = 10_000
MAX_RETRY_WAIT_SECONDS = 30.0
# The node-state key in which a node (Respond to Webhook) leaves the webhook's answer.
RESPONSE_STATE_KEY = "response"


@dataclass
class Task:
    node: str
    inputs: list[list[Item]]


@dataclass
class Step:
    """One run of one node: what went in, what came out, how it ended."""

    node: str
    node_id: str
    run_index: int
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    inputs: list[list[Item]] = field(default_factory=list)
    outputs: list[list[Item]] | None = None
    error: dict[str, Any] | None = None
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "node_id": self.node_id,
            "run_index": self.run_index,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "inputs": _items_json(self.inputs),
            "outputs": _items_json(self.outputs) if self.outputs is not None else None,
            "error": self.error,
            "attempts": self.attempts,
        }


@dataclass
class RunResult:
    """How a run (or a resumed part of it) ended."""

    status: RunStatus
    steps: list[Step]
    error: dict[str, Any] | None = None
    wait: Wait | None = None
    waiting_node: str | None = None
    frontier: dict[str, Any] | None = None
    last_outputs: dict[str, list[list[Item]]] = field(default_factory=dict)
    node_state: dict[str, dict[str, Any]] = field(default_factory=dict)

    def last_items(self) -> list[Item]:
        """The last executed node's first non-empty output (what a webhook answers with)."""
        for step in reversed(self.steps):
            if step.status == "succeeded" and step.outputs is not None:
                for output in step.outputs:
                    if output:
                        return output
                return []
        return []


class Hooks(Protocol):
    """Called as the run goes, for live status; must be quick and must not raise."""

    def node_started(self, node: str, run_index: int) -> None: ...

    def node_finished(self, step: Step) -> None: ...

    def responded(self, node: str, response: dict[str, Any]) -> None:
        """A node chose the webhook's answer (``{"status", "headers", "body"}``); called once per run."""
        ...


class _Failed(Exception):
    def __init__(self, step: Step) -> None:
        super().__init__(step.error.get("message") if step.error else "failed")
        self.step = step


def _items_json(outputs: list[list[Item]]) -> list[list[dict[str, Any]]]:
    return [[item.to_dict() for item in items] for items in outputs]


def _items_from_json(outputs: list[list[Mapping[str, Any]]]) -> list[list[Item]]:
    return [[Item.from_dict(item) for item in items] for items in outputs]


def error_info(spec: NodeSpec, err: BaseException) -> dict[str, Any]:
    """The error as stored and shown: it names the node and, when known, the item."""
    if isinstance(err, NodeError):
        return {
            "node": spec.name,
            "message": err.message,
            "description": err.description,
            "item_index": err.item_index,
            "type": type(err).__name__,
        }
    return {
        "node": spec.name,
        "message": f"{type(err).__name__}: {err}",
        "description": "",
        "item_index": None,
        "type": type(err).__name__,
    }


def _call_with_timeout(call: Callable[[], Any], seconds: float, node: str) -> Any:
    """Run ``call`` on a helper thread and give up after ``seconds``.

    A Python thread cannot be killed: a node that ignores its deadline keeps
    running in the background after the run has moved on. Network nodes pass
    ``ctx.remaining_seconds()`` to their clients so they stop too; the Code
    node runs in a subprocess that is killed.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=target, name=f"node:{node}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise NodeError(f"timed out after {seconds:g} s", description="Raise the node's timeout or make it faster.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class Runner:
    """Executes one workflow run. Create one per run (it holds the run's state)."""

    def __init__(
        self,
        graph: WorkflowGraph,
        registry: NodeRegistry,
        host: Host,
        *,
        execution_id: str = "",
        execution_mode: str = "manual",
        workflow_id: str = "",
        hooks: Hooks | None = None,
        cancelled: Callable[[], bool] | None = None,
        max_node_runs: int = DEFAULT_MAX_NODE_RUNS,
    ) -> None:
        self.graph = graph
        self.registry = registry
        self.host = host
        self.execution_id = execution_id
        self.execution_mode = execution_mode
        self.workflow_id = workflow_id
        self.timezone = str(graph.settings.get("timezone") or "UTC")
        self._hooks = hooks
        self._cancelled = cancelled or (lambda: False)
        self._max_node_runs = max_node_runs
        self._instances: dict[type[Node], Node] = {}
        self.last_outputs: dict[str, list[list[Item]]] = {}
        self._stack: list[Task] = []
        self._waiting: dict[str, dict[int, list[Item]]] = {}
        self._state: dict[str, dict[str, Any]] = {}
        self._run_counts: dict[str, int] = {}
        self._pinned: dict[str, list[Item]] = {}
        self._steps: list[Step] = []
        self._responded = False
        self._stop_after: str | None = None

    @property
    def responded(self) -> bool:
        """Whether a node of this run has chosen the webhook's answer (see :meth:`Hooks.responded`)."""
        return self._responded

    def start(
        self,
        start_node: str,
        items: list[Item],
        *,
        pinned: Mapping[str, list[Item]] | None = None,
        prior_outputs: Mapping[str, list[list[Item]]] | None = None,
        stop_after: str | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> RunResult:
        """Run from ``start_node``.

        Args:
            start_node: A trigger (its items are ``items``), or any node to "run from here":
                its inputs then come from ``prior_outputs`` of its parents.
            items: The trigger's data.
            pinned: Node name → items used instead of running that node.
            prior_outputs: Outputs of an earlier run, reused for the nodes upstream of ``start_node``.
            stop_after: Run nothing downstream of this node ("run one node" in the editor: the
                start node itself, so its parameters can be tried without running the rest).
            state: Node name → the node's :attr:`Context.state` to start with (a polling
                trigger's cursor from its previous poll); the run's is in ``RunResult.node_state``.
        """
        if start_node not in self.graph.nodes:
            raise ValueError(f"there is no node named {start_node!r} in this workflow")
        if stop_after is not None and stop_after not in self.graph.nodes:
            raise ValueError(f"there is no node named {stop_after!r} in this workflow")
        self._stop_after = stop_after
        self._pinned = dict(pinned or {})
        self._state.update({name: dict(values) for name, values in (state or {}).items()})
        if prior_outputs:
            self.last_outputs.update({name: list(outputs) for name, outputs in prior_outputs.items()})
        spec = self.graph.nodes[start_node]
        cls = self._class(spec)
        if issubclass(cls, TriggerNode) or not self.graph.parents(start_node):
            inputs = [list(items)]
        else:
            inputs = [[] for _ in cls.inputs]
            for edge in self.graph.parents(start_node):
                produced = self.last_outputs.get(edge.source)
                if produced and edge.output < len(produced):
                    inputs[edge.input].extend(produced[edge.output])
        self._stack.append(Task(start_node, inputs))
        return self._loop()

    def resume(self, frontier: Mapping[str, Any], outputs: NodeOutput | None) -> RunResult:
        """Continue a paused run: the waiting node finishes with ``outputs`` (or its passthrough items)."""
        self._load_frontier(frontier)
        paused = frontier["paused"]
        name = paused["node"]
        spec = self.graph.nodes[name]
        now = datetime.now(UTC)
        if outputs is None:
            passthrough = [Item.from_dict(item) for item in paused.get("passthrough", [])]
            outputs = [passthrough]
        step = Step(
            node=name,
            node_id=spec.id,
            run_index=int(paused["run_index"]),
            status="succeeded",
            started_at=now,
            finished_at=now,
            inputs=_items_from_json(paused["inputs"]),
            outputs=[list(output) for output in outputs],
        )
        self._finish_node(spec, step)
        return self._loop()

    def _class(self, spec: NodeSpec) -> type[Node]:
        try:
            return self.registry.get(spec.type, spec.type_version)
        except UnknownNodeType as err:
            raise NodeError(str(err), description="Install the node's package or remove the node.") from err

    def _instance(self, cls: type[Node]) -> Node:
        instance = self._instances.get(cls)
        if instance is None:
            instance = self._instances[cls] = cls()
        return instance

    def _loop(self) -> RunResult:
        runs = 0
        while True:
            if self._cancelled():
                return RunResult(
                    RunStatus.CANCELLED, self._steps, last_outputs=self.last_outputs, node_state=self._state
                )
            if self._stack:
                task = self._stack.pop()
            elif self._waiting:
                name = next(iter(self._waiting))
                task = Task(name, self._dense_inputs(name, self._waiting.pop(name)))
            else:
                return RunResult(
                    RunStatus.SUCCEEDED, self._steps, last_outputs=self.last_outputs, node_state=self._state
                )
            runs += 1
            if runs > self._max_node_runs:
                spec = self.graph.nodes[task.node]
                message = f"the run executed more than {self._max_node_runs} nodes; is a loop not ending?"
                error = {"node": spec.name, "message": message, "description": "", "item_index": None, "type": "Loop"}
                return RunResult(
                    RunStatus.FAILED, self._steps, error=error, last_outputs=self.last_outputs, node_state=self._state
                )
            try:
                waited = self._run_task(task)
            except _Failed as failure:
                return RunResult(
                    RunStatus.FAILED, self._steps, error=failure.step.error, last_outputs=self.last_outputs
                )
            if waited is not None:
                return waited

    def _dense_inputs(self, name: str, received: Mapping[int, list[Item]]) -> list[list[Item]]:
        count = max(len(self._class(self.graph.nodes[name]).inputs), 1)
        return [list(received.get(index, [])) for index in range(count)]

    def _run_task(self, task: Task) -> RunResult | None:
        spec = self.graph.nodes[task.node]
        run_index = self._run_counts.get(spec.name, 0)
        self._run_counts[spec.name] = run_index + 1
        step = Step(spec.name, spec.id, run_index, "running", datetime.now(UTC), inputs=task.inputs)
        if self._hooks is not None:
            self._hooks.node_started(spec.name, run_index)
        if spec.name in self._pinned:
            step.outputs = [list(self._pinned[spec.name])]
            step.status = "succeeded"
            step.finished_at = datetime.now(UTC)
            self._finish_node(spec, step)
            return None
        if spec.disabled:
            step.outputs = [list(task.inputs[0]) if task.inputs else []]
            step.status = "succeeded"
            step.finished_at = datetime.now(UTC)
            self._finish_node(spec, step)
            return None
        try:
            cls = self._class(spec)
        except NodeError as err:
            self._fail(spec, step, err)
        produced = self._execute(spec, cls, task.inputs, run_index, step)
        if isinstance(produced, Wait):
            step.status = "waiting"
            self._steps.append(step)
            if self._hooks is not None:
                self._hooks.node_finished(step)
            return RunResult(
                RunStatus.WAITING,
                self._steps,
                wait=produced,
                waiting_node=spec.name,
                frontier=self._frontier(spec.name, task.inputs, run_index, produced),
                last_outputs=self.last_outputs,
                node_state=self._state,
            )
        step.outputs = produced
        step.status = "succeeded"
        step.finished_at = datetime.now(UTC)
        self._finish_node(spec, step)
        if not self._responded:
            self._answer(spec.name)
        return None

    def _answer(self, node: str) -> None:
        """Hand the first response a node chose to the hooks (a webhook caller may be waiting for it)."""
        response = self._state.get(node, {}).get(RESPONSE_STATE_KEY)
        if response is None:
            return
        self._responded = True
        if self._hooks is not None:
            self._hooks.responded(node, response)

    def _execute(
        self, spec: NodeSpec, cls: type[Node], inputs: list[list[Item]], run_index: int, step: Step
    ) -> NodeOutput | Wait:
        node = self._instance(cls)
        items = inputs[0] if inputs else []
        if spec.execute_once:
            items = items[:1]
            inputs = [items, *inputs[1:]]
        outputs = output_names(spec, cls)
        state = self._state.setdefault(spec.name, {})
        attempts = spec.max_tries if spec.retry_on_fail else 1
        for attempt in range(1, attempts + 1):
            step.attempts = attempt
            deadline = time.monotonic() + spec.timeout if spec.timeout else None
            ctx = NodeContext(self, spec, cls, inputs, run_index, state, deadline)
            try:
                if spec.timeout:
                    raw = _call_with_timeout(lambda c=ctx: node.execute(c, items), spec.timeout, spec.name)
                else:
                    raw = node.execute(ctx, items)
                if isinstance(raw, Wait):
                    return raw
                return self._normalise(spec, raw, outputs)
            except StopRun as err:
                self._fail(spec, step, err)
            except Exception as err:
                if attempt < attempts:
                    delay = min(spec.wait_between_tries / 1000 * 2 ** (attempt - 1), MAX_RETRY_WAIT_SECONDS)
                    time.sleep(delay)
                    continue
                if spec.on_error is OnError.STOP:
                    self._fail(spec, step, err)
                step.error = error_info(spec, err)
                error_items = [Item({"error": step.error["message"], "error_details": step.error})]
                produced: NodeOutput = [[] for _ in outputs]
                produced[-1 if spec.on_error is OnError.ERROR_OUTPUT else 0] = error_items
                return produced
        raise AssertionError("unreachable: the retry loop always returns or raises")

    def _normalise(self, spec: NodeSpec, raw: Any, outputs: tuple[str, ...]) -> NodeOutput:
        """Accept ``[items]`` per output, or a plain item list for one output; check the shape."""
        declared = len(outputs) - (1 if spec.on_error is OnError.ERROR_OUTPUT else 0)
        if not isinstance(raw, list):
            raise NodeError(f"the node returned {type(raw).__name__}, not a list of outputs")
        if not raw or all(isinstance(entry, list) for entry in raw):
            produced = [list(entry) for entry in raw]
        elif declared <= 1:
            produced = [list(raw)]
        else:
            raise NodeError("the node returned a flat list of items but has several outputs")
        if len(produced) > declared:
            raise NodeError(f"the node returned {len(produced)} outputs but has {declared}")
        produced.extend([] for _ in range(len(outputs) - len(produced)))
        for output in produced:
            for index, item in enumerate(output):
                if not isinstance(item, Item):
                    if isinstance(item, Mapping):
                        output[index] = Item.from_dict(item)
                    else:
                        raise NodeError(f"the node returned {type(item).__name__} instead of an item")
        if spec.always_output_data and not any(produced):
            produced[0] = [Item({})]
        return produced

    def _fail(self, spec: NodeSpec, step: Step, err: BaseException) -> None:
        step.status = "failed"
        step.error = error_info(spec, err)
        step.finished_at = datetime.now(UTC)
        self._steps.append(step)
        if self._hooks is not None:
            self._hooks.node_finished(step)
        raise _Failed(step) from err

    def _finish_node(self, spec: NodeSpec, step: Step) -> None:
        outputs = step.outputs or []
        self.last_outputs[spec.name] = outputs
        self._steps.append(step)
        if self._hooks is not None:
            self._hooks.node_finished(step)
        if spec.name == self._stop_after:
            return
        for output_index in range(len(outputs) - 1, -1, -1):
            produced = outputs[output_index]
            if not produced:
                continue
            for edge in reversed(self.graph.children(spec.name, output_index)):
                connected = self.graph.connected_inputs(edge.target)
                if len(connected) <= 1:
                    inputs: list[list[Item]] = [[] for _ in range(edge.input + 1)]
                    inputs[edge.input] = list(produced)
                    self._stack.append(Task(edge.target, inputs))
                    continue
                received = self._waiting.setdefault(edge.target, {})
                received.setdefault(edge.input, []).extend(produced)
                if connected <= received.keys():
                    self._stack.append(
                        Task(edge.target, self._dense_inputs(edge.target, self._waiting.pop(edge.target)))
                    )

    def _frontier(self, node: str, inputs: list[list[Item]], run_index: int, wait: Wait) -> dict[str, Any]:
        return {
            "paused": {
                "node": node,
                "inputs": _items_json(inputs),
                "run_index": run_index,
                "passthrough": [item.to_dict() for item in wait.passthrough],
                "kind": wait.kind,
                "resume_at": wait.resume_at.isoformat() if wait.resume_at else None,
            },
            "stack": [{"node": task.node, "inputs": _items_json(task.inputs)} for task in self._stack],
            "waiting": {
                name: {str(index): [item.to_dict() for item in items] for index, items in received.items()}
                for name, received in self._waiting.items()
            },
            "state": self._state,
            "run_counts": self._run_counts,
            "outputs": {name: _items_json(outputs) for name, outputs in self.last_outputs.items()},
            "pinned": {name: [item.to_dict() for item in items] for name, items in self._pinned.items()},
            "stop_after": self._stop_after,
        }

    def _load_frontier(self, frontier: Mapping[str, Any]) -> None:
        self._stack = [Task(task["node"], _items_from_json(task["inputs"])) for task in frontier.get("stack", [])]
        self._waiting = {
            name: {int(index): [Item.from_dict(item) for item in items] for index, items in received.items()}
            for name, received in frontier.get("waiting", {}).items()
        }
        self._state = {name: dict(state) for name, state in frontier.get("state", {}).items()}
        # A response chosen before the pause was already handed over; a run answers once.
        self._responded = any(RESPONSE_STATE_KEY in state for state in self._state.values())
        self._run_counts = {name: int(count) for name, count in frontier.get("run_counts", {}).items()}
        self.last_outputs = {name: _items_from_json(outputs) for name, outputs in frontier.get("outputs", {}).items()}
        self._pinned = {
            name: [Item.from_dict(item) for item in items] for name, items in frontier.get("pinned", {}).items()
        }
        self._stop_after = frontier.get("stop_after")
