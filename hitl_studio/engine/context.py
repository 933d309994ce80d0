"""The :class:`nodes.sdk.Context` a node receives: parameters, inputs, credentials, files.

Parameters are evaluated lazily and per item: a node asks ``ctx.params(i)``
and gets its pydantic model with every ``{{ }}`` evaluated against item ``i``.
Parameters without expressions are validated once per node run and reused,
which is what keeps per-node overhead small on long chains.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hitl_studio.engine import expressions
from hitl_studio.engine.graph import NodeSpec
from nodes.sdk import Item, Node, NodeError, literal_fields

if TYPE_CHECKING:
    from hitl_studio.engine.runner import Runner


class NodeOutputs(Mapping[str, list[dict[str, Any]]]):
    """``$node["Name"]`` for expressions: each node's last main output as JSON, converted on first use."""

    def __init__(self, outputs: Mapping[str, list[list[Item]]]) -> None:
        self._outputs = outputs
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def __getitem__(self, name: str) -> list[dict[str, Any]]:
        if name not in self._cache:
            produced = self._outputs[name]
            self._cache[name] = [item.json for item in produced[0]] if produced else []
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)


class NodeContext:
    """One node run's view of the execution."""

    def __init__(
        self,
        runner: Runner,
        spec: NodeSpec,
        cls: type[Node],
        inputs: list[list[Item]],
        run_index: int,
        state: dict[str, Any],
        deadline: float | None,
    ) -> None:
        self._runner = runner
        self._spec = spec
        self._cls = cls
        self._inputs = inputs
        self._run_index = run_index
        self._state = state
        self._deadline = deadline
        self._static_params: Any = None
        self._literal = literal_fields(cls.Parameters)
        self._has_expressions = any(
            expressions.contains_expression(value) for key, value in spec.parameters.items() if key not in self._literal
        )
        self._input_json: list[dict[str, Any]] | None = None
        self._node_outputs: NodeOutputs | None = None
        # One $now per node run, so every item of the run sees the same moment.
        self._now = datetime.now(UTC)

    @property
    def node_name(self) -> str:
        return self._spec.name

    @property
    def execution_id(self) -> str:
        return self._runner.execution_id

    @property
    def inputs(self) -> list[list[Item]]:
        return self._inputs

    @property
    def run_index(self) -> int:
        return self._run_index

    @property
    def state(self) -> dict[str, Any]:
        return self._state

    @property
    def execution_mode(self) -> str:
        return self._runner.execution_mode

    @property
    def timezone(self) -> str:
        return self._runner.timezone

    def _expression_context(self, item_index: int) -> expressions.ExpressionContext:
        items = self._inputs[0] if self._inputs else []
        if self._input_json is None:
            self._input_json = [item.json for item in items]
        if self._node_outputs is None:
            self._node_outputs = NodeOutputs(self._runner.last_outputs)
        runner = self._runner
        return expressions.ExpressionContext(
            json=items[item_index].json if item_index < len(items) else {},
            item_index=item_index,
            input_items=self._input_json,
            node_outputs=self._node_outputs,
            execution_id=runner.execution_id,
            execution_mode=runner.execution_mode,
            workflow_id=runner.workflow_id,
            workflow_name=runner.graph.name,
            run_index=self._run_index,
            env=runner.host.env(),
            now=self._now,
            timezone=runner.timezone,
        )

    def evaluate(self, value: Any, item_index: int = 0) -> Any:
        if not expressions.contains_expression(value):
            return value
        try:
            return expressions.resolve(value, self._expression_context(item_index))
        except expressions.ExpressionError as err:
            raise NodeError(str(err), item_index=item_index) from err

    def raw_params(self) -> dict[str, Any]:
        return dict(self._spec.parameters)

    def params(self, item_index: int = 0) -> Any:
        if not self._has_expressions:
            if self._static_params is None:
                self._static_params = self._validate(self._spec.parameters, item_index)
            return self._static_params
        context = self._expression_context(item_index)
        resolved: dict[str, Any] = {}
        for key, value in self._spec.parameters.items():
            if key in self._literal:
                resolved[key] = value
                continue
            try:
                resolved[key] = expressions.resolve(value, context)
            except expressions.ExpressionError as err:
                raise NodeError(
                    f"parameter '{key}', item {item_index}: {err}",
                    description="Fix the expression in the node's settings.",
                    item_index=item_index,
                ) from err
        return self._validate(resolved, item_index)

    def _validate(self, values: Mapping[str, Any], item_index: int) -> Any:
        try:
            return self._cls.Parameters.model_validate(values)
        except ValidationError as err:
            first = err.errors()[0]
            location = ".".join(str(part) for part in first.get("loc", ())) or "parameters"
            raise NodeError(
                f"parameter '{location}', item {item_index}: {first.get('msg', 'is invalid')}",
                description="Check the value (or what its expression produced) in the node's settings.",
                item_index=item_index,
            ) from err

    def credential(self, type_id: str) -> dict[str, Any]:
        if not any(requirement.type == type_id for requirement in self._cls.credentials):
            raise NodeError(f"this node does not use {type_id} credentials")
        selection = self._spec.credentials.get(type_id) or {}
        return self._runner.host.credential(self._spec.name, selection, type_id)

    def store_binary(self, data: bytes, *, file_name: str, mime_type: str) -> dict[str, Any]:
        return self._runner.host.store_binary(data, file_name=file_name, mime_type=mime_type)

    def read_binary(self, reference: Mapping[str, Any]) -> bytes:
        return self._runner.host.read_binary(reference)

    def run_workflow(self, workflow_id: str, items: list[Item]) -> list[Item]:
        return self._runner.host.run_workflow(workflow_id, items, parent_execution_id=self._runner.execution_id)

    def remaining_seconds(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())
