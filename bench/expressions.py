"""Micro-benchmark: microseconds per expression evaluation (cache warm, as when a node runs over many items).

Run from the repository root: ``.venv/bin/python -m bench.expressions``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hitl_studio.engine.expressions import ExpressionContext, evaluate, resolve

EVALUATIONS = 100_000


def microseconds_per_call(function: Callable[..., object], *args: object) -> float:
    function(*args)  # fills the compile cache
    started = time.perf_counter()
    for _ in range(EVALUATIONS):
        function(*args)
    return (time.perf_counter() - started) / EVALUATIONS * 1e6


def main() -> None:
    context = ExpressionContext(json={"amount": 21, "customer": {"name": "Ann"}})
    cases = [
        ("evaluate {{ $json.amount * 2 }}", evaluate, "{{ $json.amount * 2 }}"),
        ("evaluate text with two parts", evaluate, "Dear {{ $json.customer.name }}, you owe {{ $json.amount * 2 }}."),
        ("evaluate text without expressions", evaluate, "plain text"),
        ("resolve a 3-key parameter dict", resolve, {"a": "{{ $json.amount }}", "b": "x", "c": [1, "{{ 2 }}"]}),
    ]
    print(f"{EVALUATIONS:,} evaluations each, microseconds per evaluation:")
    for label, function, argument in cases:
        print(f"{microseconds_per_call(function, argument, context):8.2f}  {label}")


if __name__ == "__main__":
    main()
