"""Job functions that belong to the queue itself.

They exist to prove the plumbing end to end: the round-trip tests and the
``python -m hitl_studio queue-check`` diagnostic enqueue them by path.
"""

from __future__ import annotations

from typing import Any


def echo(value: Any) -> Any:
    """Return ``value`` unchanged, showing that a worker ran the job and stored its result."""
    return value


def fail(message: str) -> None:
    """Raise ``RuntimeError(message)``, showing that a failing job is reported as failed.

    Raises:
        RuntimeError: always.
    """
    raise RuntimeError(message)
