"""Dotted field paths and value identity, shared by the data nodes.

``customer.name`` reaches into nested objects. Reading tells "missing" apart
from ``null`` (a few nodes treat them differently); writing and deleting copy
the objects along the path, so an input item's JSON (which upstream outputs
still hold) is never changed in place.
"""

from __future__ import annotations

from typing import Any, Final

from nodes.core.set import set_path

__all__ = ["MISSING", "delete_path", "get_path", "identity", "kind_of", "set_path"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()
"""What :func:`get_path` returns for a field that is not there (as opposed to ``None``, a JSON null)."""


def get_path(data: Any, dotted: str) -> Any:
    """The value at ``a.b.c`` in ``data``, or :data:`MISSING`."""
    value = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def delete_path(data: dict[str, Any], dotted: str, *, prune: bool = False) -> dict[str, Any]:
    """A copy of ``data`` without ``a.b.c`` (copied along the path only); unchanged if it is not there.

    Args:
        data: The object to remove the field from; it is not modified.
        dotted: The field's path.
        prune: Also remove the objects on the path that the removal leaves empty.
    """
    head, _, rest = dotted.partition(".")
    if head not in data:
        return data
    copy = dict(data)
    if not rest:
        del copy[head]
    elif isinstance(copy[head], dict):
        child = delete_path(copy[head], rest, prune=prune)
        if prune and not child and copy[head]:
            del copy[head]
        else:
            copy[head] = child
    return copy


def identity(value: Any, *, loose: bool = False) -> Any:
    """A hashable stand-in for a JSON value: equal values, equal identities.

    Types are kept apart as JSON sees them (``true`` is not ``1``, ``"1"`` is not
    ``1``) while ``1`` and ``1.0`` stay one number. With ``loose``, scalars are
    compared by their text, so ``"1"`` matches ``1`` (n8n's fuzzy compare).
    """
    if isinstance(value, dict):
        return ("object", tuple(sorted((key, identity(item, loose=loose)) for key, item in value.items())))
    if isinstance(value, list | tuple):
        return ("array", tuple(identity(item, loose=loose) for item in value))
    if value is None:
        return ("null",)
    if loose:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return ("text", str(value).lower() if isinstance(value, bool) else str(value))
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", value)
    return (type(value).__name__, value)


def kind_of(value: Any) -> str:
    """What a JSON value is, for error messages: "a number", "text", "null"..."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__
